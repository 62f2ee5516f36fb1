"""Cluster alerts: the rules, pure (docs/alerts.md; issue #20, point 2).

Singapore NEA's dengue clusters transposed to breeding sites (../shared/reference/public-health.md §1.8, §4.4):
a cluster is at least `min_sites` confirmed open sites each within `radius_m` of another, reported within
`window_days`; an alert follows a cluster over time. Its level is red with `red_sites` sites or more, or when it
grew in each of the last `growth_weeks` complete epidemiological weeks, yellow otherwise; it closes after
`quiet_days` without a new site. A territory is red or yellow as its worst open alert, green with none.

The database finds the clusters (ST_ClusterDBSCAN); here is how they continue, merge and split the open alerts,
and which level each alert and territory gets.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sentrix.domain.epiweeks import week_of


class Level(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Level.GREEN: 0, Level.YELLOW: 1, Level.RED: 2}


@dataclass(frozen=True)
class OpenAlert:
    """An open alert as the matching sees it: its current sites."""

    id: uuid.UUID
    opened_at: datetime
    sites: frozenset[uuid.UUID]


@dataclass
class Matching:
    """What this run's clusters do to the open alerts.

    `continues[i]` is the alert cluster i continues (None: a new alert); `split_from[i]` the alert a new alert
    splits off (it shares sites with an alert another cluster continues); `merged` maps an alert that closes
    into the alert that absorbs it; `quiet` are the open alerts no cluster touches.
    """

    continues: list[uuid.UUID | None] = field(default_factory=list)
    split_from: list[uuid.UUID | None] = field(default_factory=list)
    merged: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    untouched: list[uuid.UUID] = field(default_factory=list)


def cluster_order(clusters: Sequence[frozenset[uuid.UUID]]) -> list[int]:
    """Largest clusters first, then by their smallest site id: the order in which clusters pick alerts."""
    return sorted(range(len(clusters)), key=lambda i: (-len(clusters[i]), min(str(s) for s in clusters[i])))


def _best(alerts: Iterable[OpenAlert], cluster: frozenset[uuid.UUID]) -> OpenAlert | None:
    """The alert sharing most sites with the cluster; ties: the oldest, then the lowest id."""
    ranked = sorted(alerts, key=lambda a: (-len(a.sites & cluster), a.opened_at, str(a.id)))
    return ranked[0] if ranked else None


def match(clusters: Sequence[frozenset[uuid.UUID]], alerts: Sequence[OpenAlert]) -> Matching:
    """Continue, merge and split the open alerts with this run's clusters (identity across runs).

    - A cluster sharing sites with open alerts continues one of them: the one sharing most sites (ties: the
      oldest). Clusters choose largest first, so when an alert's sites fell into several clusters (a split) the
      largest keeps the alert and the others open new alerts `split_from` it.
    - Open alerts a cluster shares sites with but did not continue are merged into the alert it continues
      (two alerts whose clusters grew together become one: the oldest of those it shares most with lives on).
    - Open alerts no cluster touches are `untouched` (they close once quiet long enough).
    """
    result = Matching(continues=[None] * len(clusters), split_from=[None] * len(clusters))
    claimed: set[uuid.UUID] = set()
    for i in cluster_order(clusters):
        touching = [a for a in alerts if a.sites & clusters[i]]
        best = _best((a for a in touching if a.id not in claimed), clusters[i])
        if best is not None:
            result.continues[i] = best.id
            claimed.add(best.id)
        elif touching:
            result.split_from[i] = _best(touching, clusters[i]).id
    for alert in alerts:
        if alert.id in claimed:
            continue
        sharing = [i for i in cluster_order(clusters) if alert.sites & clusters[i]]
        if not sharing:
            result.untouched.append(alert.id)
            continue
        # The cluster it shares most with (first in cluster order on ties); it continues an alert, since this
        # one was free to take when that cluster chose.
        into = max(sharing, key=lambda i: len(alert.sites & clusters[i]))
        result.merged[alert.id] = result.continues[into]  # type: ignore[assignment]
    return result


def growing(opened_at: datetime, growth: Iterable[datetime], today: date, weeks: int) -> bool:
    """Did the alert gain sites in each of the last `weeks` complete epidemiological weeks before `today`'s?

    The week it opened in is its formation, not growth: those weeks must come after it.
    """
    if weeks <= 0:
        return False
    formed = week_of(opened_at.date())
    grew = {week_of(at.date()) for at in growth}
    week = week_of(today)
    for _ in range(weeks):
        week = week.previous()
        if week <= formed or week not in grew:
            return False
    return True


def alert_level(site_count: int, is_growing: bool, red_sites: int) -> Level:
    """Red with `red_sites` or more, or growing; yellow otherwise (an open alert is never green)."""
    return Level.RED if site_count >= red_sites or is_growing else Level.YELLOW


@dataclass(frozen=True)
class AlertForLevels:
    """An open alert as the territory levels see it."""

    id: uuid.UUID
    level: Level
    site_count: int
    opened_at: datetime
    territories: frozenset[str]  # the tags of its current sites


def _with_ancestors(tag: str, parents: Mapping[str, str | None]) -> list[str]:
    """The territory and every one above it (known codes only; a cycle in the parents stops where it repeats)."""
    found: list[str] = []
    code: str | None = tag
    while code is not None and code in parents and code not in found:
        found.append(code)
        code = parents[code]
    return found


def territory_levels(
    parents: Mapping[str, str | None], alerts: Iterable[AlertForLevels]
) -> dict[str, tuple[Level, uuid.UUID | None]]:
    """Each territory's level and the alert behind it: the worst open alert with a site in it or below it.

    Ties between alerts of the same level: the one with more sites, then the oldest, then the lowest id.
    Every territory of `parents` is in the answer (green, None without an alert).
    """
    candidates: dict[str, list[AlertForLevels]] = {}
    for alert in alerts:
        for code in {c for tag in alert.territories for c in _with_ancestors(tag, parents)}:
            candidates.setdefault(code, []).append(alert)
    levels: dict[str, tuple[Level, uuid.UUID | None]] = {}
    for code in parents:
        if code in candidates:
            best = min(candidates[code], key=lambda a: (-a.level.rank, -a.site_count, a.opened_at, str(a.id)))
            levels[code] = (best.level, best.id)
        else:
            levels[code] = (Level.GREEN, None)
    return levels


def main_territory(tags: Iterable[str | None]) -> str | None:
    """The territory holding most of the sites (ties: the lowest code); None when no site has one."""
    counts = Counter(tag for tag in tags if tag is not None)
    if not counts:
        return None
    return min(counts, key=lambda code: (-counts[code], code))
