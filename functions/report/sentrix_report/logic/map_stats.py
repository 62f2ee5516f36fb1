"""GET /map-stats: system-wide figures for the public map, plus the caller's own when logged in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.http.identity import Principal
from sentrix.i18n import Locale, class_word
from sentrix_report.dal.map_stats import ZONE_DEG, map_stats, map_stats_rollup
from sentrix_report.logic.filters import DataFilters, Where
from sentrix_report.logic.notes import MAP_STATS_COUNTS, counts_are, what_counts
from sentrix_report.logic.ratios import jsonable, percent, ratio
from sentrix_report.logic.scope import (
    Scope,
    apply_filters,
    counted,
    counted_detections,
    found_detections,
    map_stats_rollup_applies,
    public_view,
)
from sentrix_report.logic.site_units import Unit, own_view, sites_block, unit_for
from sentrix_report.settings import get_report_settings


def _labelled(row: dict[str, Any], locale: Locale) -> dict[str, Any]:
    """Words for a person beside the values, in the caller's language: the trend's day names, type labels."""
    for day in row["weekly_trend"] or []:
        day["day"] = locale.day_name(date.fromisoformat(str(day["date"])[:10]))
    for kind in row["detection_types"] or []:
        kind["label"] = class_word(kind["name"], locale.language)
    return row


def _withheld(shaped: dict[str, Any]) -> dict[str, Any]:
    """The figures of an area with too few reporters: every number null, every list empty, the keys kept."""
    blank: dict[str, Any] = {}
    for key, value in shaped.items():
        if isinstance(value, dict):
            blank[key] = {k: None for k in value}
        elif isinstance(value, list):
            blank[key] = []
        elif key == "zone_size_deg":
            blank[key] = value
        else:
            blank[key] = None
    return blank


def _held_back_cells_left_out(where: Where, filters: DataFilters, grid_deg: float, minimum: int) -> Where:
    """`where` less the analyses of public cells whose (filtered) analyses come from fewer than `minimum` people,
    as the heatmap holds such cells back: else an area holding k people and a lone citizen's cell, less the same
    area without her cell, would give her cell's figures. Analyses without a location are in no cell."""
    cells = apply_filters(counted("k"), filters, alias="k")
    return where.add(
        "a.location IS NULL OR (floor(ST_X(a.location) / :k_grid), floor(ST_Y(a.location) / :k_grid)) IN ("  # noqa: S608
        "SELECT floor(ST_X(k.location) / :k_grid), floor(ST_Y(k.location) / :k_grid) FROM analyses AS k "
        f"WHERE {cells.sql()} AND k.location IS NOT NULL GROUP BY 1, 2 HAVING count(DISTINCT k.user_id) >= :k_min)",
        k_grid=grid_deg,
        k_min=minimum,
        **cells.params,
    )


def _moment(value: datetime | None, day_only: bool) -> str | None:
    """A data time as the audience may see it: the UTC day for aggregate-only audiences, else the instant."""
    if value is None:
        return None
    return value.astimezone(UTC).date().isoformat() if day_only else value.isoformat()


def _shape(row: dict[str, Any], locale: Locale, *, day_only: bool = False) -> dict[str, Any]:
    row = _labelled(jsonable(row), locale)
    total = row["total_analyses"]
    levels = {"alto": row["alto"], "medio": row["medio"], "bajo": row["bajo"], "minimo": row["minimo"]}
    return {
        "total_analyses": total,
        "total_detections": row["total_detections"],
        "locations_with_gps": row["locations_with_gps"],
        "gps_share": ratio(row["locations_with_gps"], total, of="analyses with a location", per="analyses"),
        "active_detections": row["active_detections"],
        "high_risk_detections": row["high_risk_detections"],
        "active_zones": row["active_zones"],
        "zone_size_deg": ZONE_DEG,
        "risk_distribution": levels | {"sin_nivel": row["sin_nivel"]},
        "risk_distribution_pct": {k: percent(v, total) for k, v in levels.items()},
        "risk_distribution_per": locale.t("note.risk_distribution_per"),
        "detection_types": row["detection_types"],
        "weekly_trend": row["weekly_trend"],
        "total_mask_area_px": row["total_mask_area_px"],
        "expert_confirmation_rate": ratio(
            row["validated_positive"],
            row["validated_positive"] + row["validated_negative"],
            of="detections validated positive",
            per="detections an expert has decided on (positive + negative)",
        ),
        "awaiting_validation": row["awaiting_validation"],
        "last_updated": _moment(row["last_updated"], day_only),
        "first_analysis": _moment(row["first_analysis"], day_only),
    }


