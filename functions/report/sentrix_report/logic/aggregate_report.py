"""POST /reports/generate: summary, detailed, statistics and map reports over one stated dataset.

Every report carries its provenance: the filters, the scope, the data time span, the row counts and the
SHA-256 fingerprint of the canonical dataset (docs/report.md), so two readers can tell whether they
looked at the same data.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.http.identity import Principal
from sentrix.i18n import Locale, source_word
from sentrix_report.dal.reports import Dataset
from sentrix_report.logic import remediation
from sentrix_report.logic.filters import DataFilters
from sentrix_report.logic.notes import what_counts
from sentrix_report.logic.quotas import Costly, hold_place
from sentrix_report.logic.ratios import percent, ratio
from sentrix_report.logic.scope import Scope, apply_filters, counted_detections
from sentrix_report.logic.site_units import Unit, own_view, sites_block, unit_for
from sentrix_report.schemas.reports import ReportRequest, ReportType
from sentrix_report.settings import get_report_settings

FINGERPRINT_VERSION = 2
MAP_MAX_POINTS = 5000
MAP_CELLS_ACROSS = 40
NICE_CELLS_DEG = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass
class Report:
    meta: dict[str, Any]
    data: dict[str, Any]
    map_png: bytes | None = field(default=None, repr=False)
    locale: Locale = field(default_factory=Locale)


def cell_size(width_deg: float, height_deg: float) -> float:
    """The smallest 'nice' cell giving at most MAP_CELLS_ACROSS cells along the longer side."""
    wanted = max(width_deg, height_deg) / MAP_CELLS_ACROSS
    return next((c for c in NICE_CELLS_DEG if c >= wanted), NICE_CELLS_DEG[-1])


def reporter_pseudonym(user_id: uuid.UUID | str | None) -> str | None:
    """A stable pseudonym of a reporter for reports: 8 hex digits of HMAC-SHA256 over the user id, keyed by the
    deployment's key (never the id or the e-mail)."""
    if user_id is None:
        return None
    return hmac.new(_pseudonym_key(), str(user_id).encode(), hashlib.sha256).hexdigest()[:8]


def _pseudonym_key() -> bytes:
    configured = get_report_settings().pseudonym_salt
    if configured is not None:
        return configured.get_secret_value().encode()
    from sentrix.db.engine import session_scope
    from sentrix_report.dal.keys import deployment_key

    with session_scope() as session:
        return deployment_key(session, "report_pseudonym").encode()


def review_state(total: int, confirmed: int, rejected: int) -> str:
    """no_detections, pending (no verdict yet), partial (some decided) or reviewed (every detection decided)."""
    decided = confirmed + rejected
    if total == 0:
        return "no_detections"
    if decided == 0:
        return "pending"
    return "reviewed" if decided >= total else "partial"


