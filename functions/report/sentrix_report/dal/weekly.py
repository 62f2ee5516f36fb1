"""Epidemiological-week figures of a territory (GET /reports/statistics/weekly, the weekly bulletin): reports,
new, confirmed, closed, reopened and open sites per week, from `analyses`, `sites`, the sites' timeline
(`site_actions`) and the members' verdicts (docs/report.md, *Epidemiological weeks*).

Weeks are given as their first local day (a Sunday) and the caller's time zone: a week is [Sunday 00:00,
next Sunday 00:00) of that zone, converted in SQL (`timestamp AT TIME ZONE`), so summer time moves nothing.
Every statement reads only what happened before the last week's end, so a past week's figures stay the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from sentrix.domain import sites as rules
from sentrix_report.dal.remediation import ACTIVE
from sentrix_report.dal.sql import one, rows

# The codes of `:w_codes` and every territory below them.
_TREE = """
WITH RECURSIVE tree (code) AS (
    SELECT t.code FROM territories AS t WHERE t.code = ANY(CAST(:w_codes AS varchar[]))
    UNION
    SELECT t.code FROM territories AS t JOIN tree ON t.parent_code = tree.code
)
SELECT code FROM tree ORDER BY code
"""

_WEEKS = """
weeks AS (
    SELECT n, (CAST(:w_first AS timestamp) + n * interval '7 days') AT TIME ZONE :w_tz AS ws,
              (CAST(:w_first AS timestamp) + (n + 1) * interval '7 days') AT TIME ZONE :w_tz AS we
    FROM generate_series(0, :w_count - 1) AS n
),
bounds AS (SELECT min(ws) AS first_, max(we) AS end_ FROM weeks)
"""

# `{sites}` selects the sites (alias s), `{analyses}` the analyses (alias a) of the territory.
_FIGURES = """
WITH {weeks},
s AS MATERIALIZED (SELECT s.id, s.first_report_at FROM sites AS s WHERE {sites}),
act AS MATERIALIZED (
    SELECT sa.site_id, sa.action::text AS action, sa.at, sa.to_status::text AS to_status
    FROM site_actions AS sa JOIN s ON s.id = sa.site_id, bounds
    WHERE sa.at < bounds.end_
),
-- A site is confirmed when an expert first confirmed one of its members (validated_positive, not since rejected).
conf AS MATERIALIZED (
    SELECT d.site_id, min(d.validated_at) AS at
    FROM detections AS d JOIN s ON s.id = d.site_id
    WHERE d.validation_status = 'validated_positive' AND d.validated_at IS NOT NULL
    GROUP BY d.site_id
),
a AS MATERIALIZED (
    SELECT a.created_at FROM analyses AS a, bounds
    WHERE a.status = 'completed' AND {analyses} AND a.created_at >= bounds.first_ AND a.created_at < bounds.end_
)
SELECT w.n,
    (SELECT count(*) FROM a WHERE a.created_at >= w.ws AND a.created_at < w.we)::int AS reports,
    (SELECT count(*) FROM s WHERE s.first_report_at >= w.ws AND s.first_report_at < w.we)::int AS new_sites,
    (SELECT count(*) FROM conf WHERE conf.at >= w.ws AND conf.at < w.we)::int AS confirmed_sites,
    (SELECT count(*) FROM act WHERE act.action = 'close' AND act.at >= w.ws AND act.at < w.we)::int AS closed,
    (SELECT count(*) FROM act WHERE act.action = 'reopen' AND act.at >= w.ws AND act.at < w.we)::int AS reopened,
    (SELECT count(*) FROM (
        SELECT DISTINCT ON (act.site_id) act.to_status FROM act WHERE act.at < w.we ORDER BY act.site_id, act.at DESC
     ) AS last_ WHERE last_.to_status IN {active})::int AS open_at_end
