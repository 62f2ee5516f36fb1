"""Reading analyses: the filtered list, the full detail and the detections of one analysis."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.errors import Forbidden, NotFound
from sentrix.http.identity import Principal, TokenIdentity, check_against_database
from sentrix.repositories.analyses import parse_id
from sentrix_upload.dal import analyses as analyses_dal
from sentrix_upload.logic import views
from sentrix_upload.logic.filters import AnalysisFilters
from sentrix_upload.logic.preferences import preferences_from

# Detections per answer (docs/upload.md, *Large analyses*): each has at most 256 vertices twice (its polygon and
# its shape, sentrix.shapes), about 10 kB, so 50 keep the detail far below 1 MB and Lambda's 6 MB.
DETAIL_DETECTIONS = 50
MAX_DETECTIONS_PAGE = 100


def _analysis_with_caller(identity: TokenIdentity, raw_id: str, *, limit: int, offset: int = 0) -> SimpleNamespace:
    try:
        analysis_id = parse_id(raw_id)
    except NotFound:
        check_against_database(identity)  # who may not call at all hears that first, as on every route
        raise
    _principal, analysis = analyses_dal.detail_with_caller(identity, analysis_id, limit=limit, offset=offset)
    if analysis is None:
        raise NotFound(key="err.analysis_not_found")
    return analysis


def list_analyses(principal: Principal, filters: AnalysisFilters, *, limit: int, offset: int) -> dict[str, Any]:
    """A page of the analyses the caller may see, newest first, with the total over all pages."""
    if filters.user_id is not None and filters.user_id != principal.user_id and not principal.sees_everything:
        raise Forbidden(key="err.list_others_forbidden")
    with session_scope() as session:
        rows, total = analyses_dal.list_page(session, principal, filters, limit=limit, offset=offset)
    return {
        "analyses": [views.analysis_summary(row) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_next": offset + len(rows) < total,
    }


def analysis_detail(identity: TokenIdentity, raw_id: str) -> dict[str, Any]:
    """Everything about one analysis; another user's analysis is 404. The caller is checked in the same
    statement (one round trip for the whole read)."""
    analysis = _analysis_with_caller(identity, raw_id, limit=DETAIL_DETECTIONS)
    language = preferences_from({"language": analysis.caller_language}).language
    return views.analysis_detail(
        analysis, analysis.detections, analysis.verdict_counts, DETAIL_DETECTIONS, language, datetime.now(UTC)
    )


def analysis_detections(identity: TokenIdentity, raw_id: str, *, limit: int, offset: int) -> dict[str, Any]:
    """A page of one analysis' detections (highest confidence first) with their validation and validity."""
    analysis = _analysis_with_caller(identity, raw_id, limit=limit, offset=offset)
    detections = analysis.detections
    now = datetime.now(UTC)
    total = sum(analysis.verdict_counts.values())
    page = views.detections_page(analysis.id, total, limit, offset, len(detections))
    return {
        "analysis_id": analysis.id,
        "total": total,
        "validation": views.validation_summary_of(analysis.verdict_counts),
        "items": [views.detection_view(d, now) for d in detections],
        **{k: page[k] for k in ("limit", "offset", "has_next", "next_offset", "next")},
    }
