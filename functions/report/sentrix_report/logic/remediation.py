"""Remediation figures (issue #19, point 7): per territory and week, what teams did with breeding sites.

Read from the sites' timeline (`site_actions`) and `sites` (first report, territory tag); docs/sites.md,
*Remediation figures*. Experts and admins read every site, officials the sites of their territories and below;
users are 403 (the figures count sites they may not see).
"""

from __future__ import annotations

import statistics as stats
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.errors import Forbidden, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.repositories.officials import is_official
from sentrix_report.data import remediation as data
from sentrix_report.logic.filters import Where
from sentrix_report.logic.ratios import ratio

MAX_WEEKS = 53
DEFAULT_DAYS = 27  # date_to and the 27 days before: four weeks
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)

_BELOW = (
    "WITH RECURSIVE {name} (code) AS ({seed} "
    "UNION ALL SELECT t.code FROM territories AS t JOIN {name} ON t.parent_code = {name}.code) "
    "SELECT {name}.code FROM {name}"
)


def week_start(day: date) -> date:
    """The first day of the week holding `day`: ISO weeks, Monday (issue #20 brings Sunday-based
    epidemiological weeks: this is the one place that decides)."""
    return day - timedelta(days=day.weekday())


def sites_scope(principal: Principal, territory: str | None) -> Where:
    """The sites the caller's figures count (alias `s`), narrowed to `territory` and every territory below."""
    where = Where.empty()
    if not principal.sees_everything:
        if not is_official(principal):
            raise Forbidden("Remediation figures are for experts, admins and officials", key="err.remediation_role")
        seed = "SELECT o.territory_code FROM official_territories AS o WHERE o.user_id = :r_official"
        where.add(f"s.territory_code IN ({_BELOW.format(name='r_scope', seed=seed)})", r_official=principal.user_id)
    if territory is not None:
        seed = "SELECT t.code FROM territories AS t WHERE t.code = :r_territory"
        where.add(f"s.territory_code IN ({_BELOW.format(name='r_tree', seed=seed)})", r_territory=territory)
    return where


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


def weekly(
    principal: Principal,
    *,
    territory: str | None,
    date_from: date | None,
    date_to: date | None,
    locale: Locale | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Per territory tag (the smallest territory of each site; null outside every one) and week."""
    locale = locale or Locale()
    date_to = date_to or today or datetime.now(UTC).date()
    date_from = date_from or max(EARLIEST, date_to - timedelta(days=min(DEFAULT_DAYS, date_to.toordinal() - 1)))
    first, last = week_start(max(date_from, EARLIEST)), week_start(min(date_to, LATEST))
    weeks = (last - first).days // 7 + 1
    if date_from > date_to or weeks > MAX_WEEKS or not EARLIEST <= date_from <= date_to <= LATEST:
        raise ValidationFailed(
            # The English text (errors.py); the caller reads the catalogue's words for `key` in their language.
            f"date_from must not be after date_to, both within {EARLIEST} to {LATEST}, and the range must fit in "
            f"{MAX_WEEKS} weeks",
            details={"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "max_weeks": MAX_WEEKS},
            key="err.remediation_range",
            max_weeks=MAX_WEEKS,
        )
    where = sites_scope(principal, territory)
    with session_scope() as session:
        found = data.weekly(session, where=where, first=datetime.combine(first, time.min, tzinfo=UTC), weeks=weeks)
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
    return {
        "territories": groups,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "week": {"kind": "iso", "starts_on": "monday", "time_zone": "UTC", "label": locale.t("def.remediation_week")},
        "definitions": {
            name: locale.t(f"def.remediation_{name}")
            for name in ("opened", "closed", "reopened", "open_at_end", "days_to_close", "recurrence")
        },
        "filters": {"territory": territory},
        "scope": "all sites" if principal.sees_everything else "official territories",
    }
