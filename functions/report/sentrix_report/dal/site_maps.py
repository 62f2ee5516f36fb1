"""`unit=sites` on the heatmap and the vector tiles: the breeding sites of the counted detections, drawn by the
public rule (docs/sites.md, *Sites on the maps*).

A site the caller may see as a place (`whole`: experts and admins every site, officials their territories' sites)
is drawn at the site's point; a site one of the caller's own counted detections belongs to (`own`) at that
detection's point, never at a centroid other people's reports moved. Every other site is drawn only as public
cells: a site counts once in each public cell holding one of its counted detections, the cell drawn at its centre
and only when the counted detections of its drawn sites come from at least `min_reporters` people. Those
detections are a subset of the ones the detections' public cell counts, so a cell drawn for sites is drawn for
detections too, and no site point, id, member or time below the day appears in a public cell.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import intensity, one, own, scalar
from sentrix_report.dal.tiles import TILE_CELLS, tile_params
from sentrix_report.logic.filters import Where

NEEDING_WORK = "('open', 'assigned', 'treated', 'reopened')"

# The counted detections that belong to a site, with their public cell and whether they are the caller's, then
# the counted sites with what the caller may see of them. `{area}` narrows to a tile's area.
_COUNTED = """
m AS MATERIALIZED (
    SELECT d.id, d.site_id, d.risk_level, d.expires_at > :as_of AS active, a.user_id, a.location, a.created_at,
           {own} AS own,
           floor(ST_X(a.location) / CAST(:grid AS float8)) AS cx, floor(ST_Y(a.location) / CAST(:grid AS float8)) AS cy
    FROM detections d JOIN analyses a ON a.id = d.analysis_id{area_join}
    WHERE {where} AND a.location IS NOT NULL AND d.site_id IS NOT NULL AND {detections}{area}
),
counted_sites AS MATERIALIZED (
    SELECT s.id, s.family, s.status, s.confirmed, s.location, ({whole}) IS TRUE AS whole, g.own
    FROM (SELECT site_id, bool_or(own) AS own FROM m GROUP BY site_id) AS g
    JOIN sites s ON s.id = g.site_id
),
-- Sites drawn as places: the whole site at its point, or the caller's own detections of it at the first one's.
-- One pass over the counted detections, grouped per site (no per-site lookup).
exact_sites AS (
    SELECT s.id, s.family, s.status, s.confirmed, s.own,
           CASE WHEN s.whole THEN s.location ELSE k.first_point END AS location,
           k.n, k.high_n, k.risk, k.last_seen
    FROM (
        SELECT m.site_id, count(*)::int AS n, count(*) FILTER (WHERE m.risk_level = 'ALTO')::int AS high_n,
               min(m.risk_level) AS risk, max(m.created_at) AS last_seen,
               (array_agg(m.location ORDER BY m.created_at, m.id) FILTER (WHERE m.own))[1] AS first_point
        FROM m JOIN counted_sites c ON c.id = m.site_id
        WHERE c.whole OR m.own
        GROUP BY m.site_id
    ) AS k
    JOIN counted_sites s ON s.id = k.site_id
    ORDER BY k.last_seen DESC, s.id
    LIMIT :limit
),
-- Every other site, only through its counted detections' public cells: one row per cell and site (grouped once,
-- so the counts below are plain counts), and the distinct people per cell.
public_m AS MATERIALIZED (
    SELECT m.cx, m.cy, m.site_id, m.user_id, m.active, m.risk_level, m.created_at
    FROM m JOIN counted_sites s ON s.id = m.site_id
    WHERE NOT (s.whole OR s.own)
),
site_cells AS (
    SELECT p.cx, p.cy, p.site_id, bool_or(p.active) AS active, bool_or(p.risk_level = 'ALTO') AS high,
           min(p.risk_level) AS risk, max(p.created_at) AS last_seen
    FROM public_m p
    GROUP BY 1, 2, 3
),
-- k-anonymity: the people behind a cell's counted detections of the sites it draws.
public_people AS (
    SELECT cx, cy, count(*)::int AS reporters FROM (SELECT DISTINCT cx, cy, user_id FROM public_m) AS u GROUP BY 1, 2
),
public_families AS (
    SELECT c.cx, c.cy, s.family, count(*)::int AS n, count(*) FILTER (WHERE c.active)::int AS active_n,
           count(*) FILTER (WHERE c.high)::int AS high_n,
           count(*) FILTER (WHERE s.status::text IN {needing})::int AS needing_n,
           count(*) FILTER (WHERE s.confirmed)::int AS confirmed_n,
           min(c.risk) AS risk, max(c.last_seen) AS last_seen
    FROM site_cells c
    JOIN counted_sites s ON s.id = c.site_id
    JOIN public_people k ON k.cx = c.cx AND k.cy = c.cy
    WHERE k.reporters >= :min_reporters
    GROUP BY 1, 2, 3
)"""

_HEATMAP = """WITH{counted},
public_cells AS (
    SELECT * FROM public_families ORDER BY n DESC, cx, cy, family LIMIT :limit
),
suppressed AS (
    SELECT count(*)::int AS cells FROM public_people WHERE reporters < :min_reporters
),
points AS (
    SELECT false AS aggregated, last_seen AS ts, family::text AS family, risk::text AS risk_level, 1 AS n,
           CASE WHEN high_n > 0 THEN 1 ELSE 0 END AS high_n, json_build_object(
               'latitude', ST_Y(location), 'longitude', ST_X(location), 'intensity', {intensity_one},
               'riskLevel', risk, 'siteCount', 1, 'family', family, 'status', status, 'confirmed', confirmed,
               'detectionCount', n, 'timestamp', last_seen, 'isOwn', own, 'aggregated', false, 'siteId', id) AS j
    FROM exact_sites
    UNION ALL
    SELECT true, last_seen, family::text, risk::text, n, high_n, json_build_object(
               'latitude', round(((cy + 0.5) * CAST(:grid AS float8))::numeric, 6),
               'longitude', round(((cx + 0.5) * CAST(:grid AS float8))::numeric, 6),
               'intensity', {intensity}, 'riskLevel', risk, 'siteCount', n, 'needingWorkCount', needing_n,
               'confirmedCount', confirmed_n, 'family', family, 'timestamp', date_trunc('day', last_seen),
               'isOwn', false, 'aggregated', true, 'precisionDeg', CAST(:grid AS float8))
    FROM public_cells
)
SELECT
    coalesce((SELECT json_agg(j ORDER BY aggregated, ts DESC, family) FROM points), '[]') AS points,
    count(*) AS total_locations,
    count(*) FILTER (WHERE risk_level = 'ALTO') AS high_risk_count,
    count(*) FILTER (WHERE risk_level = 'MEDIO') AS medium_risk_count,
    count(*) FILTER (WHERE risk_level IN ('BAJO', 'MINIMO')) AS low_risk_count,
    coalesce(sum(n), 0) AS total_sites,
    coalesce(sum(high_n), 0) AS high_risk_sites,
    (SELECT coalesce(json_object_agg(f, c), '{{}}') FROM (
        SELECT family AS f, count(*) AS c FROM points GROUP BY 1 ORDER BY 1) AS x
    ) AS family_counts,
    (SELECT cells FROM suppressed) AS suppressed_cells
