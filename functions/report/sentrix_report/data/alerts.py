"""Reads of the cluster alerts (GET /alerts, /alerts/{id}, /alerts/levels); docs/alerts.md."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from sentrix_report.data.sql import one, rows
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