def map_statistics(
    principal: Principal | None, filters: DataFilters, locale: Locale | None = None, unit: Unit | None = None
) -> dict[str, Any]:
    """Whole-system map figures (aggregates only, safe for anyone); `own` adds the caller's. With `unit=sites`,
    `sites` counts the breeding sites of the counted detections (per public cell for aggregate-only audiences,
    withheld with the rest under k-anonymity)."""
    locale = locale or Locale()
    unit = unit_for(principal, unit)
    settings = get_report_settings()
    view = public_view(principal, filters, datetime.now(UTC), settings.public_grid_deg)
    filters, as_of = view.filters, view.as_of
    detections = counted_detections(filters, as_of)
    found = found_detections(filters, as_of)
    with session_scope() as session:
        where = apply_filters(counted("a"), filters)
        if view.snapped and settings.public_min_reporters > 1:
            where = _held_back_cells_left_out(where, filters, settings.public_grid_deg, settings.public_min_reporters)
        tz = locale.timezone
        # Everyone's figures follow one public day grid (UTC) for anyone who sees them only aggregated: a
        # caller's own zone would shift the day edges and, with the date filters, split a day.
        public_tz = "UTC" if view.snapped else tz
        if map_stats_rollup_applies(view):
            figures = map_stats_rollup(session, as_of=as_of, active_only=filters.active_only)
        else:
            figures = map_stats(
                session, where=where, detections=detections, found=found, as_of=as_of, timezone=public_tz
            )
        # k-anonymity: an area whose analyses come from fewer than k people tells an aggregate-only audience
        # nothing (its figures would be one or two people's reports). An empty area is one of them: were it
        # answered with zeros, a withheld answer would tell that somebody reported there.
        minimum = settings.public_min_reporters
        withheld = view.snapped and figures["reporters"] < minimum
        result = (
            _withheld(_shape(figures, locale, day_only=True))
            if withheld
            else _shape(figures, locale, day_only=view.snapped)
        )
        result["k_anonymity"] = {"min_reporters": minimum, "withheld": withheld}
        if unit is Unit.SITES:
            per_cell = settings.public_grid_deg if view.snapped else None
            block = sites_block(session, where=where, detections=detections, locale=locale, per_cell_deg=per_cell)
            result["sites"] = _withheld(block) | {"counted_as": block["counted_as"]} if withheld else block
        if principal is not None:
            mine = apply_filters(Scope(principal, principal.user_id).analyses("a"), filters)
            own = map_stats(session, where=mine, detections=detections, found=found, as_of=as_of, timezone=tz)
            result["own"] = _shape(own, locale)
            if unit is Unit.SITES:
                result["own"]["sites"] = sites_block(
                    session, where=mine, detections=detections, locale=locale, own_view=own_view(principal)
                )
    return result | {
        "scope": locale.t("note.scope_aggregated"),
        **what_counts(filters, locale),
        "counts_are": counts_are(MAP_STATS_COUNTS, locale),
        "active_zones_are": locale.t("note.active_zones_are", zone=ZONE_DEG),
        "weekly_trend_is": locale.t("note.weekly_trend_is"),
        "weekly_trend_timezone": public_tz,
        "coverage": filters.coverage(as_of),
        "public_precision": view.describe(settings.public_grid_deg),
        "filters": filters.echo(),
        "as_of": as_of.isoformat(),
        "unit": unit.value,
    }
