"""Heatmap points in one statement: exact per-type points for what the caller may see, cells for the rest."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import ROLLUP_GRID_DEG, intensity, one, own
from sentrix_report.logic.filters import Where

_SQL = """
WITH exact_analyses AS (
    SELECT a.id, a.user_id, a.location, a.created_at, a.risk_level
    FROM analyses a
    WHERE {where} AND a.location IS NOT NULL AND ({exact})
      AND EXISTS (SELECT 1 FROM detections d WHERE d.analysis_id = a.id AND {detections})
    ORDER BY a.created_at DESC, a.id
    LIMIT :limit
),
-- One point per analysis and breeding-site type with the highest risk among that type's counted detections
-- (min() over the risk_level enum, declared ALTO first). An analysis without counted detections is no heat.
exact_groups AS (
    SELECT a.id, a.user_id, a.location, a.created_at, d.breeding_site_type AS site_type, count(d.id) AS n,
           count(*) FILTER (WHERE d.risk_level = 'ALTO') AS high_n, min(d.risk_level) AS risk
    FROM exact_analyses a
    JOIN detections d ON d.analysis_id = a.id AND {detections}
    GROUP BY a.id, a.user_id, a.location, a.created_at, d.breeding_site_type
),
{public}points AS (
    SELECT false AS aggregated, created_at AS ts, site_type::text AS site_type, risk::text AS risk_level,
           n::int AS n, high_n::int AS high_n, json_build_object(
               'latitude', ST_Y(location), 'longitude', ST_X(location), 'intensity', {intensity},
               'riskLevel', risk, 'detectionCount', n, 'breedingSiteType', site_type,
               'timestamp', created_at, 'isOwn', {own},
               'aggregated', false, 'analysisId', id) AS j
    FROM exact_groups
    UNION ALL
    SELECT true, last_seen, site_type::text, risk::text, n, high_n, json_build_object(
               'latitude', round(((cy + 0.5) * CAST(:grid AS float8))::numeric, 6),
               'longitude', round(((cx + 0.5) * CAST(:grid AS float8))::numeric, 6),
               'intensity', {intensity}, 'riskLevel', risk, 'detectionCount', n, 'cellReportCount', reports,
               'breedingSiteType', site_type, 'timestamp', date_trunc('day', last_seen), 'isOwn', false,
               'aggregated', true, 'precisionDeg', CAST(:grid AS float8))
    FROM public_cells
)
SELECT
    coalesce((SELECT json_agg(j ORDER BY aggregated, ts DESC, site_type) FROM points), '[]') AS points,
    count(*) AS total_locations,
    count(*) FILTER (WHERE risk_level = 'ALTO') AS high_risk_count,
    count(*) FILTER (WHERE risk_level = 'MEDIO') AS medium_risk_count,
    count(*) FILTER (WHERE risk_level IN ('BAJO', 'MINIMO')) AS low_risk_count,
    coalesce(sum(n), 0) AS total_detections,
    coalesce(sum(high_n), 0) AS high_risk_detections,
    (SELECT coalesce(json_object_agg(t, c), '{{}}') FROM (
        SELECT coalesce(site_type, 'none') AS t, count(*) AS c FROM points GROUP BY 1 ORDER BY 1) AS x
    ) AS breeding_type_counts,
    (SELECT cells FROM suppressed) AS suppressed_cells
