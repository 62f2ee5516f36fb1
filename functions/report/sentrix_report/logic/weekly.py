"""Epidemiological-week trends of a territory (issue #20, point 1): GET /reports/statistics/weekly.

Per epidemiological week (`sentrix.domain.epiweeks`: Sunday to Saturday, the Wednesday's year) in the caller's
time zone: completed analyses (reports), new sites, confirmed sites, closes, reopenings and sites open at the
week's end, each with its change against the previous four weeks (`change_4w`: both terms stated, null below
the minimum base). Who: experts and admins every site; officials their territories and below (any other
territory is 404, as for their sites); users 403 — the figures count sites and analyses of other people they
may not see, and a "their own only" figure under the same name would mean something else (docs/report.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sentrix.db.engine import session_scope
from sentrix.domain import epiweeks
from sentrix.domain.epiweeks import EpiWeek
from sentrix.errors import Forbidden, NotFound, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.repositories.officials import is_official
from sentrix_report.dal import weekly as data
from sentrix_report.dal.sql import rows
from sentrix_report.logic.ratios import BASE_BELOW_MINIMUM, ratio
from sentrix_report.settings import get_report_settings

COMPARED_WEEKS = 4
MAX_WEEKS = 53
DEFAULT_WEEKS = 8
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
FIGURES = ("reports", "new_sites", "confirmed_sites", "closed", "reopened", "open_at_end")


@dataclass(frozen=True)
class Area:
    """The territory the figures count (None: everything the caller may see) and its codes (None: all)."""

    codes: list[str] | None
    territory: dict[str, str] | None
    scope: str


def area(session: Session, principal: Principal, territory: str | None) -> Area:
    """Who may read which territory's figures; 403 for users, 404 for a territory unknown or outside an
    official's scope (the same answer: an official learns nothing of territories outside theirs)."""
    if principal.sees_everything:
        allowed, scope = None, "all sites"
    elif is_official(principal):
        mine = [r["code"] for r in rows(session, _OFFICIAL, {"w_user": principal.user_id})]
        allowed, scope = data.territory_codes(session, mine), "official territories"
    else:
        raise Forbidden(key="err.weekly_role")
    if territory is None:
        return Area(allowed, None, scope)
    name = data.territory_name(session, territory)
    if name is None or (allowed is not None and territory not in allowed):
        raise NotFound(key="err.weekly_territory")
    return Area(data.territory_codes(session, [territory]), {"code": territory, "name": name}, scope)


_OFFICIAL = "SELECT territory_code AS code FROM official_territories WHERE user_id = :w_user"


def change_4w(current: int, previous: list[int], *, min_base: int) -> dict[str, Any]:
    """The week against the mean of the `previous` four: change_pct = 100·(4·current - total) / total, with
    numerator and denominator stated; null, `reason: base_below_minimum`, when the four weeks' total is below
    `min_base` (+300 % from 1 is no signal)."""
    total = sum(previous)
    enough = total >= min_base and total > 0
    numerator = COMPARED_WEEKS * current - total
    return {
        "current": current,
        "previous_weeks": previous,
        "previous_total": total,
        "previous_mean": round(total / COMPARED_WEEKS, 2),
        "difference": round(current - total / COMPARED_WEEKS, 2),
        "change_pct": round(100.0 * numerator / total, 2) if enough else None,
        "numerator": numerator,
        "denominator": total,
        "reason": None if enough else BASE_BELOW_MINIMUM,
        "min_base": min_base,
    }


def week_bounds(week: EpiWeek, zone: Any) -> tuple[datetime, datetime]:
    """The week's start and end as instants of the zone (Sunday 00:00 to the next Sunday 00:00)."""
    start = datetime.combine(week.start, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(week.end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


def week_view(week: EpiWeek, locale: Locale, as_of: datetime) -> dict[str, Any]:
    _, end = week_bounds(week, locale.tz)
    return {
        "year": week.year,
        "week": week.week,
        "label": week.label,
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "complete": end <= as_of,
    }


def series(
    session: Session, codes: list[str] | None, last: EpiWeek, count: int, locale: Locale, as_of: datetime
) -> list[dict[str, Any]]:
    """`count` weeks ending with `last`, each with its figures and their change against the four before."""
    first_shown = last.start - timedelta(weeks=count - 1)
    first = first_shown - timedelta(weeks=COMPARED_WEEKS)
    found = data.figures(session, codes=codes, first=first, count=count + COMPARED_WEEKS, tz=locale.timezone)
    min_base = get_report_settings().change_min_base
    result = []
    for i in range(COMPARED_WEEKS, len(found)):
        row, before = found[i], found[i - COMPARED_WEEKS : i]
        week = epiweeks.week_of(first + timedelta(weeks=i))
        result.append(
            week_view(week, locale, as_of)
            | {name: row[name] for name in FIGURES}
            | {
                "recurrence_rate": ratio(row["reopened"], row["closed"], of="reopened", per="closed"),
                "change": {
                    name: change_4w(row[name], [r[name] for r in before], min_base=min_base) for name in FIGURES
                },
            }
        )
    return result


def definitions(locale: Locale) -> dict[str, str]:
    min_base = get_report_settings().change_min_base
    return {name: locale.t(f"def.weekly_{name}") for name in FIGURES} | {
        "recurrence_rate": locale.t("def.remediation_recurrence"),
        "change": locale.t("def.weekly_change", weeks=COMPARED_WEEKS, min_base=min_base),
    }


def week_descriptor(locale: Locale) -> dict[str, Any]:
    return {
        "kind": "epidemiological",
        "starts_on": "sunday",
        "time_zone": locale.timezone,
        "label": locale.t("def.weekly_week", zone=locale.timezone),
    }


def weekly(
    principal: Principal,
    *,
    territory: str | None,
    weeks: int = DEFAULT_WEEKS,
    until: date | None = None,
    locale: Locale | None = None,
) -> dict[str, Any]:
    """GET /reports/statistics/weekly: the `weeks` epidemiological weeks ending with the one holding `until`
    (default: today in the caller's zone), oldest first."""
    locale = locale or Locale()
    as_of = datetime.now(UTC)
    until = until or as_of.astimezone(locale.tz).date()
    if not EARLIEST <= until <= LATEST or not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(
            locale.t("err.weekly_range", max_weeks=MAX_WEEKS),
            details={"until": until.isoformat(), "weeks": weeks, "max_weeks": MAX_WEEKS},
            key="err.weekly_range",
        )
    last = epiweeks.week_of(until)
    with session_scope() as session:
        where = area(session, principal, territory)
        found = series(session, where.codes, last, weeks, locale, as_of)
    return {
        "territory": where.territory,
        "weeks": found,
        "week": week_descriptor(locale),
        "compared_weeks": COMPARED_WEEKS,
        "min_base": get_report_settings().change_min_base,
        "definitions": definitions(locale),
        "filters": {"territory": territory, "weeks": weeks, "until": until.isoformat()},
        "scope": where.scope,
        "as_of": as_of.isoformat(),
    }
