"""Reading analyses: the filtered list, the full detail and the detections of one analysis."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sentrix.db.engine import read_scope, session_scope
from sentrix.errors import Forbidden, NotFound
from sentrix.http.identity import Principal, TokenIdentity, check_against_database
from sentrix.repositories.analyses import parse_id
from sentrix_upload import views
from sentrix_upload.dal import analyses as analyses_dal
from sentrix_upload.logic.filters import AnalysisFilters
from sentrix_upload.logic.preferences import preferences_from


def _analysis_with_caller(identity: TokenIdentity, raw_id: str) -> SimpleNamespace:
    try:
        analysis_id = parse_id(raw_id)
    except NotFound:
        check_against_database(identity)  # who may not call at all hears that first, as on every route
        raise
    with read_scope() as connection:  # one statement: no transaction needed
        _principal, analysis = analyses_dal.detail_with_caller(connection, identity, analysis_id)
    if analysis is None:
        raise NotFound("Analysis not found")
    return analysis


def list_analyses(principal: Principal, filters: AnalysisFilters, *, limit: int, offset: int) -> dict[str, Any]:
    """A page of the analyses the caller may see, newest first, with the total over all pages."""
    if filters.user_id is not None and filters.user_id != principal.user_id and not principal.sees_everything:
        raise Forbidden("Only experts and admins can list another user's analyses")
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
    analysis = _analysis_with_caller(identity, raw_id)
    language = preferences_from({"language": analysis.caller_language}).language
    return views.analysis_detail(analysis, analysis.detections, language, datetime.now(UTC))


def analysis_detections(identity: TokenIdentity, raw_id: str) -> dict[str, Any]:
    """The detections of one analysis with their validation and validity."""
    analysis = _analysis_with_caller(identity, raw_id)
    analysis_id = analysis.id
    detections = analysis.detections
    now = datetime.now(UTC)
    return {
        "analysis_id": analysis_id,
        "total": len(detections),
        "validation": views.validation_summary(d.validation_status for d in detections),
        "items": [views.detection_view(d, now) for d in detections],
    }
