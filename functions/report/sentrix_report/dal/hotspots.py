"""Hotspots in PostGIS: DBSCAN clusters in metres, and Getis-Ord Gi* z-scores over a metric grid.

Distances are measured in a UTM projection (metres, scale error under 0.1% within a zone): the zone of
the bbox centre when the bbox is narrow enough, else each point's own zone (clusters then do not cross
zone borders). Points are detections, so a photo with five sites counts five towards DBSCAN's core size;
a cluster is then kept only when it is a place: detections of several analyses at several distinct points.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import RISK_FROM_SCORE, RISK_SCORE, UTM_SRID, rows, scalar
from sentrix_report.logic.filters import BBox, Where
from sentrix_report.logic.scope import counted

_POINTS = """
SELECT d.id, d.analysis_id, d.breeding_site_type, d.risk_level, d.created_at, d.location, d.place, d.site_id,
       {srid} AS srid{projected}
FROM detections d
JOIN analyses a ON a.id = d.analysis_id
WHERE {where} AND d.location IS NOT NULL {bbox} AND {detections}
"""

# The same points when every counted analysis is in scope (experts and admins, no analysis filter): rather
# than join the many completed analyses of the area, drop the detections of the few others (every detection
# has its analysis: foreign key). Measured at 1M detections: the points are read in half the time.
_POINTS_ALL_COUNTED = """
SELECT d.id, d.analysis_id, d.breeding_site_type, d.risk_level, d.created_at, d.location, d.place, d.site_id,
       {srid} AS srid{projected}
FROM detections d
WHERE NOT EXISTS (SELECT 1 FROM analyses a WHERE a.id = d.analysis_id AND NOT coalesce({where}, false))
  AND d.location IS NOT NULL {bbox} AND {detections}
"""

# `unit=sites`: one point per site of the counted detections (each site is its own "analysis" and place for the
# summaries below). Experts and admins get the site's point (the centroid of its members); anyone else the point
# of one of their own counted detections of the site, never a centroid that other people's reports moved.
_SITE_POINTS = """
SELECT DISTINCT ON (q.site_id) q.site_id AS id, q.site_id AS analysis_id, q.breeding_site_type, q.risk_level,
       s.last_report_at AS created_at, {srid} AS srid, ST_GeoHash({point}, 12) AS place,
       ST_Transform({point}, {srid}) AS p
FROM ({points}) AS q JOIN sites AS s ON s.id = q.site_id
ORDER BY q.site_id, q.created_at, q.id
"""

_DBSCAN = """
WITH pts AS MATERIALIZED (
    SELECT q.id, q.analysis_id, q.breeding_site_type, q.risk_level, q.created_at, q.srid, q.place, q.p
    FROM ({points}) AS q
),
-- Points ordered by place (the stored geohash, a Z-order curve), then id, so border points are still assigned
-- deterministically: neighbours are then near each other in memory, and PostGIS's DBSCAN runs about three
-- times faster than over points in id order (random places).
clustered AS (
    SELECT pts.*, ST_ClusterDBSCAN(p, CAST(:eps AS float8), CAST(:min_points AS int))
                      OVER ({partition}ORDER BY place, id) AS cid
    FROM pts
),
-- Only the clustered points go on (noise is most of a dense city), as plain coordinates: every summary below
-- reads them once more, and the centroid of points is the mean of their coordinates.
members AS MATERIALIZED (
    SELECT srid, cid, analysis_id, breeding_site_type, risk_level, created_at, ST_X(p) AS x, ST_Y(p) AS y
    FROM clustered WHERE cid IS NOT NULL
),
-- A cluster is a place only when several photos taken at several points make it: one photo (however many
-- sites it shows) or photos taken at one spot are dropped here, before ranking and the limit.
clusters AS (
    SELECT srid, cid, avg(x) AS cx, avg(y) AS cy, count(*) AS n, count(DISTINCT analysis_id) AS reports,
           count(DISTINCT (x, y)) AS places,
           avg({risk_score}) AS mean_risk, max(created_at) AS last_seen, min(created_at) AS first_seen,
           (mode() WITHIN GROUP (ORDER BY breeding_site_type))::text AS dominant_type
    FROM members
    GROUP BY srid, cid
    HAVING count(DISTINCT analysis_id) >= CAST(:min_analyses AS int)
       AND count(DISTINCT (x, y)) >= CAST(:min_places AS int)
),
radius AS (
    SELECT m.srid, m.cid, sqrt(max((m.x - c.cx) ^ 2 + (m.y - c.cy) ^ 2)) AS radius_m
    FROM members m JOIN clusters c USING (srid, cid)
    GROUP BY m.srid, m.cid
),
types AS (
    SELECT srid, cid, json_object_agg(site_type, m ORDER BY site_type) AS type_counts
    FROM (
        SELECT srid, cid, coalesce(breeding_site_type::text, 'Otro') AS site_type, count(*) AS m
        FROM members GROUP BY 1, 2, 3
    ) AS x
    GROUP BY srid, cid
),
shaped AS (
    SELECT c.*, r.radius_m, t.type_counts,
           ST_Transform(ST_SetSRID(ST_MakePoint(c.cx, c.cy), c.srid), 4326) AS centre_4326
    FROM clusters c JOIN radius r USING (srid, cid) JOIN types t USING (srid, cid)
)
SELECT round(ST_Y(centre_4326)::numeric, 6)::float8 AS latitude,
       round(ST_X(centre_4326)::numeric, 6)::float8 AS longitude,
       n::int AS detection_count, reports::int AS analysis_count, places::int AS point_count, dominant_type,
       type_counts,
       round(mean_risk::numeric, 3)::float8 AS mean_risk, {risk_from_score} AS mean_risk_level,
       round(radius_m::numeric, 1)::float8 AS radius_m, last_seen, first_seen, srid