def _detailed_row(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    user_id = row.pop("user_id", None)
    counted = row["confirmed_detections"] + row["rejected_detections"] + row["pending_detections"]
    return row | {
        "reporter": reporter_pseudonym(user_id),
        "review_state": review_state(counted, row["confirmed_detections"], row["rejected_detections"]),
        "active": row["active_detections"] > 0,
    }


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    analyses, detections = row["analyses"], row["detections"]
    return {
        "analyses": analyses,
        "located_analyses": row["located_analyses"],
        "detections": detections,
        "high_risk_detections": row["high_risk_detections"],
        "medium_risk_detections": row["medium_risk_detections"],
        "low_risk_detections": row["low_risk_detections"],
        "active_detections": row["active_detections"],
        "rejected_detections": row["rejected_detections"],
        "detections_per_analysis": ratio(detections, analyses, of="detections", per="analyses"),
        "active_share": ratio(row["active_detections"], detections, of="active detections", per="detections"),
        "located_share": ratio(row["located_analyses"], analyses, of="located analyses", per="analyses"),
        "analyses_by_risk": [
            {**r, "percent_of_analyses": percent(r["analyses"], analyses)} for r in row["analyses_by_risk"]
        ],
        "detections_by_type": [
            {**r, "percent_of_detections": percent(r["detections"], detections)} for r in row["detections_by_type"]
        ],
        # Each detection count split by the expert's verdict (confirmed / rejected / pending = pending or
        # requires_review), and analyses by review state.
        "detections_by_verdict": row["detections_by_verdict"],
        "analyses_by_review": row["analyses_by_review"],
    }


def _statistics(summary: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    detections, analyses = summary["detections"], summary["analyses"]
    return {
        "detections_by_validation": [
            {**r, "percent_of_detections": percent(r["detections"], detections)}
            for r in row["detections_by_validation"]
        ],
        "analyses_by_location_source": [
            {**r, "percent_of_analyses": percent(r["analyses"], analyses)} for r in row["analyses_by_location_source"]
        ],
        "mean_confidence_by_type": row["mean_confidence_by_type"],
        "monthly": row["monthly"],
    }


def _map(dataset: Dataset, filters: DataFilters, locale: Locale) -> tuple[dict[str, Any], bytes]:
    from sentrix_report.render.map_image import draw_map

    extent = dataset.extent()
    box = filters.box
    if box is not None:
        bounds = {"west": box.west, "south": box.south, "east": box.east, "north": box.north}
    elif extent["located"]:
        bounds = {k: float(extent[k]) for k in ("west", "south", "east", "north")}
    else:
        bounds = None
    cell = cell_size(bounds["east"] - bounds["west"], bounds["north"] - bounds["south"]) if bounds else None
    cells = dataset.grid(cell) if cell else []
    points = dataset.points(MAP_MAX_POINTS + 1) if bounds else []
    drawn = points if len(points) <= MAP_MAX_POINTS else []
    image = draw_map(bounds, cell, cells, drawn, locale.language)
    return {
        "bounds": bounds,
        "cell_deg": cell,
        "cells": cells,
        "located_analyses": extent["located"],
        "points_drawn": len(drawn),
        "points_note": locale.t("map.points_note", max=MAP_MAX_POINTS),
    }, image


def _labelled(data: dict[str, Any], locale: Locale) -> dict[str, Any]:
    """Words for a person beside the values (`label`, `*_label`), in the report's language; keys unchanged."""
    summary = data["summary"]
    for r in summary["analyses_by_risk"]:
        r["label"] = locale.risk(r["level"])
    for r in summary["detections_by_type"]:
        r["label"] = locale.site_type(r["type"])
    stats = data.get("statistics")
    if stats:
        for r in stats["detections_by_validation"]:
            r["label"] = locale.verdict(r["status"])
        for r in stats["analyses_by_location_source"]:
            r["label"] = source_word(r["source"], locale.language)
        for r in stats["mean_confidence_by_type"]:
            r["label"] = locale.site_type(r["type"])
        for r in stats["monthly"]:
            year, _, month = r["month"].partition("-")
            r["label"] = locale.month_name(int(month), int(year))
    for r in data.get("analyses", ()):
        r["risk_label"] = locale.risk(r["risk_level"])
        r["review_label"] = locale.t(f"review.{r['review_state']}")
    for r in (data.get("map") or {}).get("cells", ()):
        r["dominant_type_label"] = locale.site_type(r["dominant_type"]) if r["dominant_type"] else None
    return data


def generate(principal: Principal, request: ReportRequest, locale: Locale | None = None) -> Report:
    """Compute the report's data and provenance in PostGIS; `locale` decides words, months and printed times."""
    settings = get_report_settings()
    locale = locale or Locale()
    filters = request.filters
    scope = Scope.of(principal, filters.user_id, filters.territory)
    as_of = datetime.now(UTC)
    where = apply_filters(scope.analyses("a"), filters)
    png = None
    with session_scope() as session:
        hold_place(session, principal, Costly.REPORTS)  # one report of a user at a time (docs/report.md)
        dataset = Dataset(session, where, as_of=as_of, detections=counted_detections(filters, as_of))
        # Summary and statistics reports carry the remediation figures of the sites the caller may see
        # (docs/sites.md, *Remediation figures*); the fingerprint then covers the sites and timeline they read.
        shows_sites = request.type in (ReportType.SUMMARY, ReportType.STATISTICS)
        owner = scope.owner_id if principal.sees_everything else None
        span = remediation.report_window(filters, as_of, locale) if shows_sites else None
        sites_where = remediation.sites_scope(principal, filters.territory, owner) if span else None
        unit = unit_for(principal, request.unit)
        detections = counted_detections(filters, as_of)
        facts = dataset.fingerprint(
            sites_where, span.end if span else None, unit_sites=unit is Unit.SITES, own_view=own_view(principal)
        )
        summary = _summary(dataset.summary())
        data: dict[str, Any] = {"summary": summary}
        if unit is Unit.SITES:
            data["sites"] = sites_block(
                session, where=where, detections=detections, locale=locale, own_view=own_view(principal)
            )
        if span is not None:
            data["remediation"] = remediation.section(
                session, principal, span, territory=filters.territory, owner_id=owner, locale=locale
            )
        if request.type is ReportType.STATISTICS:
            data["statistics"] = _statistics(summary, dataset.statistics(locale.timezone))
            data["statistics"]["months_in_timezone"] = locale.timezone
        elif request.type is ReportType.DETAILED:
            limit = settings.detailed_report_max_rows
            data["analyses"] = [_detailed_row(r) for r in dataset.detailed(limit)]
            data["analyses_shown"] = len(data["analyses"])
            data["analyses_total"] = summary["analyses"]
        elif request.type is ReportType.MAP:
            data["map"], png = _map(dataset, filters, locale)
    _labelled(data, locale)
    meta = {
        "type": request.type.value,
        "title": locale.t(f"report.{request.type.value}_title"),
        "format": request.format.value,
        "generated_at": as_of.isoformat(),
        "generated_by": principal.email or str(principal.user_id),
        "language": locale.language,
        "timezone": locale.timezone,
        "scope": scope.describe(),
        "unit": unit.value,
        "filters": filters.echo(),
        **what_counts(filters, locale),
        "coverage": filters.coverage(as_of),
        "as_of": as_of.isoformat(),
        "data_span": {
            "from": facts["span_from"].isoformat() if facts["span_from"] else None,
            "to": facts["span_to"].isoformat() if facts["span_to"] else None,
        },
        "rows": {
            "analyses": facts["analyses"],
            "detections": facts["detections"],
            **({"sites": facts["sites"], "site_actions": facts["site_actions"]} if span else {}),
            **({"counted_sites": facts["counted_sites"]} if unit is Unit.SITES else {}),
        },
        "fingerprint": {
            "algorithm": "SHA-256",
            "version": FINGERPRINT_VERSION,
            "value": facts["sha256"],
            "covers": (
                "the analyses and detections counted above, and the sites and timeline entries the remediation "
                "figures read (canonical form in docs/report.md)"
            ),
        },
    }
    return Report(meta, data, png, locale)
