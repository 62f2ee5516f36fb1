"""Dashboard statistics: each function is one statement over the caller's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import one, rows
from sentrix_report.logic.filters import Where

ZONE_DEG = 0.001

_OVERVIEW = """
WITH a AS MATERIALIZED (
    SELECT a.id, a.user_id, a.location, a.created_at FROM analyses a WHERE {where}
),
d AS MATERIALIZED (
    SELECT d.risk_level, d.created_at, d.expires_at FROM detections d JOIN a ON a.id = d.analysis_id
    WHERE {detections}
),
-- What was found in each window (the verdict filter, not validity): a change compares findings.
found AS (
    SELECT d.risk_level, d.created_at FROM detections d JOIN a ON a.id = d.analysis_id WHERE {found}
),
w AS (
    SELECT CAST(:as_of AS timestamptz) AS now_,
           CAST(:as_of AS timestamptz) - make_interval(days => :window) AS cur_start,
           CAST(:as_of AS timestamptz) - make_interval(days => 2 * :window) AS prev_start
)
SELECT
    (SELECT count(*) FROM a) AS total_analyses,
    (SELECT count(*) FROM a, w WHERE created_at >= cur_start AND created_at < now_) AS analyses_cur,
    (SELECT count(*) FROM a, w WHERE created_at >= prev_start AND created_at < cur_start) AS analyses_prev,
    (SELECT count(*) FROM d) AS total_detections,
    (SELECT count(*) FROM d, w WHERE expires_at > now_) AS active_detections,
    (SELECT count(*) FROM d WHERE risk_level = 'ALTO') AS high_risk_detections,
    (SELECT count(*) FROM d, w WHERE risk_level = 'ALTO' AND expires_at > now_) AS active_high_risk_detections,
    (SELECT count(*) FROM found, w WHERE risk_level = 'ALTO' AND created_at >= cur_start AND created_at < now_)
        AS high_risk_cur,
    (SELECT count(*) FROM found, w
        WHERE risk_level = 'ALTO' AND created_at >= prev_start AND created_at < cur_start) AS high_risk_prev,
    (SELECT count(DISTINCT (floor(ST_X(location) / :zone), floor(ST_Y(location) / :zone)))
        FROM a WHERE location IS NOT NULL) AS monitored_locations,
    (SELECT count(DISTINCT (floor(ST_X(location) / :zone), floor(ST_Y(location) / :zone)))
        FROM a, w WHERE location IS NOT NULL AND created_at >= cur_start AND created_at < now_) AS locations_cur,
    (SELECT count(DISTINCT (floor(ST_X(location) / :zone), floor(ST_Y(location) / :zone)))
        FROM a, w WHERE location IS NOT NULL AND created_at >= prev_start AND created_at < cur_start)
        AS locations_prev,
    (SELECT count(DISTINCT user_id) FROM a, w WHERE created_at >= cur_start AND created_at < now_) AS active_users,
    (SELECT count(DISTINCT user_id) FROM a, w WHERE created_at >= prev_start AND created_at < cur_start)
        AS active_users_prev
"""

_RISK = """
SELECT level, count(a.id) AS value
FROM (VALUES ('ALTO', 1), ('MEDIO', 2), ('BAJO', 3), ('MINIMO', 4)) AS l (level, ord)
LEFT JOIN analyses a ON a.risk_level::text = l.level AND {where}
GROUP BY level, ord
ORDER BY ord
"""

_MONTHLY = """
WITH months AS (
    SELECT generate_series(date_trunc('month', CAST(:as_of AS timestamptz)) - make_interval(months => :months - 1),
                           date_trunc('month', CAST(:as_of AS timestamptz)), interval '1 month') AS month
),
a AS (
    SELECT date_trunc('month', a.created_at) AS month, count(*) AS analyses
    FROM analyses a
    WHERE {where} AND a.created_at >= (SELECT min(month) FROM months)
    GROUP BY 1
),
-- What was found each month (a historical series: validity does not apply, an expert's rejection does).
d AS (
    SELECT date_trunc('month', a.created_at) AS month, count(*) AS detections,
           count(*) FILTER (WHERE d.risk_level = 'ALTO') AS high_risk
    FROM detections d JOIN analyses a ON a.id = d.analysis_id
    WHERE {where} AND a.created_at >= (SELECT min(month) FROM months)
      AND d.validation_status <> 'validated_negative'
    GROUP BY 1
)
SELECT to_char(m.month, 'YYYY-MM') AS month, extract(month FROM m.month)::int AS month_number,
       coalesce(a.analyses, 0)::int AS count, coalesce(d.detections, 0)::int AS detections,
       coalesce(d.high_risk, 0)::int AS high_risk_detections
FROM months m LEFT JOIN a USING (month) LEFT JOIN d USING (month)
ORDER BY m.month
"""

_RECENT = """
(SELECT 'analysis' AS kind, a.id AS id, a.id AS analysis_id, coalesce(a.completed_at, a.created_at) AS at,
        a.risk_level::text AS risk_level, a.total_detections AS detections, NULL::text AS validation_status,
        NULL::text AS breeding_site_type, ST_Y(a.location) AS latitude, ST_X(a.location) AS longitude
 FROM analyses a WHERE {where}
 ORDER BY coalesce(a.completed_at, a.created_at) DESC LIMIT :limit)
UNION ALL
(SELECT 'validation', d.id, d.analysis_id, d.validated_at, d.risk_level::text, NULL, d.validation_status::text,
        d.breeding_site_type::text, ST_Y(d.location), ST_X(d.location)
 FROM detections d JOIN analyses a ON a.id = d.analysis_id
 WHERE {where} AND d.validated_at IS NOT NULL
 ORDER BY d.validated_at DESC LIMIT :limit)
ORDER BY at DESC, kind
LIMIT :limit
"""

_VALIDATION = """
WITH d AS MATERIALIZED (
    SELECT d.validation_status, d.validated_at, d.validated_by, d.created_at
    FROM detections d JOIN analyses a ON a.id = d.analysis_id
    WHERE {where}
),
w AS (
    SELECT CAST(:as_of AS timestamptz) AS now_, date_trunc('day', CAST(:as_of AS timestamptz)) AS today
)
SELECT
    (SELECT count(*) FROM d) AS total_detections,
    (SELECT count(*) FROM d WHERE validation_status = 'pending') AS pending,
    (SELECT count(*) FROM d WHERE validation_status = 'requires_review') AS requires_review,
    (SELECT count(*) FROM d WHERE validation_status = 'validated_positive') AS validated_positive,
    (SELECT count(*) FROM d WHERE validation_status = 'validated_negative') AS validated_negative,
    (SELECT count(*) FROM d, w WHERE validated_at >= today AND validated_at < now_ + interval '1 second')
        AS validated_today,
    (SELECT count(*) FROM d, w WHERE validated_at >= now_ - interval '7 days') AS validated_last_7_days,
    (SELECT count(*) FROM d, w WHERE validated_at >= now_ - interval '30 days') AS validated_last_30_days,
    (SELECT min(created_at) FROM d WHERE validation_status IN ('pending', 'requires_review')) AS oldest_pending,
    (SELECT round((extract(epoch FROM avg(validated_at - created_at)) / 3600)::numeric, 2)
        FROM d, w WHERE validated_at >= now_ - interval '30 days') AS mean_hours_to_validation,
    (SELECT round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY validated_at - created_at))
                   / 3600)::numeric, 2)
        FROM d, w WHERE validated_at >= now_ - interval '30 days') AS median_hours_to_validation,
    (SELECT json_agg(json_build_object('date', day::date, 'validated', coalesce(c.n, 0)) ORDER BY day)
        FROM w
        CROSS JOIN generate_series(w.today - interval '13 days', w.today, interval '1 day') AS day
        LEFT JOIN (SELECT date_trunc('day', validated_at) AS vday, count(*) AS n FROM d, w
                   WHERE validated_at >= w.today - interval '13 days' GROUP BY 1) AS c ON c.vday = day) AS throughput