FROM weeks AS w
ORDER BY w.n
"""


def territory_codes(session: Session, codes: Sequence[str]) -> list[str]:
    """`codes` and every territory below them (unknown codes give nothing)."""
    return [r["code"] for r in rows(session, _TREE, {"w_codes": list(codes)})]


def territory_name(session: Session, code: str) -> str | None:
    found = rows(session, "SELECT name FROM territories WHERE code = :code", {"code": code})
    return found[0]["name"] if found else None


def _week_params(first: date, count: int, tz: str) -> dict[str, Any]:
    return {"w_first": first.isoformat(), "w_count": count, "w_tz": tz}


def _scoped(codes: list[str] | None) -> tuple[str, str, dict[str, Any]]:
    """The sites and analyses conditions of a territory tree (`None`: everything, outside territories too)."""
    if codes is None:
        return "TRUE", "TRUE", {}
    return (
        "s.territory_code = ANY(CAST(:w_tree AS varchar[]))",
        "a.territory_code = ANY(CAST(:w_tree AS varchar[]))",
        {"w_tree": codes},
    )


def figures(session: Session, *, codes: list[str] | None, first: date, count: int, tz: str) -> list[dict[str, Any]]:
    """One row per week, oldest first: reports, new_sites, confirmed_sites, closed, reopened, open_at_end."""
    sites, analyses = _scoped(codes)[:2]
    sql = _FIGURES.format(weeks=_WEEKS, sites=sites, analyses=analyses, active=ACTIVE)
    return [dict(r) for r in rows(session, sql, {**_scoped(codes)[2], **_week_params(first, count, tz)})]


def _priority_sql() -> str:
    """sentrix.domain.sites.priority as SQL over the `at_end` columns (the same constants): the score a site had
    at the week's end."""
    family = " ".join(f"WHEN '{f.value}' THEN {p}" for f, p in rules.FAMILY_POINTS.items())
    return f"""(CASE family {family} ELSE 0 END
        + CASE WHEN confirmed THEN {rules.CONFIRMED_POINTS} ELSE 0 END
        + LEAST(recurrences * {rules.RECURRENCE_POINTS}, {rules.RECURRENCE_POINTS_MAX})
        + CASE WHEN last_report_at >= we - interval '{rules.RECENT_DAYS} days' THEN {rules.RECENT_POINTS}
               WHEN last_report_at >= we - interval '{rules.LATELY_DAYS} days' THEN {rules.LATELY_POINTS} ELSE 0 END
        + LEAST(GREATEST(reporters - 1, 0) * {rules.REPORTER_POINTS}, {rules.REPORTER_POINTS_MAX}))"""


# The week `:w_first` (one week) of a territory: its sites open at the end with their state then, its closes
# and reopenings, and the canonical lines of the fingerprint (docs/report.md, *Weekly bulletin*).
_WEEK = """
WITH {weeks},
w AS (SELECT ws, we FROM weeks WHERE n = :w_n),
s AS MATERIALIZED (
    SELECT s.id, s.family::text AS family, s.territory_code, s.first_report_at, ST_Y(s.location) AS latitude,
           ST_X(s.location) AS longitude
    FROM sites AS s, w WHERE {sites} AND s.first_report_at < w.we
),
act AS MATERIALIZED (
    SELECT sa.id, sa.site_id, sa.action::text AS action, sa.at, sa.to_status::text AS to_status, sa.cause,
           sa.team, sa.override
    FROM site_actions AS sa JOIN s ON s.id = sa.site_id, w
    WHERE sa.at < w.we
),
members AS MATERIALIZED (
    SELECT d.id, d.site_id, d.created_at, d.validation_status::text AS validation_status, d.validated_at,
           a.user_id
    FROM detections AS d JOIN s ON s.id = d.site_id JOIN analyses AS a ON a.id = d.analysis_id, w
    WHERE d.created_at < w.we AND d.validation_status <> 'validated_negative'
),
at_end AS (
    SELECT s.*, w.we, last_.to_status AS status,
           EXISTS (SELECT 1 FROM members AS m WHERE m.site_id = s.id AND m.validation_status = 'validated_positive'
                   AND m.validated_at < w.we) AS confirmed,
           (SELECT count(*) FROM act WHERE act.site_id = s.id AND act.action = 'reopen'
                AND act.cause = 'recurrence')::int AS recurrences,
           (SELECT max(m.created_at) FROM members AS m WHERE m.site_id = s.id) AS last_report_at,
           (SELECT count(DISTINCT m.user_id) FROM members AS m WHERE m.site_id = s.id)::int AS reporters
    FROM s CROSS JOIN w
    JOIN LATERAL (SELECT act.to_status FROM act WHERE act.site_id = s.id ORDER BY act.at DESC LIMIT 1) AS last_
        ON TRUE
)
"""

