"""GET /heatmap-data: per-type points with the original intensity formula, privacy by audience."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.http.identity import Principal
from sentrix_report.data.heatmap import heatmap
from sentrix_report.logic.filters import DataFilters
from sentrix_report.logic.scope import (
    ACTIVE_NOTE,
    COUNTED_NOTE,
    MapAudience,
    apply_filters,
    counted,
    counted_detections,
    public_rollup_applies,
)
from sentrix_report.settings import get_report_settings

INTENSITY_NOTE = (
    "base ALTO 0.7, MEDIO 0.4, else 0.2; plus min(n*0.05, 0.3) for ALTO/MEDIO or min(n*0.03, 0.2) "
    "otherwise (n = detections of the point); capped at 1.0, 2 decimals"
)

# Every count of the answer says what it counts (docs/report.md, glossary).
HEATMAP_COUNTS = {
    "total_locations": "points (one per analysis and breeding-site type, or per public cell and type)",
    "total_detections": "counted detections drawn as points",
    "high_risk_detections": "counted detections of ALTO risk (the one definition of high risk)",
    "high_risk_count": "points whose highest risk is ALTO",
    "medium_risk_count": "points whose highest risk is MEDIO",
    "low_risk_count": "points whose highest risk is BAJO or MINIMO",
    "breeding_type_counts": "points per breeding-site type",
}


def heatmap_data(principal: Principal | None, filters: DataFilters, *, limit: int | None = None) -> dict[str, Any]:
    """Heatmap points for the caller: exact where they may see analyses, grid cells everywhere else."""
    settings = get_report_settings()
    audience = MapAudience(principal)
    limit = min(limit or settings.heatmap_default_limit, settings.heatmap_max_limit)
    # The public map covers every user's analyses; what differs by audience is the precision.
    where = apply_filters(counted("a"), filters)
    as_of = datetime.now(UTC)
    with session_scope() as session:
        result = heatmap(
            session,
            where=where,
            exact=audience.exact("a"),
            detections=counted_detections(filters, as_of),
            viewer=principal.user_id if principal else None,
            grid_deg=settings.public_grid_deg,
            limit=limit,
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
        "precision": audience.describe(),
        "public_grid_deg": settings.public_grid_deg,
        "counted": COUNTED_NOTE,
        "active_only": filters.active_only,
        "active": ACTIVE_NOTE if filters.active_only else "all detections, expired ones included",
        "intensity": INTENSITY_NOTE,
        "counts_are": HEATMAP_COUNTS,
        "coverage": filters.coverage(as_of),
        "limit": limit,
        "filters": filters.echo(),
        "as_of": as_of.isoformat(),
    }
