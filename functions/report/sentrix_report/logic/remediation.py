"""Remediation figures (issue #19, point 7): per territory and week, what teams did with breeding sites.

Read from the sites' timeline (`site_actions`) and `sites` (first report, territory tag); docs/sites.md,
*Remediation figures*. Served by `GET /reports/remediation`, inside `GET /reports/statistics` and inside the
summary and statistics aggregate reports. Experts and admins read every site, officials the sites of their
territories and below, users none (a site's history is everyone's: `sites_scope`).
"""

from __future__ import annotations

import statistics as stats
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sentrix.db.engine import session_scope
from sentrix.domain import epiweeks
from sentrix.errors import ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.repositories.officials import is_official
from sentrix_report.dal import remediation as data
from sentrix_report.logic.filters import DataFilters, Where
from sentrix_report.logic.ratios import ratio
from sentrix_report.logic.scope import check_official_territory

MAX_WEEKS = 53
DEFAULT_DAYS = 27  # date_to and the 27 days before: four weeks
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)

_BELOW = (
    "WITH RECURSIVE {name} (code) AS ({seed} "
    "UNION ALL SELECT t.code FROM territories AS t JOIN {name} ON t.parent_code = {name}.code) "
    "SELECT {name}.code FROM {name}"
)


def week_start(day: date) -> date:
    """The first day of the week holding `day`: epidemiological weeks, Sunday to Saturday
    (`sentrix.domain.epiweeks`, issue #20). The one place that decides what a week is."""
    return epiweeks.week_start(day)


def sites_scope(principal: Principal, territory: str | None, owner_id: uuid.UUID | None = None) -> Where:
    """The sites the caller's figures count (alias `s`), narrowed to `territory` and every territory below.

    Experts and admins: every site (or, with `owner_id`, the sites that user's detections belong to).
    Officials: the sites of their territories and below. Users: none — a site's history (its first report, its
    territory, recurrences) is made by everyone who reported there and by the team, and would tell a user who
    uploads a photo at a chosen point that somebody reported there (docs/sites.md *Who sees what*)."""
    check_official_territory(principal, territory)
    where = Where.empty()
    if not principal.sees_everything and not is_official(principal):
        return where.add("FALSE")
    owner = owner_id if principal.sees_everything else (None if is_official(principal) else principal.user_id)
    if not principal.sees_everything and is_official(principal):
        seed = "SELECT o.territory_code FROM official_territories AS o WHERE o.user_id = :r_official"
        where.add(f"s.territory_code IN ({_BELOW.format(name='r_scope', seed=seed)})", r_official=principal.user_id)
    if owner is not None:
        where.add(
            "s.id IN (SELECT rd.site_id FROM detections AS rd JOIN analyses AS ra ON ra.id = rd.analysis_id "
            "WHERE ra.user_id = :r_owner AND rd.site_id IS NOT NULL "
            "AND rd.validation_status <> 'validated_negative')",
            r_owner=owner,
        )
    if territory is not None:
        seed = "SELECT t.code FROM territories AS t WHERE t.code = :r_territory"
        where.add(f"s.territory_code IN ({_BELOW.format(name='r_tree', seed=seed)})", r_territory=territory)
    return where


def audience(principal: Principal, owner_id: uuid.UUID | None = None) -> str:
    """all, user (an expert's `user_id`), official or own."""
    if principal.sees_everything:
        return "all" if owner_id is None else "user"
    return "official" if is_official(principal) else "own"


def scope_label(principal: Principal, owner_id: uuid.UUID | None = None) -> str:
    return {
        "all": "all sites",
        "user": f"sites of user {owner_id}",
        "official": "official territories",
        "own": "own sites",
    }[audience(principal, owner_id)]


@dataclass(frozen=True)
class Window:
    """Whole weeks from the one holding `date_from` to the one holding `date_to`."""

    date_from: date
    date_to: date
    first: date  # the first week's start
    weeks: int
    clamped: bool = False

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7 * self.weeks)

    def describe(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "first_week_start": self.first.isoformat(),
            "weeks": self.weeks,
            "clamped_to_max_weeks": self.clamped,
        }


