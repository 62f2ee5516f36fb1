"""Whose data a request reads, as SQL: the rule of `sentrix.repositories.analyses.visible_to`, for raw queries.

Users read their own analyses, experts and admins everyone's (the same rule `visible_to` applies to ORM
selects; tests/integration/report/test_scope.py checks that both select the same rows). Public map routes
add a third audience, the anonymous caller, who only ever gets aggregated, precision-reduced data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentrix.domain.status import AnalysisStatus, Verdict
from sentrix.errors import Forbidden
from sentrix.http.identity import Principal
from sentrix.repositories.officials import is_official
from sentrix_report.dal.sql import ROLLUP_GRID_DEG
from sentrix_report.logic.filters import DataFilters, Where, end_of, snap_filters, start_of

# Only finished analyses count anywhere in the report function; every response says so (logic/notes.py).
COUNTED = AnalysisStatus.COMPLETED.value


# What the public map rollup (migrations 0004, 0005, 0007) holds: every counted analysis, every detection
# an expert has not rejected, expired ones included.
ROLLUP_FILTERS = DataFilters(include_expired=True)


def public_rollup_applies(principal: Principal | None, filters: DataFilters, grid_deg: float) -> bool:
    """The anonymous whole-data map (every counted analysis as public cells, every non-rejected detection,
    expired included, no other filter) is kept by triggers in the map_public_* tables; anything else is live."""
    return principal is None and filters == ROLLUP_FILTERS and grid_deg == ROLLUP_GRID_DEG


def public_active_rollup_applies(principal: Principal | None, view: PublicView, grid_deg: float) -> bool:
    """The anonymous active map (the default filters: detections no expert rejected, active at the view's UTC
    midnight, which only a snapped view has) is kept by triggers too (map_public_active, migration 0022)."""
    return principal is None and view.snapped and view.filters == DataFilters() and grid_deg == ROLLUP_GRID_DEG


def map_stats_rollup_applies(view: PublicView) -> bool:
    """Public map-stats (anonymous callers, and the public part of a user's) over everything, verdict
    not_rejected, active or not, are kept by triggers in the map_stats_* tables (migration 0019); validity is
    judged at the view's UTC midnight, which only a snapped view has. Any other filter is live."""
    return view.snapped and view.filters.model_copy(update={"include_expired": False}) == DataFilters()


def public_view(principal: Principal | None, filters: DataFilters, as_of: datetime, grid_deg: float) -> PublicView:
    """What a map answer may be computed from for this caller. Anyone who may see other people's data only as
    aggregates (anonymous callers, users) gets filters snapped to the public grid and to whole days, and the
    day's start as the instant that decides what is active: no bbox, date or instant can then separate one
    report from the others of its public cell and day, however many requests are sent (the adversary of
    tests/security/test_map_inversion.py). Experts and admins see everything exactly, unsnapped."""
    if principal is not None and principal.sees_everything:
        return PublicView(filters, as_of, snapped=False)
    day = as_of.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return PublicView(snap_filters(filters, grid_deg), day, snapped=True)


@dataclass(frozen=True)
class PublicView:
    filters: DataFilters
    as_of: datetime
    snapped: bool

    def describe(self, grid_deg: float) -> dict[str, Any]:
        """How the answer was made safe to publish (empty for experts)."""
        if not self.snapped:
            return {}
        return {"grid_deg": grid_deg, "time": "day", "as_of": self.as_of.isoformat()}


def counted_detections(filters: DataFilters, as_of: datetime, alias: str = "d") -> Where:
    """The detections a read counts: their verdict in the filter's, and (by default) still active."""
    where = Where.empty()
    if filters.verdict is Verdict.NOT_REJECTED:
        # The default, written as the index-friendly inequality (one status out of four).
        where.add(f"{alias}.validation_status <> 'validated_negative'")
    elif filters.verdict is not Verdict.ALL:
        statuses = ", ".join(f"'{s.value}'" for s in filters.verdict.statuses)
        where.add(f"{alias}.validation_status IN ({statuses})")
    if filters.active_only:
        where.add(f"{alias}.expires_at > :d_as_of", d_as_of=as_of)
    return where


def found_detections(filters: DataFilters, as_of: datetime, alias: str = "d") -> Where:
    """The detections a trend or a change between periods counts: what was found, so the verdict filter
    applies and validity does not."""
    return counted_detections(filters.model_copy(update={"include_expired": True}), as_of, alias)


def counted(alias: str = "a") -> Where:
    """Every user's counted analyses (public maps: the audience decides precision, not rows)."""
    return Where.empty().add(f"{alias}.status = '{COUNTED}'")


# An official's territories and every territory below them (sentrix.repositories.officials.scope_codes, in SQL).
OFFICIAL_SCOPE = (
    "WITH RECURSIVE {name} (code) AS (SELECT o.territory_code FROM official_territories AS o "
    "WHERE o.user_id = :{param} UNION ALL "
    "SELECT t.code FROM territories AS t JOIN {name} ON t.parent_code = {name}.code) SELECT {name}.code FROM {name}"
)


def official_covers(user_id: uuid.UUID, code: str) -> bool:
    """Whether `code` is one of the official's territories or lies below one."""
    from sentrix.db.engine import session_scope
    from sentrix_report.dal.sql import scalar

    sql = f"SELECT :code IN ({OFFICIAL_SCOPE.format(name='c_scope', param='c_official')})"
    with session_scope() as session:
        return bool(scalar(session, sql, {"code": code, "c_official": user_id}))


def check_official_territory(principal: Principal, territory: str | None) -> None:
    """An official asking for a territory outside their scope is refused (403): they read their territories only."""
    if territory is not None and is_official(principal) and not official_covers(principal.user_id, territory):
        raise Forbidden(details={"territory": territory}, key="err.territory_outside")


@dataclass(frozen=True)
class Scope:
    """The analyses a caller reads: everyone's (owner_id None), one owner's, or an official's (their own and
    those tagged with their territories or any below: `sentrix.repositories.analyses.visible_to`)."""

    principal: Principal
    owner_id: uuid.UUID | None
    official: bool = False

    @classmethod
    def of(cls, principal: Principal, requested_user: uuid.UUID | None = None, territory: str | None = None) -> Scope:
        """Experts and admins may pick any user (or all); users get their own, and asking for another is 403;
        officials get their territories' analyses and their own, and a `territory` outside them is 403."""
        if principal.sees_everything:
            return cls(principal, requested_user)
        if requested_user is not None and requested_user != principal.user_id:
            raise Forbidden(key="err.others_data")
        if is_official(principal):
            check_official_territory(principal, territory)
            return cls(principal, None, official=True)
        return cls(principal, principal.user_id)

    def describe(self) -> str:
        if self.official:
            return "official territories"
        return "all users" if self.owner_id is None else f"user {self.owner_id}"

    def analyses(self, alias: str = "a") -> Where:
        """Counted analyses of this scope."""
        where = counted(alias)
        if self.official:
            codes = OFFICIAL_SCOPE.format(name="s_scope", param="scope_official")
            where.add(
                f"({alias}.user_id = :scope_official OR {alias}.territory_code IN ({codes}))",
                scope_official=self.principal.user_id,
            )
        elif self.owner_id is not None:
            where.add(f"{alias}.user_id = :scope_owner", scope_owner=self.owner_id)
        return where


@dataclass(frozen=True)
class MapAudience:
    """Who looks at a public map: which analyses they see exactly; the rest only as coarse aggregates."""

    principal: Principal | None

    @property
    def kind(self) -> str:
        if self.principal is None:
            return "anonymous"
        return "all" if self.principal.sees_everything else "own"

    def exact(self, alias: str = "a") -> Where:
        """Condition on analyses the caller may see point by point (their own; all for experts/admins)."""
        if self.principal is None:
            return Where.empty().add("FALSE")
        if self.principal.sees_everything:
            return Where.empty()
        return Where.empty().add(f"{alias}.user_id = :viewer", viewer=self.principal.user_id)


def apply_filters(where: Where, filters: DataFilters, alias: str = "a") -> Where:
    """Add the analysis-level filters (dates, risk, GPS, bbox) to `where`."""
    low, high = start_of(filters.date_from), end_of(filters.date_to)
    if low is not None:
        where.add(f"{alias}.created_at >= :f_from", f_from=low)
    if high is not None:
        where.add(f"{alias}.created_at < :f_to", f_to=high)
    if filters.risk_level is not None:
        where.add(f"{alias}.risk_level = CAST(:f_risk AS risk_level)", f_risk=filters.risk_level.value)
    if filters.has_gps is True:
        where.add(f"{alias}.location IS NOT NULL")
    elif filters.has_gps is False:
        where.add(f"{alias}.location IS NULL")
    if filters.territory is not None:
        # The code and every territory below it (the tag is the smallest territory: docs/territories.md).
        where.add(
            f"{alias}.territory_code IN (WITH RECURSIVE f_tree (code) AS ("  # noqa: S608 - alias from code, value bound
            "SELECT t.code FROM territories AS t WHERE t.code = :f_territory "
            "UNION ALL SELECT t.code FROM territories AS t JOIN f_tree ON t.parent_code = f_tree.code) "
            "SELECT f_tree.code FROM f_tree)",
            f_territory=filters.territory,
        )
    box = filters.box
    if box is not None:
        where.add(
            f"{alias}.location && ST_MakeEnvelope(:f_w, :f_s, :f_e, :f_n, 4326)",
            f_w=box.west,
            f_s=box.south,
            f_e=box.east,
            f_n=box.north,
        )
    return where
