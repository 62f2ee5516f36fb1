"""The weekly bulletin (issue #20, point 4): `POST /reports/generate` with `type: weekly`, one territory and one
epidemiological week, as PDF, CSV or JSON in the caller's language (docs/report.md, *Weekly bulletin*).

What it holds: the week's figures against the previous four (`logic.weekly`), the alert levels (a separate
section: `alert_levels` takes (territory, level, clusters) rows; `alert_rows` reads the levels at the week's end
from the history the daily cluster-alert computation records), the 20 highest-priority sites still open at the
week's end (the work-list score as it stood then), and the week's closures and recurrences — every figure with
its denominator.
Reproducible: everything read ends at the week's end, and the fingerprint covers it (version `weekly-2`).
"""

from __future__ import annotations

import hashlib
import re
import statistics as stats
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sentrix.db.engine import session_scope
from sentrix.domain import epiweeks
from sentrix.domain import sites as rules
from sentrix.domain.epiweeks import EpiWeek
from sentrix.domain.sites import SiteFamily, SiteStatus
from sentrix.errors import ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix_report.dal import alerts as alerts_data
from sentrix_report.dal import weekly as data
from sentrix_report.logic import weekly
from sentrix_report.logic.aggregate_report import Report
from sentrix_report.logic.quotas import Costly, hold_place
from sentrix_report.logic.ratios import ratio
from sentrix_report.settings import get_report_settings

TOP_SITES = 20
FINGERPRINT_VERSION = "weekly-2"
ALERT_LEVELS = ("red", "yellow", "green")
_LABEL = re.compile(r"^(\d{4})-SE(\d{2})$")


def parse_week(value: str | None, locale: Locale, as_of: datetime) -> EpiWeek:
    """`2026-SE05`, or a day of the week (`2026-02-03`); default: the last whole week in the caller's zone."""
    if value is None:
        return epiweeks.week_of(as_of.astimezone(locale.tz).date()).previous()
    found = _LABEL.match(value)
    try:
        if found:
            year, number = int(found[1]), int(found[2])
            if not weekly.EARLIEST.year <= year <= weekly.LATEST.year or not 1 <= number <= epiweeks.weeks_in(year):
                raise ValueError(value)
            return EpiWeek(year, number)
        day = date.fromisoformat(value)
        if not weekly.EARLIEST <= day <= weekly.LATEST:
            raise ValueError(value)
        return epiweeks.week_of(day)
    except ValueError:
        raise ValidationFailed(locale.t("err.weekly_week"), details={"week": value}, key="err.weekly_week") from None


def alert_rows(session: Session, codes: list[str] | None, end: datetime) -> list[tuple[str, str, int]]:
    """The territories of `codes` (the bulletin's territory and those below it) whose alert level was yellow or
    red at the week's `end`, as (territory code, level, open clusters) rows, from the level history the daily
    computation records (docs/alerts.md); green territories are left out, and none at all is said in words."""
    return alerts_data.levels_at(session, codes or [], end)


def with_alert_levels(data_digest: str, levels: Sequence[tuple[str, str, int]] | None) -> str:
    """Version weekly-2: SHA-256 of the data lines' digest (weekly-1's canonical form, hashed in SQL) followed by
    one `L|<territory>|<level>|<open clusters>` line per territory not green at the week's end, sorted."""
    lines = [data_digest, *(f"L|{code}|{level}|{clusters}" for code, level, clusters in sorted(levels or []))]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def alert_levels(rows: Sequence[tuple[str, str, int]], locale: Locale) -> dict[str, Any]:
    """The bulletin's alert section from (territory, level, clusters) rows, red first; none: said in words."""
    order = {level: i for i, level in enumerate(ALERT_LEVELS)}
    items = [
        {"territory": code, "level": level, "level_label": locale.t(f"bulletin.level.{level}"), "clusters": clusters}
        for code, level, clusters in sorted(rows, key=lambda r: (order.get(r[1], len(order)), r[0]))
    ]
    return {"rows": items, "note": None if items else locale.t("bulletin.alerts_none")}


def _priority(row: Any, now: datetime, locale: Locale) -> dict[str, Any]:
    found = rules.priority(
        status=SiteStatus(row["status"]),
        family=SiteFamily(row["family"]),
        confirmed=row["confirmed"],
        recurrences=row["recurrences"],
        last_report_at=row["last_report_at"] or datetime.min.replace(tzinfo=UTC),
        reporters=row["reporters"],
        now=now,
    )
    reasons = []
    for reason in found.reasons if found else ():
        value = locale.t(f"site.family.{reason.value}") if reason.code == "family" else reason.value
        reasons.append(
            {
                "code": reason.code,
                "points": reason.points,
                "label": locale.t(f"site.priority.{reason.code}", points=reason.points, value=value),
            }
        )
    return {"score": found.score if found else 0, "reasons": reasons}


def _site(rank: int, row: Any, now: datetime, locale: Locale) -> dict[str, Any]:
    return {
        "rank": rank,
        "id": str(row["id"]),
        "family": row["family"],
        "family_label": locale.t(f"site.family.{row['family']}"),
        "territory": row["territory_code"],
        "status": row["status"],
        "status_label": locale.t(f"bulletin.status.{row['status']}"),
        "priority": _priority(row, now, locale),
        "confirmed": row["confirmed"],
        "recurrences": row["recurrences"],
        "reporters": row["reporters"],
        "first_report_at": row["first_report_at"].isoformat(),
        "last_report_at": row["last_report_at"].isoformat() if row["last_report_at"] else None,
        # Exact, as the caller sees sites (experts, admins, officials in their territories; users get no bulletin).
        "latitude": round(row["latitude"], 6),
        "longitude": round(row["longitude"], 6),
    }