FROM points
"""


_LIVE_PUBLIC = """
-- Public points: per grid cell and type, drawn at the cell centre whatever the reports inside it: no id,
-- no user, no exact coordinate, the day rather than the instant. Cells are computed once per analysis
-- (no geometry is read per detection); for an audience that sees everything exactly, or nothing, the
-- constant condition empties a branch outright.
public_analyses AS MATERIALIZED (
    SELECT a.id, a.user_id, a.created_at, a.risk_level, a.total_detections,
           floor(ST_X(a.location) / CAST(:grid AS float8)) AS cx, floor(ST_Y(a.location) / CAST(:grid AS float8)) AS cy
    FROM analyses a
    WHERE {where} AND a.location IS NOT NULL AND NOT ({exact})
),
public_types AS MATERIALIZED (
    SELECT a.cx, a.cy, d.breeding_site_type AS site_type, count(*)::int AS n,
           count(*) FILTER (WHERE d.risk_level = 'ALTO')::int AS high_n, min(d.risk_level) AS risk,
           max(a.created_at) AS last_seen
    FROM detections d
    JOIN public_analyses a ON a.id = d.analysis_id
    WHERE {detections}
    GROUP BY 1, 2, 3
),
public_reports AS (
    SELECT cx, cy, count(*)::int AS reports FROM public_analyses GROUP BY 1, 2
),
-- The people behind each cell's counted detections (k-anonymity).
public_people AS (
    SELECT a.cx, a.cy, count(DISTINCT a.user_id)::int AS reporters
    FROM detections d JOIN public_analyses a ON a.id = d.analysis_id
    WHERE {detections}
    GROUP BY 1, 2
),
-- k-anonymity: a cell whose analyses come from fewer than min_reporters people is not shown.
public_cells AS (
    SELECT t.cx, t.cy, t.site_type, t.n, t.high_n, t.risk, t.last_seen, r.reports
    FROM public_types t JOIN public_reports r USING (cx, cy) JOIN public_people k USING (cx, cy)
    WHERE k.reporters >= :min_reporters
    ORDER BY t.n DESC, t.cx, t.cy, t.site_type
    LIMIT :limit
),
suppressed AS (
    SELECT count(DISTINCT (t.cx, t.cy))::int AS cells
    FROM public_types t JOIN public_people k USING (cx, cy) WHERE k.reporters < :min_reporters
),
"""

# The same cells from the rollup the triggers of migration 0004 maintain (map_public_points, one row per
# cell and type with the detection count, highest risk and newest time; map_public_cells, analyses per
# cell; map_public_people, 0022, the people per cell, counted once per cell for k-anonymity): a few thousand
# rows instead of an aggregation of every detection.
_ROLLUP_PUBLIC = """whole_people AS MATERIALIZED (
    SELECT cx, cy, count(*)::int AS reporters FROM map_public_people WHERE n > 0 GROUP BY cx, cy
),
public_cells AS (
    SELECT p.cx, p.cy, p.site_type, p.n, p.high_n, p.risk, p.last_seen, c.reports
    FROM (
        SELECT mp.cx, mp.cy, mp.site_type, mp.n, mp.high_n, mp.detection_risk AS risk, mp.last_seen
        FROM map_public_points mp JOIN whole_people k USING (cx, cy)
        WHERE mp.n > 0 AND k.reporters >= :min_reporters
        ORDER BY mp.n DESC, mp.cx, mp.cy, mp.site_type
        LIMIT :limit
    ) AS p
    JOIN map_public_cells c USING (cx, cy)
),
suppressed AS (
    SELECT count(DISTINCT (mp.cx, mp.cy))::int AS cells
    FROM map_public_points mp JOIN whole_people k USING (cx, cy) WHERE mp.n > 0 AND k.reporters < :min_reporters
),
"""

# The active map's cells from the rollup (map_public_active, migration 0022: per cell, type and the UTC day the
# detections stop being active; map_public_people: each person's last active day in the cell): the days from
# :active_day on are the detections active at that midnight (the public view's instant).
_ROLLUP_ACTIVE = """active_people AS MATERIALIZED (
    SELECT cx, cy, count(*)::int AS reporters FROM map_public_people
    WHERE n > 0 AND last_day >= :active_day
    GROUP BY cx, cy
),
active_types AS MATERIALIZED (
    SELECT cx, cy, site_type, sum(n)::int AS n, sum(high_n)::int AS high_n, min(risk) AS risk,
           max(last_seen) AS last_seen
    FROM map_public_active WHERE day >= :active_day
    GROUP BY cx, cy, type_key, site_type
),
public_cells AS (
    SELECT t.cx, t.cy, t.site_type, t.n, t.high_n, t.risk, t.last_seen, c.reports
    FROM active_types t JOIN active_people k USING (cx, cy) JOIN map_public_cells c USING (cx, cy)
    WHERE k.reporters >= :min_reporters
    ORDER BY t.n DESC, t.cx, t.cy, t.site_type
    LIMIT :limit
),
suppressed AS (
    SELECT count(DISTINCT (t.cx, t.cy))::int AS cells
    FROM active_types t JOIN active_people k USING (cx, cy) WHERE k.reporters < :min_reporters
),
"""


def heatmap(
    session: Session,
    *,
    where: Where,
    exact: Where,
    detections: Where,
    viewer: Any,
    grid_deg: float,
    limit: int,
    min_reporters: int,
    rollup: bool,
    active_day: date | None = None,
) -> dict[str, Any]:
    """Points and their summary; `where` selects counted analyses, `exact` those shown point by point and
    `detections` the detections that count (verdict, validity). Analyses without such detections are no heat.

    With `rollup`, the public cells come from the trigger-maintained tables: only for the whole data set
    (every counted analysis public, every non-rejected detection, no filter) at ROLLUP_GRID_DEG, or with
    `active_day` for the same map's detections active at that UTC midnight; the caller checks.
    """
    if rollup and grid_deg != ROLLUP_GRID_DEG:
        raise ValueError("the public map rollup holds the 0.01° grid only")
    if not rollup:
        public = _LIVE_PUBLIC.format(exact=exact.sql(), where=where.sql(), detections=detections.sql())
    elif active_day is None:
        public = _ROLLUP_PUBLIC
    else:
        public = _ROLLUP_ACTIVE
    sql = _SQL.format(
        exact=exact.sql(),
        where=where.sql(),
        detections=detections.sql(),
        public=public,
        intensity=intensity("risk", "n"),
        own=own("user_id"),
    )
    params = {
        **where.params,
        **exact.params,
        **detections.params,
        "viewer": viewer,
        "grid": grid_deg,
        "limit": limit,
        "min_reporters": min_reporters,
        "active_day": active_day,
    }
    return dict(one(session, sql, params))