def window(date_from: date | None, date_to: date | None, *, today: date, clamp: bool = False, locale=None) -> Window:
    """The weeks a request covers (default: the four weeks to `date_to`, itself today by default). More than
    MAX_WEEKS, reversed dates or dates outside 2000-2100 are 422, or, with `clamp` (reports, statistics, whose
    dates filter analyses too), cut to the MAX_WEEKS weeks ending at `date_to` and said so."""
    locale = locale or Locale()
    date_to = date_to or today
    date_from = date_from or max(EARLIEST, date_to - timedelta(days=min(DEFAULT_DAYS, date_to.toordinal() - 1)))
    if clamp:
        date_to = min(max(date_to, EARLIEST), LATEST)
        date_from = min(max(date_from, EARLIEST), date_to)
    first, last = week_start(min(max(date_from, EARLIEST), LATEST)), week_start(min(max(date_to, EARLIEST), LATEST))
    weeks = (last - first).days // 7 + 1
    clamped = False
    if clamp and weeks > MAX_WEEKS:
        first, weeks, clamped = last - timedelta(days=7 * (MAX_WEEKS - 1)), MAX_WEEKS, True
    if date_from > date_to or weeks > MAX_WEEKS or not EARLIEST <= date_from <= date_to <= LATEST:
        raise ValidationFailed(
            # The English text (errors.py); the caller reads the catalogue's words for `key` in their language.
            f"date_from must not be after date_to, both within {EARLIEST} to {LATEST}, and the range must fit in "
            f"{MAX_WEEKS} weeks",
            details={"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "max_weeks": MAX_WEEKS},
            key="err.remediation_range",
            max_weeks=MAX_WEEKS,
        )
    return Window(date_from, date_to, first, weeks, clamped)


def _day(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value


def report_window(filters: DataFilters, as_of: datetime, locale: Locale | None = None) -> Window:
    """The weeks of statistics and reports: those holding the filters' dates (default: the four weeks to
    `as_of`'s day), at most the MAX_WEEKS weeks ending at `date_to`."""
    return window(_day(filters.date_from), _day(filters.date_to), today=as_of.date(), clamp=True, locale=locale)


def _median(days: list[float]) -> float | None:
    return round(stats.median(days), 2) if days else None


def _figures(opened: int, closed: int, reopened: int, days: list[float]) -> dict[str, Any]:
    return {
        "opened": opened,
        "closed": closed,
        "reopened": reopened,
        "median_days_to_close": {"value": _median(days), "closes": len(days)},
        "recurrence_rate": ratio(reopened, closed, of="reopened", per="closed"),
    }


def figures(session: Session, where: Where, span: Window) -> list[dict[str, Any]]:
    """Per territory tag (the smallest territory of each site; null outside every one): its weeks and the
    window's totals."""
    found = data.weekly(session, where=where, first=span.start, weeks=span.weeks)
    territories: dict[str | None, dict[str, Any]] = {}
    for row in found:
        days = [float(d) for d in row["days_to_close"]]
        entry = territories.setdefault(
            row["territory_code"], {"territory": row["territory_code"], "weeks": [], "_days": [], "_sum": [0, 0, 0]}
        )
        start = row["week_start"].astimezone(UTC).date()
        entry["weeks"].append(
            {
                "week_start": start.isoformat(),
                "week_end": (start + timedelta(days=6)).isoformat(),
                "epi_week": epiweeks.week_of(start).label,
                "open_at_end": row["open_at_end"],
                **_figures(row["opened"], row["closed"], row["reopened"], days),
            }
        )
        entry["_days"].extend(days)
        counts = (row["opened"], row["closed"], row["reopened"])
        entry["_sum"] = [a + b for a, b in zip(entry["_sum"], counts, strict=True)]
    groups = []
    for entry in territories.values():
        opened, closed, reopened = entry.pop("_sum")
        entry["window"] = _figures(opened, closed, reopened, entry.pop("_days"))
        groups.append(entry)
    return groups


def describe_week(locale: Locale) -> dict[str, Any]:
    return {
        "kind": "epidemiological",
        "starts_on": "sunday",
        "time_zone": "UTC",
        "label": locale.t("def.remediation_week"),
    }


def definitions(locale: Locale) -> dict[str, str]:
    return {
        name: locale.t(f"def.remediation_{name}")
        for name in ("opened", "closed", "reopened", "open_at_end", "days_to_close", "recurrence")
    }


def section(
    session: Session,
    principal: Principal,
    span: Window,
    *,
    territory: str | None,
    owner_id: uuid.UUID | None = None,
    locale: Locale,
) -> dict[str, Any]:
    """The figures as statistics and reports carry them (`remediation`)."""
    return {
        "territories": figures(session, sites_scope(principal, territory, owner_id), span),
        **span.describe(),
        "week": describe_week(locale),
        "definitions": definitions(locale),
        "scope": scope_label(principal, owner_id),
        "audience": audience(principal, owner_id),
    }


def weekly(
    principal: Principal,
    *,
    territory: str | None,
    date_from: date | None,
    date_to: date | None,
    locale: Locale | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """GET /reports/remediation."""
    locale = locale or Locale()
    span = window(date_from, date_to, today=today or datetime.now(UTC).date(), locale=locale)
    where = sites_scope(principal, territory)
    with session_scope() as session:
        groups = figures(session, where, span)
    return {
        "territories": groups,
        "date_from": span.date_from.isoformat(),
        "date_to": span.date_to.isoformat(),
        "week": describe_week(locale),
        "definitions": definitions(locale),
        "filters": {"territory": territory},
        "scope": scope_label(principal),
    }
