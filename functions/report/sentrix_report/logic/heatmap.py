"""GET /heatmap-data: per-type points with the original intensity formula, privacy by audience."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix_report.data.heatmap import heatmap
from sentrix_report.logic.filters import DataFilters
from sentrix_report.logic.notes import HEATMAP_COUNTS, counts_are, what_counts
from sentrix_report.logic.scope import (
    MapAudience,
    apply_filters,
    counted,
    counted_detections,
    public_rollup_applies,
    public_view,
)
from sentrix_report.settings import get_report_settings


def heatmap_data(
    principal: Principal | None, filters: DataFilters, *, limit: int | None = None, locale: Locale | None = None
) -> dict[str, Any]:
    """Heatmap points for the caller: exact where they may see analyses, grid cells everywhere else."""
    locale = locale or Locale()
    settings = get_report_settings()
    audience = MapAudience(principal)
    limit = min(limit or settings.heatmap_default_limit, settings.heatmap_max_limit)
    # The public map covers every user's analyses; what differs by audience is the precision.
    view = public_view(principal, filters, datetime.now(UTC), settings.public_grid_deg)
    filters, as_of = view.filters, view.as_of
    where = apply_filters(counted("a"), filters)
    with session_scope() as session:
        result = heatmap(
            session,
            where=where,
            exact=audience.exact("a"),
            detections=counted_detections(filters, as_of),
            viewer=principal.user_id if principal else None,
            grid_deg=settings.public_grid_deg,
            limit=limit,
            min_reporters=settings.public_min_reporters,
            rollup=public_rollup_applies(principal, filters, settings.public_grid_deg),
        )
    return {
        "data": result["points"],
        "total_locations": result["total_locations"],
        "total_detections": result["total_detections"],
        "high_risk_detections": result["high_risk_detections"],
        "high_risk_count": result["high_risk_count"],
        "medium_risk_count": result["medium_risk_count"],
        "low_risk_count": result["low_risk_count"],
        "breeding_type_counts": result["breeding_type_counts"],
        "audience": audience.kind,
        "precision": locale.t(f"note.audience.{audience.kind}"),
        "public_grid_deg": settings.public_grid_deg,
        **what_counts(filters, locale),
        "active_only": filters.active_only,
        "intensity": locale.t("note.intensity"),
        "counts_are": counts_are(HEATMAP_COUNTS, locale),
        "coverage": filters.coverage(as_of),
        "public_precision": view.describe(settings.public_grid_deg),
        "k_anonymity": {"min_reporters": settings.public_min_reporters, "suppressed_cells": result["suppressed_cells"]},
        "limit": limit,
        "filters": filters.echo(),
        "as_of": as_of.isoformat(),
    }