FROM shaped
ORDER BY n DESC, last_seen DESC
LIMIT :limit
"""

_GISTAR = """
WITH box AS (
    SELECT ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), {srid}) AS g
),
ext AS (
    SELECT ST_XMin(g) AS x0, ST_YMin(g) AS y0,
           ceil((ST_XMax(g) - ST_XMin(g)) / {cell})::int AS nx,
           ceil((ST_YMax(g) - ST_YMin(g)) / {cell})::int AS ny
    FROM box
),
pts AS ({points}),
counts AS (
    SELECT floor((ST_X(p) - x0) / {cell})::int AS ix, floor((ST_Y(p) - y0) / {cell})::int AS iy,
           count(*) AS x
    FROM (SELECT ST_Transform(location, {srid}) AS p FROM pts) AS q CROSS JOIN ext
    GROUP BY 1, 2
),
cells AS (
    SELECT ix, iy, coalesce(c.x, 0)::float8 AS x
    FROM ext
    CROSS JOIN LATERAL generate_series(0, ext.nx - 1) AS ix
    CROSS JOIN LATERAL generate_series(0, ext.ny - 1) AS iy
    LEFT JOIN counts c USING (ix, iy)
),
stats AS (
    SELECT count(*)::float8 AS n, avg(x) AS mean, sqrt(greatest(avg(x * x) - avg(x) ^ 2, 0)) AS s FROM cells
),
-- Binary queen contiguity including the cell itself (w_ii = 1), so sum(w) = sum(w^2) = neighbours inside.
neighbourhood AS (
    SELECT c.ix, c.iy, c.x, sum(o.x) AS wx, count(*)::float8 AS w
    FROM cells c
    CROSS JOIN (VALUES (-1), (0), (1)) AS dx (d)
    CROSS JOIN (VALUES (-1), (0), (1)) AS dy (d)
    JOIN cells o ON o.ix = c.ix + dx.d AND o.iy = c.iy + dy.d
    GROUP BY c.ix, c.iy, c.x
),
scored AS (
    SELECT nb.*, (nb.wx - st.mean * nb.w) / (st.s * sqrt((st.n * nb.w - nb.w * nb.w) / (st.n - 1))) AS z
    FROM neighbourhood nb CROSS JOIN stats st
    WHERE st.s > 0 AND st.n > 1
)
SELECT ix, iy, x::int AS count, round(z::numeric, 4)::float8 AS z,
       -- RFC 7946: exterior rings counter-clockwise.
       ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Transform(
           ST_MakeEnvelope(x0 + ix * {cell}, y0 + iy * {cell}, x0 + (ix + 1) * {cell}, y0 + (iy + 1) * {cell}, {srid}),
           4326)), 7)::json AS geometry,
       (SELECT n FROM stats)::int AS cells, (SELECT mean FROM stats) AS mean, (SELECT s FROM stats) AS sd