FROM points
"""


def site_heatmap(
    session: Session,
    *,
    where: Where,
    whole: Where,
    detections: Where,
    viewer: Any,
    grid_deg: float,
    limit: int,
    min_reporters: int,
    as_of: datetime,
) -> dict[str, Any]:
    """Site points and their summary: `where` selects counted analyses, `detections` the counted detections,
    `whole` (on `s`, the site) the sites drawn at their own point; `viewer`'s own sites are drawn at their
    detection's point; every other site only in public cells of `grid_deg` with `min_reporters` people."""
    sql = _HEATMAP.replace("{counted}", _COUNTED).format(
        where=where.sql(),
        detections=detections.sql(),
        whole=whole.sql(),
        own=own("a.user_id"),
        area_join="",
        area="",
        needing=NEEDING_WORK,
        intensity=intensity("risk", "n"),
        intensity_one=intensity("risk", "1"),
    )
    params = {
        **where.params,
        **detections.params,
        **whole.params,
        "viewer": viewer,
        "grid": grid_deg,
        "limit": limit,
        "min_reporters": min_reporters,
        "as_of": as_of,
    }
    return dict(one(session, sql, params))


_TILE_AREA = """
WITH tile AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS env
),
area AS (
    SELECT ST_MakeEnvelope(:west, :south, :east, :north, 4326) AS geom
),"""

