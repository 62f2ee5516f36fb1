"""GET /heatmap-data: per-type points with the original intensity formula, privacy by audience."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix_report.dal.heatmap import heatmap
from sentrix_report.dal.site_maps import site_heatmap
from sentrix_report.logic.filters import DataFilters, Where
from sentrix_report.logic.notes import HEATMAP_COUNTS, counts_are, what_counts
from sentrix_report.logic.scope import (
    MapAudience,
    PublicView,
    apply_filters,
    counted,
    counted_detections,
    public_active_rollup_applies,
    public_rollup_applies,
    public_view,
)
from sentrix_report.logic.site_units import Unit, unit_for, whole_sites
from sentrix_report.settings import get_report_settings


def heatmap_data(
    principal: Principal | None,
    filters: DataFilters,
    *,
    limit: int | None = None,
    locale: Locale | None = None,
    unit: Unit | None = None,
) -> dict[str, Any]:
    """Heatmap points for the caller: exact where they may see analyses, grid cells everywhere else; with
    `unit=sites`, the breeding sites of the counted detections by the same rule (docs/sites.md)."""
    locale = locale or Locale()
    unit = unit_for(principal, unit)
    settings = get_report_settings()
    audience = MapAudience(principal)
    limit = min(limit or settings.heatmap_default_limit, settings.heatmap_max_limit)
    # The public map covers every user's analyses; what differs by audience is the precision.
    view = public_view(principal, filters, datetime.now(UTC), settings.public_grid_deg)
    filters, as_of = view.filters, view.as_of
    where = apply_filters(counted("a"), filters)
    if unit is Unit.SITES:
        return _site_points(principal, view, where, limit, locale)
    active_rollup = public_active_rollup_applies(principal, view, settings.public_grid_deg)
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
            rollup=active_rollup or public_rollup_applies(principal, filters, settings.public_grid_deg),
            active_day=as_of.astimezone(UTC).date() if active_rollup else None,
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
        "k_anonymity": _k_anonymity(view, settings.public_min_reporters, result["suppressed_cells"]),
        "limit": limit,
        "filters": filters.echo(),
        "as_of": as_of.isoformat(),
        "unit": unit.value,
    }


def _k_anonymity(view: PublicView, minimum: int, suppressed: int) -> dict[str, Any]:
    """The rule, and for experts how many cells it held back. Aggregate-only audiences are not told the number:
    a cell held back must look like an empty one, or the count would tell that somebody reported in the area
    (the adversary of tests/security/test_site_map_inversion.py narrows the bbox to one cell)."""
    return {"min_reporters": minimum, "suppressed_cells": None if view.snapped else suppressed}


SITE_COUNTS = {
    "total_locations": "counts.points",
    "total_sites": "counts.drawn_sites",
    "high_risk_sites": "counts.high_risk_sites",
    "high_risk_count": "counts.points_high",
    "medium_risk_count": "counts.points_medium",
    "low_risk_count": "counts.points_low",
    "family_counts": "counts.points_per_family",
    "breeding_type_counts": "counts.points_per_family",
}


def _site_points(
    principal: Principal | None, view: PublicView, where: Where, limit: int, locale: Locale
) -> dict[str, Any]:
    """`unit=sites`: sites drawn as places where the caller may see them, public cells of sites elsewhere."""
    settings = get_report_settings()
    filters, as_of = view.filters, view.as_of
    with session_scope() as session:
        result = site_heatmap(
            session,
            where=where,
            whole=whole_sites(principal),
            detections=counted_detections(filters, as_of),
            viewer=principal.user_id if principal else None,
            grid_deg=settings.public_grid_deg,
            limit=limit,
            min_reporters=settings.public_min_reporters,
            as_of=as_of,
        )
    return {
        "data": result["points"],
        "total_locations": result["total_locations"],
        "total_sites": result["total_sites"],
        "high_risk_sites": result["high_risk_sites"],
        "high_risk_count": result["high_risk_count"],
        "medium_risk_count": result["medium_risk_count"],
        "low_risk_count": result["low_risk_count"],
        "family_counts": result["family_counts"],
        # The original web client reads this field whatever the unit (an official's default is sites): with
        # sites it counts the drawn points per family, the same as `family_counts` (docs/sites.md).
        "breeding_type_counts": result["family_counts"],
        "audience": MapAudience(principal).kind,
        "precision": locale.t("note.site_points", grid=settings.public_grid_deg, k=settings.public_min_reporters),
        "public_grid_deg": settings.public_grid_deg,
        **what_counts(filters, locale),
        "active_only": filters.active_only,
        "intensity": locale.t("note.intensity"),
        "counts_are": counts_are(SITE_COUNTS, locale),
        "coverage": filters.coverage(as_of),
        "public_precision": view.describe(settings.public_grid_deg),
        "k_anonymity": _k_anonymity(view, settings.public_min_reporters, result["suppressed_cells"]),
        "limit": limit,
        "filters": filters.echo(),
        "as_of": as_of.isoformat(),
        "unit": Unit.SITES.value,
    }
