"""Dashboard statistics (/reports/statistics, risk-distribution, monthly-analyses, recent-activity,
validation-stats): real counts over what the caller may see, with every ratio's terms stated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.http.identity import Principal
from sentrix.i18n import Locale, risk_word, t
from sentrix_report.dal import statistics as data
from sentrix_report.logic import remediation
from sentrix_report.logic.filters import DataFilters
from sentrix_report.logic.notes import what_counts
from sentrix_report.logic.ratios import change_figure, jsonable, percent, ratio
from sentrix_report.logic.scope import Scope, apply_filters, counted_detections, found_detections
from sentrix_report.logic.site_units import Unit, own_view, sites_block, unit_for
from sentrix_report.settings import get_report_settings

WINDOW_DAYS = 30
# Words (month and risk names) come from the message catalogue, sentrix.i18n, in the caller's language.
RISK_COLOURS = {"ALTO": "#dc2626", "MEDIO": "#f59e0b", "BAJO": "#059669", "MINIMO": "#6b7280"}


def _meta(scope: Scope, as_of: datetime, locale: Locale | None = None) -> dict[str, Any]:
    return {"scope": scope.describe(), "counted": (locale or Locale()).t("note.counted"), "as_of": as_of.isoformat()}


def dashboard(
    principal: Principal,
    filters: DataFilters | None = None,
    locale: Locale | None = None,
    *,
    group_by_territory: bool = False,
    unit: Unit | None = None,
) -> dict[str, Any]:
    """Totals and their month-over-month change (last 30 days against the 30 before); with
    `group_by_territory`, the analyses and counted detections of each territory directly below the `territory`
    filter (the roots without one), each with everything below it."""
    filters = filters or DataFilters()
    locale = locale or Locale()
    unit = unit_for(principal, unit)
    scope = Scope.of(principal, filters.user_id, filters.territory)
    as_of = datetime.now(UTC)
    where = apply_filters(scope.analyses("a"), filters)
    detections = counted_detections(filters, as_of)
    found = found_detections(filters, as_of)
    with session_scope() as session:
        row = jsonable(
            data.overview(
                session, where=where, detections=detections, found=found, as_of=as_of, window_days=WINDOW_DAYS
            )
        )
        groups = (
            [
                jsonable(group)
                for group in data.by_territory(session, where=where, detections=detections, parent=filters.territory)
            ]
            if group_by_territory
            else None
        )
        counted_sites = (
            sites_block(session, where=where, detections=detections, locale=locale, own_view=own_view(principal))
            if unit is Unit.SITES
            else None
        )
        sites = remediation.section(
            session,
            principal,
            remediation.report_window(filters, as_of, locale),
            territory=filters.territory,
            owner_id=scope.owner_id if principal.sees_everything else None,
            locale=locale,
        )
    min_base = get_report_settings().change_min_base
    pairs = {
        "total_analyses": (row["analyses_cur"], row["analyses_prev"]),
        "high_risk_detections": (row["high_risk_cur"], row["high_risk_prev"]),
        "monitored_locations": (row["locations_cur"], row["locations_prev"]),
        "active_users": (row["active_users"], row["active_users_prev"]),
    }
    changes = {name: change_figure(cur, prev, min_base=min_base) for name, (cur, prev) in pairs.items()}
    return (
        {
            "total_analyses": row["total_analyses"],
            "total_detections": row["total_detections"],
            "active_detections": row["active_detections"],
            "high_risk_detections": row["high_risk_detections"],
            "active_high_risk_detections": row["active_high_risk_detections"],
            "monitored_locations": row["monitored_locations"],
            "active_users": row["active_users"],
            # The original client reads `monthly_change` as numbers; the detail carries the terms and the reason.
            "monthly_change": {name: figure["change_pct"] for name, figure in changes.items()},
            "monthly_change_detail": changes,
            "window_days": WINDOW_DAYS,
            "definitions": {
                "high_risk_detections": locale.t("counts.high_risk_detections"),
                "monitored_locations": locale.t("def.monitored_locations"),
                "active_users": locale.t("def.active_users", days=WINDOW_DAYS),
                "monthly_change": locale.t("def.monthly_change", days=WINDOW_DAYS, min_base=min_base),
            },
            **what_counts(filters, locale),
            "coverage": filters.coverage(as_of),
            "filters": filters.echo(),
        }
        | ({"by_territory": groups} if groups is not None else {})
        | {"remediation": sites, "unit": unit.value}
        | ({"sites": counted_sites} if counted_sites is not None else {})
        | _meta(scope, as_of, locale)
    )


def risk_distribution(
    principal: Principal, user_id: uuid.UUID | None = None, locale: Locale | None = None
) -> dict[str, Any]:
    """Analyses per risk level; percentages of all analyses in scope that have a level."""
    scope = Scope.of(principal, user_id)
    as_of = datetime.now(UTC)
    with session_scope() as session:
        found = data.risk_distribution(session, where=scope.analyses("a"))
    total = sum(r["value"] for r in found)
    levels = [
        {
            "name": risk_word(r["level"], (locale or Locale()).language),
            "level": r["level"],
            "value": r["value"],
            "percentage": percent(r["value"], total),
            "color": RISK_COLOURS[r["level"]],
        }
        for r in found
    ]
    per = (locale or Locale()).t("note.risk_distribution_per")
    return {"data": levels, "total": total, "per": per} | _meta(scope, as_of, locale)


def monthly_analyses(
    principal: Principal, months: int, user_id: uuid.UUID | None = None, locale: Locale | None = None
) -> dict[str, Any]:
    """Analyses (and their detections) per calendar month (UTC), the last `months`, oldest first."""
    scope = Scope.of(principal, user_id)
    as_of = datetime.now(UTC)
    with session_scope() as session:
        found = data.monthly(session, where=scope.analyses("a"), as_of=as_of, months=months)
    series = [
        {
            "month": r["month"],
            "label": t(f"month_short.{r['month_number']}", (locale or Locale()).language),
            "count": r["count"],
            "detections": r["detections"],
            "high_risk_detections": r["high_risk_detections"],
        }
        for r in found
    ]
    return {"data": series, "months": months} | _meta(scope, as_of, locale)


def recent_activity(
    principal: Principal, limit: int, user_id: uuid.UUID | None = None, locale: Locale | None = None
) -> dict[str, Any]:
    """The newest completed analyses and expert validations in scope, newest first (words in `*_label`)."""
    locale = locale or Locale()
    scope = Scope.of(principal, user_id)
    as_of = datetime.now(UTC)
    with session_scope() as session:
        found = data.recent(session, where=scope.analyses("a"), limit=limit)
    items = []
    for r in found:
        item = {
            "type": "analysis_completed" if r["kind"] == "analysis" else "detection_validated",
            "id": str(r["id"]),
            "analysis_id": str(r["analysis_id"]),
            "timestamp": r["at"].isoformat(),
            "risk_level": r["risk_level"],
            "risk_label": locale.risk(r["risk_level"]) if r["risk_level"] else None,
            "location": (
                {"latitude": r["latitude"], "longitude": r["longitude"]} if r["latitude"] is not None else None
            ),
        }
        if r["kind"] == "analysis":
            item["detections"] = r["detections"]
        else:
            item |= {
                "validation_status": r["validation_status"],
                "validation_label": locale.verdict(r["validation_status"]),
                "breeding_site_type": r["breeding_site_type"],
                "type_label": locale.site_type(r["breeding_site_type"]),
            }
        items.append(item)
    return {"data": items, "limit": limit} | _meta(scope, as_of, locale)


def validation_stats(
    principal: Principal, user_id: uuid.UUID | None = None, locale: Locale | None = None
) -> dict[str, Any]:
    """Validation backlog, throughput and outcome; who validated only for experts and admins."""
    locale = locale or Locale()
    scope = Scope.of(principal, user_id)
    as_of = datetime.now(UTC)
    with session_scope() as session:
        row = jsonable(data.validation(session, where=scope.analyses("a"), as_of=as_of))
        top = data.validators(session, where=scope.analyses("a"), as_of=as_of) if principal.sees_everything else None
    decided = row["validated_positive"] + row["validated_negative"]
    result = {
        "pending_validations": row["pending"],
        "requires_review": row["requires_review"],
        "validated_positive": row["validated_positive"],
        "validated_negative": row["validated_negative"],
        "validated_today": row["validated_today"],
        "validated_last_7_days": row["validated_last_7_days"],
        "validated_last_30_days": row["validated_last_30_days"],
        "throughput_per_day": row["throughput"],
        "mean_hours_to_validation": row["mean_hours_to_validation"],
        "median_hours_to_validation": row["median_hours_to_validation"],
        "hours_to_validation_is": locale.t("def.hours_to_validation"),
        "oldest_pending": row["oldest_pending"].isoformat() if row["oldest_pending"] else None,
        "positive_rate": ratio(
            row["validated_positive"], decided, of="validated positive", per="validated positive + negative"
        ),
        "reviewed_share": ratio(decided, row["total_detections"], of="validated detections", per="all detections"),
        "validated_today_is": locale.t("def.validated_today"),
    }
    if top is not None:
        result["top_validators"] = [{**t, "validated": int(t["validated"])} for t in top]
    return result | _meta(scope, as_of, locale)