# Public cells of the area's drawn sites, at their centres, in tile units (the detections tile's formulas).
_TILE_PTS = """,
places AS MATERIALIZED (
    SELECT (cx + 0.5) * CAST(:grid AS float8) AS lon, (cy + 0.5) * CAST(:grid AS float8) AS lat, family,
           n, active_n, high_n, needing_n, confirmed_n, risk
    FROM public_families
),
pts AS (
    SELECT places.*,
           ((lon + 180) / 360 * 2 ^ :z - :x) * :extent AS px,
           ((1 - asinh(tan(radians(lat))) / pi()) / 2 * 2 ^ :z - :y) * :extent AS py
    FROM places
)"""

_TILE_CELL_PROPERTIES = f"""sum(n)::int AS count, sum(active_n)::int AS active_count,
           sum(high_n)::int AS high_risk_count, sum(needing_n)::int AS needing_work_count,
           sum(confirmed_n)::int AS confirmed_count, min(risk)::text AS max_risk_level,
           (array_agg(family::text ORDER BY n DESC, family))[1] AS dominant_family,
           {intensity("min(risk)", "sum(n)")} AS intensity"""

_TILE_GRID = """,
{tile_cells}
grid AS (
    SELECT ST_MakePoint((cx + 0.5) * :extent / :cells, (cy + 0.5) * :extent / :cells) AS geom,
           count, active_count, high_risk_count, needing_work_count, confirmed_count, max_risk_level,
           dominant_family, intensity
    FROM cells
)
SELECT coalesce((SELECT ST_AsMVT(grid, 'grid', :extent, 'geom') FROM grid), '')
""".replace("{tile_cells}", TILE_CELLS)

_TILE_DETAIL = """,
shown AS (
    SELECT ST_AsMVTGeom(ST_Transform(e.location, 3857), tile.env, :extent, :buffer, true) AS geom,
           e.id::text AS id, e.family::text AS family, e.status::text AS status, e.confirmed,
           e.n AS detection_count, e.risk::text AS risk_level, e.own AS is_own
    FROM exact_sites e CROSS JOIN tile
),
public_cells AS (
    SELECT ST_MakePoint(round(px), round(py)) AS geom, {cell_properties}
    FROM pts
    WHERE px BETWEEN :low AND :high AND py BETWEEN :low AND :high
    GROUP BY px, py
)
SELECT coalesce((SELECT ST_AsMVT(shown, 'sites', :extent, 'geom') FROM shown WHERE geom IS NOT NULL), '')
    || coalesce((SELECT ST_AsMVT(public_cells, 'grid', :extent, 'geom') FROM public_cells), '')
"""


def site_tile(
    session: Session,
    *,
    z: int,
    x: int,
    y: int,
    where: Where,
    whole: Where,
    detections: Where,
    viewer: Any,
    detail: bool,
    grid_deg: float,
    cells: int,
    as_of: datetime,
    min_reporters: int,
) -> bytes:
    """The MVT bytes of tile z/x/y with `unit=sites`. Below the detail zoom every caller gets the same grid of
    public cells (no site is drawn whole, none as the caller's own); from it, layer `sites` holds the sites the
    caller may see as places and layer `grid` the public cells of the others."""
    whole = whole if detail else Where.empty().add("FALSE")
    sql = (_TILE_AREA + _COUNTED + _TILE_PTS + (_TILE_DETAIL if detail else _TILE_GRID)).format(
        where=where.sql(),
        detections=detections.sql(),
        whole=whole.sql(),
        own=own("a.user_id") if detail else "FALSE",
        area_join=" CROSS JOIN area",
        area=" AND d.location && area.geom AND a.location && area.geom",
        needing=NEEDING_WORK,
        cell_properties=_TILE_CELL_PROPERTIES,
    )
    params = {
        **where.params,
        **detections.params,
        **whole.params,
        "viewer": viewer if detail else None,
        **tile_params(z, x, y, grid_deg=grid_deg, cells=cells, as_of=as_of, min_reporters=min_reporters),
        "limit": None,  # LIMIT NULL: every site of the tile
    }
    return bytes(scalar(session, sql, params) or b"")