"""

_VALIDATORS = """
SELECT u.id::text AS user_id, coalesce(u.display_name, u.email) AS name, u.role::text AS role, count(*) AS validated
FROM detections d
JOIN analyses a ON a.id = d.analysis_id
JOIN users u ON u.id = d.validated_by
WHERE {where} AND d.validated_at >= CAST(:as_of AS timestamptz) - interval '30 days'
GROUP BY u.id, u.display_name, u.email, u.role
ORDER BY validated DESC, name
LIMIT 5
"""


def overview(
    session: Session, *, where: Where, detections: Where, found: Where, as_of: datetime, window_days: int
) -> dict[str, Any]:
    """Totals over the analyses `where` selects; detection totals count the `detections` that count, changes
    between windows the `found` ones (the verdict filter without validity)."""
    params = {**where.params, **detections.params, **found.params, "as_of": as_of, "window": window_days}
    sql = _OVERVIEW.format(where=where.sql(), detections=detections.sql(), found=found.sql())
    return dict(one(session, sql, params | {"zone": ZONE_DEG}))


def risk_distribution(session: Session, *, where: Where) -> list[dict[str, Any]]:
    return [dict(r) for r in rows(session, _RISK.format(where=where.sql()), where.params)]


def monthly(session: Session, *, where: Where, as_of: datetime, months: int) -> list[dict[str, Any]]:
    params = {**where.params, "as_of": as_of, "months": months}
    return [dict(r) for r in rows(session, _MONTHLY.format(where=where.sql()), params)]


def recent(session: Session, *, where: Where, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in rows(session, _RECENT.format(where=where.sql()), {**where.params, "limit": limit})]


def validation(session: Session, *, where: Where, as_of: datetime) -> dict[str, Any]:
    return dict(one(session, _VALIDATION.format(where=where.sql()), {**where.params, "as_of": as_of}))


def validators(session: Session, *, where: Where, as_of: datetime) -> list[dict[str, Any]]:
    return [dict(r) for r in rows(session, _VALIDATORS.format(where=where.sql()), {**where.params, "as_of": as_of})]


# Per territory directly below `g_parent` (the roots when it is null): the analyses `where` selects that are
# tagged with it or any territory below it, and their counted detections (docs/territories.md).
_BY_TERRITORY = """
WITH RECURSIVE tree (root, code) AS (
    SELECT t.code, t.code FROM territories AS t
    WHERE (CAST(:g_parent AS varchar) IS NULL AND t.parent_code IS NULL) OR t.parent_code = CAST(:g_parent AS varchar)
    UNION ALL
    SELECT tree.root, t.code FROM territories AS t JOIN tree ON t.parent_code = tree.code
)
SELECT r.code, r.name, count(a.id) AS analyses,
       coalesce(sum((SELECT count(*) FROM detections AS d WHERE d.analysis_id = a.id AND {detections})), 0)
           AS detections
FROM territories AS r
JOIN tree ON tree.root = r.code
LEFT JOIN analyses AS a ON a.territory_code = tree.code AND {where}
GROUP BY r.code, r.name
ORDER BY r.code
"""


def by_territory(session: Session, *, where: Where, detections: Where, parent: str | None) -> list[dict[str, Any]]:
    params = {**where.params, **detections.params, "g_parent": parent}
    sql = _BY_TERRITORY.format(where=where.sql(), detections=detections.sql())
    return [dict(r) for r in rows(session, sql, params)]