_TOP = """{week}
SELECT id, family, territory_code, first_report_at, latitude, longitude, status, confirmed, recurrences,
       last_report_at, reporters, {priority} AS score, count(*) OVER ()::int AS open_sites
FROM at_end WHERE status IN {active}
ORDER BY score DESC, last_report_at DESC NULLS LAST, id
LIMIT :w_limit
"""

_EVENTS = """{week}
SELECT act.action, act.at, act.cause, act.team, act.override, act.site_id, s.family, s.territory_code,
       s.first_report_at, extract(epoch FROM act.at - s.first_report_at) / 86400.0 AS days_since_first_report
FROM act JOIN s ON s.id = act.site_id, w
WHERE act.action IN ('close', 'reopen') AND act.at >= w.ws
ORDER BY act.at, act.site_id
"""

_TIME = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""

# The canonical text: one line per site known by the week's end, one per timeline entry before it, one per
# member detection before it, one per counted analysis of the five weeks; each kind sorted by id.
_FINGERPRINT = """{week},
a AS (
    SELECT a.id, a.created_at FROM analyses AS a, bounds
    WHERE a.status = 'completed' AND {analyses} AND a.created_at >= bounds.first_ AND a.created_at < bounds.end_
),
lines AS (
    SELECT 0 AS kind, s.id::text AS k, concat_ws('|', 'S', s.id, s.family, coalesce(s.territory_code, ''),
           {first_report}, s.latitude, s.longitude) AS line FROM s
    UNION ALL
    SELECT 1, act.id::text, concat_ws('|', 'T', act.id, act.site_id, act.action, {at}, act.to_status,
           coalesce(act.cause, '')) FROM act
    UNION ALL
    SELECT 2, m.id::text, concat_ws('|', 'M', m.id, m.site_id, {created}, m.validation_status,
           coalesce({validated}, ''), m.user_id) FROM members AS m
    UNION ALL
    SELECT 3, a.id::text, concat_ws('|', 'A', a.id, {analysis_created}) FROM a
)
SELECT encode(sha256(convert_to(coalesce(string_agg(line, E'\\n' ORDER BY kind, k COLLATE "C"), ''), 'UTF8')),
              'hex') AS sha256,
       (SELECT count(*) FROM s)::int AS sites, (SELECT count(*) FROM act)::int AS actions,
       (SELECT count(*) FROM members)::int AS detections, (SELECT count(*) FROM a)::int AS analyses
FROM lines
"""


def top_sites(session: Session, *, codes: list[str] | None, week: date, tz: str, limit: int) -> Sequence[RowMapping]:
    """The sites still needing work at the end of `week` (status from the timeline), highest priority then (the
    work-list score as it stood at the week's end) first; `open_sites` counts them all."""
    sites, _, params = _scoped(codes)
    sql = _TOP.format(week=_WEEK.format(weeks=_WEEKS, sites=sites), active=ACTIVE, priority=_priority_sql())
    return rows(session, sql, {**params, **_week_params(week, 1, tz), "w_n": 0, "w_limit": limit})


def events(session: Session, *, codes: list[str] | None, week: date, tz: str) -> Sequence[RowMapping]:
    """The closes and reopenings of `week`, oldest first."""
    sites, _, params = _scoped(codes)
    sql = _EVENTS.format(week=_WEEK.format(weeks=_WEEKS, sites=sites))
    return rows(session, sql, {**params, **_week_params(week, 1, tz), "w_n": 0})


def fingerprint(session: Session, *, codes: list[str] | None, first: date, count: int, tz: str) -> dict[str, Any]:
    """SHA-256 of the canonical text of what the bulletin of the last of `count` weeks from `first` reads."""
    sites, analyses, params = _scoped(codes)
    sql = _FINGERPRINT.format(
        week=_WEEK.format(weeks=_WEEKS, sites=sites),
        analyses=analyses,
        first_report=_TIME.format("s.first_report_at"),
        at=_TIME.format("act.at"),
        created=_TIME.format("m.created_at"),
        validated=_TIME.format("m.validated_at"),
        analysis_created=_TIME.format("a.created_at"),
    )
    return dict(one(session, sql, {**params, **_week_params(first, count, tz), "w_n": count - 1}))