FROM scored CROSS JOIN ext
WHERE abs(z) >= :z_min
ORDER BY z DESC
"""


_CELL = "CAST(:cell AS float8)"

_GRID_SIZE = """
SELECT ceil((ST_XMax(g) - ST_XMin(g)) / {cell})::int AS nx, ceil((ST_YMax(g) - ST_YMin(g)) / {cell})::int AS ny
FROM (SELECT ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), {srid}) AS g) AS box
"""


def _points(
    where: Where, srid_sql: str, bbox: BBox | None, detections: Where, *, projected: bool
) -> tuple[str, dict[str, Any]]:
    """The located detections the caller may see that count (`detections`: verdict, validity), in the bbox;
    with `projected`, also each one's point in its metric projection (`p`), computed where the rows are read
    (in parallel workers)."""
    params: dict[str, Any] = {**where.params, **detections.params}
    all_counted = where.clauses == counted("a").clauses
    bbox_sql = ""
    if bbox is not None:
        # The analysis test changes nothing (detections sit at their analysis's point) but lets the planner
        # join two bbox index scans instead of looking each analysis up.
        box = "ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        bbox_sql = f"AND d.location && {box}" + ("" if all_counted else f" AND a.location && {box}")
        params.update(w=bbox.west, s=bbox.south, e=bbox.east, n=bbox.north)
    sql = (_POINTS_ALL_COUNTED if all_counted else _POINTS).format(
        where=where.sql(),
        srid=srid_sql,
        bbox=bbox_sql,
        detections=detections.sql(),
        projected=f", ST_Transform(d.location, {srid_sql}) AS p" if projected else "",
    )
    return sql, params


def dbscan(
    session: Session,
    *,
    where: Where,
    srid: int | None,
    bbox: BBox | None,
    eps_m: float,
    min_points: int,
    detections: Where,
    limit: int,
    min_analyses: int,
    min_distinct_points: int,
    sites: bool,
    exact_sites: bool,
) -> list[dict[str, Any]]:
    """Clusters (centroid, counts, dominant type, mean risk, radius, last seen), largest first; only those
    with detections of `min_analyses` distinct analyses at `min_distinct_points` distinct points. With `sites`,
    the points are the sites of those detections (`exact_sites`: at the site's point, else at one of the
    caller's own detections of it) and the rule asks for that many sites."""
    srid_sql = str(int(srid)) if srid else UTM_SRID.format(lat="ST_Y(d.location)", lon="ST_X(d.location)")
    points, params = _points(where, srid_sql, bbox, detections, projected=not sites)
    if sites:
        point = "s.location" if exact_sites else "q.location"
        site_srid = str(int(srid)) if srid else UTM_SRID.format(lat=f"ST_Y({point})", lon=f"ST_X({point})")
        points = _SITE_POINTS.format(points=points, srid=site_srid, point=point)
    sql = _DBSCAN.format(
        points=points,
        # One zone for the whole bbox: no partition, so the sort has a single key that varies.
        partition="" if srid else "PARTITION BY srid ",
        risk_score=RISK_SCORE.format(column="risk_level"),
        risk_from_score=RISK_FROM_SCORE.format(score="mean_risk"),
    )
    params.update(
        eps=eps_m,
        min_points=min_points,
        limit=limit,
        min_analyses=min_analyses,
        min_places=min_distinct_points,
    )
    return [dict(r) for r in rows(session, sql, params)]


def gistar(
    session: Session,
    *,
    where: Where,
    srid: int,
    bbox: BBox,
    cell_m: float,
    z_min: float,
    detections: Where,
) -> list[dict[str, Any]]:
    """Grid cells whose Gi* |z| reaches `z_min`, hottest first (each row repeats the grid's n, mean, sd)."""
    points, params = _points(where, str(int(srid)), bbox, detections, projected=False)
    params.update(cell=cell_m, z_min=z_min)
    sql = _GISTAR.format(points=points, srid=int(srid), cell=_CELL)
    return [dict(r) for r in rows(session, sql, params)]


def estimated_points(session: Session, *, where: Where, bbox: BBox | None, detections: Where) -> float:
    """The planner's estimate of the points a DBSCAN would read: EXPLAIN plans the query and reads no row."""
    points, params = _points(where, "0", bbox, detections, projected=False)
    plan = scalar(session, f"EXPLAIN (FORMAT JSON) {points}", params)  # pg8000 decodes the json
    return float(plan[0]["Plan"]["Plan Rows"])


# The statistics' extent of the located detections (ANALYZE keeps it): free, and NULL before any ANALYZE.
_EXTENT = """
SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north
FROM (SELECT ST_EstimatedExtent('public', 'detections', 'location')::geometry AS e) AS x
"""


def estimated_extent(session: Session) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the detections as the table statistics see them, or None."""
    row = rows(session, _EXTENT)[0]
    if row["west"] is None:
        return None
    return row["west"], row["south"], row["east"], row["north"]


def grid_size(session: Session, *, srid: int, bbox: BBox, cell_m: float) -> tuple[int, int]:
    """(nx, ny) of the Gi* grid for `bbox` in `srid` at `cell_m` metres."""
    sql = _GRID_SIZE.format(srid=int(srid), cell=_CELL)
    row = rows(session, sql, {"w": bbox.west, "s": bbox.south, "e": bbox.east, "n": bbox.north, "cell": cell_m})[0]
    return row["nx"], row["ny"]
