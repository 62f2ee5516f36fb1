"""Reads of the cluster alerts (GET /alerts, /alerts/{id}, /alerts/levels); docs/alerts.md."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from sentrix_report.dal.sql import one, rows
from sentrix_report.logic.filters import Where

_ALERT_COLUMNS = """a.id, a.status, a.level, a.territory_code, a.site_count, ST_Y(a.location) AS latitude,
    ST_X(a.location) AS longitude, a.opened_at, a.last_growth_at, a.closed_at, a.closed_reason, a.merged_into,
    a.split_from, a.updated_at"""


_SITES = (
    "SELECT m.site_id, m.joined_at, m.left_at, m.via, s.status::text AS status, s.family::text AS family, "
    "s.confirmed, s.territory_code, ST_Y(s.location) AS latitude, ST_X(s.location) AS longitude, "
    "s.first_report_at, s.last_report_at, ({visible}) AS visible "
    "FROM alert_sites m JOIN sites s ON s.id = m.site_id WHERE m.alert_id = :alert_id "
    "ORDER BY m.left_at IS NOT NULL, m.joined_at, m.site_id"
)


def page(session: Session, where: Where, *, limit: int, offset: int) -> tuple[Sequence[RowMapping], int]:
    """A page of alerts (open first, then the most recently changed) and the total matching."""
    sql = where.sql()
    total = one(session, f"SELECT count(*)::int AS n FROM alerts a WHERE {sql}", where.params)["n"]  # noqa: S608
    found = rows(
        session,
        f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE {sql} "  # noqa: S608 - fragments from code, values bound
        "ORDER BY a.status = 'closed', a.updated_at DESC, a.id LIMIT :limit OFFSET :offset",
        {**where.params, "limit": limit, "offset": offset},
    )
    return found, total


def alert(session: Session, alert_id: uuid.UUID, where: Where) -> RowMapping | None:
    found = rows(
        session,
        f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE a.id = :alert_id AND {where.sql()}",  # noqa: S608
        {**where.params, "alert_id": alert_id},
    )
    return found[0] if found else None


def sites(session: Session, alert_id: uuid.UUID, site_where: Where) -> Sequence[RowMapping]:
    """The alert's sites (current first, then those that left), each with whether the caller may see it."""
    sql = _SITES.format(visible=site_where.sql())
    return rows(session, sql, {**site_where.params, "alert_id": alert_id})


def events(session: Session, alert_id: uuid.UUID) -> Sequence[RowMapping]:
    return rows(
        session,
        "SELECT id, at, kind, details FROM alert_events WHERE alert_id = :alert_id ORDER BY at, id",
        {"alert_id": alert_id},
    )


def levels(session: Session, where: Where, *, limit: int, offset: int) -> tuple[Sequence[RowMapping], int]:
    """Territories with their current level (green when never recorded) and since when."""
    inner = (
        "SELECT t.code, t.name, t.parent_code, t.depth, coalesce(c.new_level, 'green') AS level, "
        "c.changed_at AS since FROM territories t LEFT JOIN LATERAL ("
        " SELECT new_level, changed_at FROM alert_level_changes x WHERE x.territory_code = t.code "
        " ORDER BY x.id DESC LIMIT 1) c ON TRUE"
    )
    sql = where.sql()
    params: dict[str, Any] = dict(where.params)
    total = one(session, f"SELECT count(*)::int AS n FROM ({inner}) l WHERE {sql}", params)["n"]  # noqa: S608
    found = rows(
        session,
        f"SELECT * FROM ({inner}) l WHERE {sql} "  # noqa: S608 - fragments from code, values bound
        "ORDER BY l.depth, l.code LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return found, total


# Each territory of `codes` whose level at `end` was not green (its last recorded change before `end`), and the
# alerts open at `end` with a site, a member at `end`, in the territory or below it (a territory takes its worst
# open alert counting its own and its descendants' sites: docs/alerts.md). The level history is append-only, so
# the answer for a week that is over never changes.
_LEVELS_AT = """
WITH RECURSIVE last AS (
    SELECT DISTINCT ON (c.territory_code) c.territory_code AS code, c.new_level AS level
    FROM alert_level_changes AS c
    WHERE c.territory_code = ANY(CAST(:codes AS varchar[])) AND c.changed_at < :end
    ORDER BY c.territory_code, c.id DESC
), tree (root, code) AS (
    SELECT l.code, l.code FROM last AS l WHERE l.level <> 'green'
    UNION
    SELECT tree.root, t.code FROM territories AS t JOIN tree ON t.parent_code = tree.code
)
SELECT l.code, l.level,
    (SELECT count(DISTINCT a.id) FROM alerts AS a
       JOIN alert_sites AS m ON m.alert_id = a.id
       JOIN sites AS s ON s.id = m.site_id
      WHERE a.opened_at < :end AND (a.closed_at IS NULL OR a.closed_at >= :end)
        AND m.joined_at < :end AND (m.left_at IS NULL OR m.left_at >= :end)
        AND s.territory_code IN (SELECT tree.code FROM tree WHERE tree.root = l.code)) AS clusters
FROM last AS l WHERE l.level <> 'green' ORDER BY l.code
"""


def levels_at(session: Session, codes: Sequence[str], end: Any) -> list[tuple[str, str, int]]:
    """(territory code, level, open alerts) of each territory of `codes` not green at `end`."""
    found = rows(session, _LEVELS_AT, {"codes": list(codes), "end": end})
    return [(r["code"], r["level"], r["clusters"]) for r in found]