def _event(row: Any, locale: Locale) -> dict[str, Any]:
    cause = (row["cause"] or "manual") if row["action"] == "reopen" else None
    return {
        "event": row["action"],
        "event_label": locale.t(f"bulletin.event.{row['action']}"),
        "site_id": str(row["site_id"]),
        "territory": row["territory_code"],
        "family": row["family"],
        "family_label": locale.t(f"site.family.{row['family']}"),
        "at": row["at"].isoformat(),
        "days_since_first_report": round(float(row["days_since_first_report"]), 2),
        "cause": cause,
        "cause_label": (locale.t("bulletin.cause.manual") if cause == "manual" else locale.t(f"site.cause.{cause}"))
        if cause
        else None,
        "team": row["team"],
        "override": row["override"],
    }


def _closures(week_row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    closes = [e for e in events if e["event"] == "close"]
    reopens = [e for e in events if e["event"] == "reopen"]
    days = [e["days_since_first_report"] for e in closes]
    automatic = sum(1 for e in reopens if e["cause"] == "recurrence")
    return {
        "closed": week_row["closed"],
        "reopened": week_row["reopened"],
        "reopened_automatic": ratio(automatic, len(reopens), of="reopened after a new report", per="reopened"),
        "recurrence_rate": ratio(week_row["reopened"], week_row["closed"], of="reopened", per="closed"),
        "median_days_to_close": {"value": round(stats.median(days), 2) if days else None, "closes": len(days)},
        "closures": closes,
        "recurrences": reopens,
    }


def generate(principal: Principal, territory: str, week_value: str | None, fmt: str, locale: Locale) -> Report:
    """The bulletin's data and provenance for `territory` (and below) and the epidemiological week."""
    as_of = datetime.now(UTC)
    week = parse_week(week_value, locale, as_of)
    with session_scope() as session:
        hold_place(session, principal, Costly.REPORTS)  # one report of a user at a time (docs/report.md)
        area = weekly.area(session, principal, territory)
        return _report(session, area, week, fmt, locale, as_of, generated_by=principal.email or str(principal.user_id))


SCHEDULED_BY = "Sentrix (weekly schedule)"


def for_subscribers(session: Session, territory: str, week: EpiWeek, locale: Locale, as_of: datetime) -> Report:
    """The same bulletin for the weekly job (docs/alerts.md, *Schedule*): the whole territory and below, as an
    admin reads it; the job sends it only to subscribers who may see that territory."""
    name = data.territory_name(session, territory)
    if name is None:
        raise ValueError(f"unknown territory {territory!r}")
    area = weekly.Area(data.territory_codes(session, [territory]), {"code": territory, "name": name}, "all sites")
    return _report(session, area, week, "pdf", locale, as_of, generated_by=SCHEDULED_BY)


def _report(
    session: Session,
    area: weekly.Area,
    week: EpiWeek,
    fmt: str,
    locale: Locale,
    as_of: datetime,
    *,
    generated_by: str,
) -> Report:
    start, end = weekly.week_bounds(week, locale.tz)
    first = week.start - timedelta(weeks=weekly.COMPARED_WEEKS)
    row = weekly.series(session, area.codes, week, 1, locale, as_of)[0]
    top = data.top_sites(session, codes=area.codes, week=week.start, tz=locale.timezone, limit=TOP_SITES)
    events = [_event(e, locale) for e in data.events(session, codes=area.codes, week=week.start, tz=locale.timezone)]
    facts = data.fingerprint(
        session, codes=area.codes, first=first, count=weekly.COMPARED_WEEKS + 1, tz=locale.timezone
    )
    levels = alert_rows(session, area.codes, end)
    alerts = alert_levels(levels, locale)
    open_sites = top[0]["open_sites"] if top else 0
    figures = [
        {"figure": name, "label": locale.t(f"bulletin.figure.{name}"), **row["change"][name]} for name in weekly.FIGURES
    ]
    data_ = {
        "territory": area.territory,
        "week": {k: row[k] for k in ("year", "week", "label", "start", "end", "complete")},
        "figures": figures,
        "alerts": alerts,
        "top_sites": {
            "shown": len(top),
            "open_sites": open_sites,
            "share_shown": ratio(len(top), open_sites, of="sites shown", per="sites open at the week's end"),
            "sites": [_site(i, r, end, locale) for i, r in enumerate(top, start=1)],
        },
        "closures": _closures(row, events),
        "definitions": weekly.definitions(locale),
    }
    meta = {
        "type": "weekly",
        "title": locale.t("report.weekly_title"),
        "format": fmt,
        "generated_at": as_of.isoformat(),
        "generated_by": generated_by,
        "language": locale.language,
        "timezone": locale.timezone,
        "scope": area.scope,
        "territory": area.territory,
        "week": data_["week"] | {k: v for k, v in weekly.week_descriptor(locale).items() if k != "label"},
        "week_definition": weekly.week_descriptor(locale)["label"],
        "filters": {"territory": (area.territory or {}).get("code"), "week": week.label},
        "compared_weeks": weekly.COMPARED_WEEKS,
        "min_base": get_report_settings().change_min_base,
        "as_of": as_of.isoformat(),
        "data_span": {"from": start.isoformat(), "to": end.isoformat()},
        "rows": {k: facts[k] for k in ("analyses", "detections", "sites", "actions")},
        "fingerprint": {
            "algorithm": "SHA-256",
            "version": FINGERPRINT_VERSION,
            "value": with_alert_levels(facts["sha256"], levels),
            "covers": "the sites, timeline entries and member detections before the week's end, the analyses "
            "of the five weeks read and the territories' alert levels at the week's end (canonical form in "
            "docs/report.md)",
        },
    }
    return Report(meta, data_, None, locale)
