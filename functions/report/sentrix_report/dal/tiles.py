"""Mapbox vector tiles with ST_AsMVT: detections at high zoom, grid aggregates at low zoom and for the public.

Below the detail zoom every caller gets the same grid: each counted detection is placed at the centre of its
public grid cell (the cells of the public heatmap) and counted into a grid of `cells` x `cells` per tile
(aligned with the tile, so no grid cell is split between tiles). A public cell therefore belongs to exactly
one tile, the one holding its centre, whoever asks: a tile's totals are the same for anonymous callers,
users and experts (an exact position would put a detection near a tile edge into the neighbouring tile for
some callers only, and tell an anonymous caller which side of the edge it lies). From the detail zoom on
(tiles about the size of a public cell), detections the caller may see exactly are features of their own
(ST_AsMVTGeom) and the public remainder stays one feature per public cell.

Speed: tile-local coordinates come from the Web Mercator tile formulas in plain float arithmetic (one
ST_Transform per row would dominate a city tile), each row's position is computed once (MATERIALIZED),
and only aggregated rows become geometries.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import CELL_REPORTERS, intensity, scalar
from sentrix_report.logic.filters import Where

EXTENT = 4096
BUFFER = 64

_AREA = """
WITH tile AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS env
),
area AS (
    -- The tile plus its render buffer, in degrees, widened by one public cell (computed by the caller: the
    -- planner then knows how many rows it holds).
    SELECT ST_MakeEnvelope(:west, :south, :east, :north, 4326) AS geom
),"""

_SOURCE = """
src AS (
    SELECT d.id, d.analysis_id, a.user_id, d.breeding_site_type, d.risk_level, d.confidence, d.validation_status,
           d.expires_at, d.expires_at > :as_of AS active, ({exact}) AS exact, d.location,
           CASE WHEN ({exact}) THEN ST_X(d.location)
                ELSE (floor(ST_X(d.location) / CAST(:grid AS float8)) + 0.5) * CAST(:grid AS float8) END AS lon,
           CASE WHEN ({exact}) THEN ST_Y(d.location)
                ELSE (floor(ST_Y(d.location) / CAST(:grid AS float8)) + 0.5) * CAST(:grid AS float8) END AS lat
    FROM detections d
    JOIN analyses a ON a.id = d.analysis_id
    CROSS JOIN area
    -- Detections sit at their analysis's point (the detect function writes both), so the analysis bbox
    -- test changes no result; it lets the planner join two bbox scans instead of one lookup per row.
    WHERE {where} AND d.location && area.geom AND a.location && area.geom AND {detections}
),
-- Counts per display position and type first (a public cell centre, or an exact point shared by the
-- detections of one photo): the tile position is then computed once per group, not once per detection.
-- k-anonymity: a public cell whose detections come from fewer than min_reporters people is not drawn.
shown_cells AS (
    SELECT lon, lat FROM src WHERE NOT exact GROUP BY lon, lat HAVING count(DISTINCT user_id) >= :min_reporters
),
places AS MATERIALIZED (
    SELECT lon, lat, exact, breeding_site_type, count(*) AS n, count(*) FILTER (WHERE active) AS active_n,
           count(*) FILTER (WHERE risk_level = 'ALTO') AS high_n, min(risk_level) AS risk
    FROM src
    WHERE exact OR (lon, lat) IN (SELECT lon, lat FROM shown_cells)
    GROUP BY lon, lat, exact, breeding_site_type
)"""

# The same places for an anonymous, unfiltered tile, from the rollup that migrations 0004 and 0005 keep per
# public cell: counts, ALTO counts and the highest risk per type, and detections per expiry day. Active
# counts are the days after today's (UTC) from the rollup plus today's remainder read live: the detections
# expiring between now and midnight, found through the expires_at index. Analyses without detections
# (rows with n = 0) are not tile features, as in the live query. Cells are keyed by floor(lon / grid), so a
# cell's centre is computed exactly as the live query computes it from a detection.
_ROLLUP_SOURCE = """
bounds AS (
    SELECT floor(ST_XMin(geom) / CAST(:grid AS float8)) AS x0, floor(ST_XMax(geom) / CAST(:grid AS float8)) AS x1,
           floor(ST_YMin(geom) / CAST(:grid AS float8)) AS y0, floor(ST_YMax(geom) / CAST(:grid AS float8)) AS y1
    FROM area
),
-- Today's expiries (as_of to the next UTC midnight, both bound: the planner sees how narrow the range is) come
-- from the expires_at index, which holds each detection's location (its analysis's point): only those in the
-- area's cells are checked against their analysis, one primary-key lookup each. LIMIT 1 keeps that lookup a
-- nested loop, where a hash join would read every analysis for a few hundred rows.
expiring_today AS (
    SELECT t.cx, t.cy
    FROM (
        SELECT d.analysis_id, floor(ST_X(d.location) / CAST(:grid AS float8)) AS cx,
               floor(ST_Y(d.location) / CAST(:grid AS float8)) AS cy
        FROM detections d
        WHERE d.expires_at > :as_of AND d.expires_at < :day_end
    ) AS t
    CROSS JOIN bounds b
    CROSS JOIN LATERAL (
        SELECT 1 FROM analyses a WHERE a.id = t.analysis_id AND {where} AND a.location IS NOT NULL LIMIT 1
    ) AS counted
    WHERE t.cx BETWEEN b.x0 AND b.x1 AND t.cy BETWEEN b.y0 AND b.y1
),
-- k-anonymity: the area's cells whose analyses come from at least min_reporters people.
shown_cells AS (
    SELECT c.cx, c.cy FROM map_public_cells c CROSS JOIN bounds b
    WHERE c.cx BETWEEN b.x0 AND b.x1 AND c.cy BETWEEN b.y0 AND b.y1 AND c.reports > 0
      AND {reporters} >= :min_reporters
),
active AS (
    SELECT cx, cy, sum(n)::int AS n
    FROM (
        SELECT e.cx, e.cy, e.n
        FROM map_public_expiry e CROSS JOIN bounds b
        WHERE e.cx BETWEEN b.x0 AND b.x1 AND e.cy BETWEEN b.y0 AND b.y1 AND e.day > :today
        UNION ALL
        SELECT cx, cy, 1 FROM expiring_today
    ) AS u
    GROUP BY 1, 2
),
places AS MATERIALIZED (
    SELECT (p.cx + 0.5) * CAST(:grid AS float8) AS lon, (p.cy + 0.5) * CAST(:grid AS float8) AS lat,
           false AS exact, p.site_type AS breeding_site_type, p.n::bigint AS n, 0::bigint AS active_n,
           p.high_n::bigint AS high_n, p.detection_risk AS risk
    FROM map_public_points p CROSS JOIN bounds b
    WHERE p.cx BETWEEN b.x0 AND b.x1 AND p.cy BETWEEN b.y0 AND b.y1 AND p.n > 0
      AND (p.cx, p.cy) IN (SELECT cx, cy FROM shown_cells)
    UNION ALL
    -- A cell's active count rides on a row of its own (no type, no sites): sums and min() are unchanged.
    SELECT (cx + 0.5) * CAST(:grid AS float8), (cy + 0.5) * CAST(:grid AS float8), false, NULL, 0, n, 0, NULL
    FROM active WHERE (cx, cy) IN (SELECT cx, cy FROM shown_cells)
)"""

_PTS = """,
pts AS (
    -- Position inside the tile in tile units (0..extent, y down), from the Web Mercator tile formulas.
    SELECT places.*,
           ((lon + 180) / 360 * 2 ^ :z - :x) * :extent AS px,
           ((1 - asinh(tan(radians(lat))) / pi()) / 2 * 2 ^ :z - :y) * :extent AS py
    FROM places
)"""

# Properties of an aggregated feature, composed from the per-place groups: counts, the highest risk, the
# commonest type and the heatmap intensity for that risk and count. No ids, no users, no times.
_CELL_PROPERTIES = f"""sum(n)::int AS count, sum(active_n)::int AS active_count, sum(high_n)::int AS high_risk_count,
           min(risk)::text AS max_risk_level, (array_agg(breeding_site_type::text ORDER BY n DESC,
           breeding_site_type))[1] AS dominant_type, {intensity("min(risk)", "sum(n)")} AS intensity"""

_PUBLIC_CELLS = """
public_cells AS (
    SELECT ST_MakePoint(round(px), round(py)) AS geom, {cell_properties}
    FROM pts
    WHERE NOT exact AND px BETWEEN :low AND :high AND py BETWEEN :low AND :high
    GROUP BY px, py
)"""
_PUBLIC_LAYER = "coalesce((SELECT ST_AsMVT(public_cells, 'grid', :extent, 'geom') FROM public_cells), '')"

_DETAIL = """,
detail AS (
    SELECT ST_AsMVTGeom(ST_Transform(location, 3857), tile.env, :extent, :buffer, true) AS geom,
           id::text AS id, analysis_id::text AS analysis_id, breeding_site_type::text AS breeding_site_type,
           risk_level::text AS risk_level, round(confidence::numeric, 4)::float8 AS confidence,
           validation_status::text AS validation_status,
           to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at, active
    FROM src CROSS JOIN tile
    WHERE exact
),{public_cells}
SELECT coalesce((SELECT ST_AsMVT(detail, 'detections', :extent, 'geom') FROM detail WHERE geom IS NOT NULL), '')
    || {public_layer}
""".replace("{public_cells}", _PUBLIC_CELLS).replace("{public_layer}", _PUBLIC_LAYER)

# The detail zoom of an anonymous tile: only public cells (its detections layer is always empty).
_PUBLIC_ONLY = ",\n" + _PUBLIC_CELLS + "\nSELECT " + _PUBLIC_LAYER + "\n"

# The tile's points counted into `:cells` x `:cells` cells, for the detection and the site tiles alike
# ({cell_properties}: each one's aggregates).
TILE_CELLS = """cells AS (
    SELECT floor(px / (:extent / CAST(:cells AS float8))) AS cx, floor(py / (:extent / CAST(:cells AS float8))) AS cy,
           {cell_properties}
    FROM pts
    WHERE px >= 0 AND px < :extent AND py >= 0 AND py < :extent
    GROUP BY 1, 2
),"""

_GRID = """,
{tile_cells}
grid AS (
    -- Cells are inside the tile by construction: their centres are built in tile units directly.
    SELECT ST_MakePoint((cx + 0.5) * :extent / :cells, (cy + 0.5) * :extent / :cells) AS geom,
           count, active_count, high_risk_count, max_risk_level, dominant_type, intensity
    FROM cells
)
SELECT coalesce((SELECT ST_AsMVT(grid, 'grid', :extent, 'geom') FROM grid), '')
""".replace("{tile_cells}", TILE_CELLS)


def area(z: int, x: int, y: int, grid_deg: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of tile z/x/y with its render buffer, widened by one public cell:
    a detection just outside may have its public cell centre inside, and the other way round. Web Mercator
    maps the tile's rectangle to a longitude/latitude rectangle, so its corners are the bounds."""
    n = 2.0**z
    margin = BUFFER / EXTENT

    def lon(tx: float) -> float:
        return tx / n * 360.0 - 180.0

    def lat(ty: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return (
        lon(x - margin) - grid_deg,
        lat(y + 1 + margin) - grid_deg,
        lon(x + 1 + margin) + grid_deg,
        lat(y - margin) + grid_deg,
    )


def tile_params(
    z: int, x: int, y: int, *, grid_deg: float, cells: int, as_of: datetime, min_reporters: int
) -> dict[str, Any]:
    """The bind parameters every tile query shares: the tile, its grid, its extent and buffer, its area in degrees
    (`area`), the instant and the public rule's k."""
    west, south, east, north = area(z, x, y, grid_deg)
    return {
        "z": z,
        "x": x,
        "y": y,
        "grid": grid_deg,
        "cells": cells,
        "extent": EXTENT,
        "buffer": BUFFER,
        "low": -BUFFER,
        "high": EXTENT + BUFFER,
        "as_of": as_of,
        "min_reporters": min_reporters,
        "west": west,
        "south": south,
        "east": east,
        "north": north,
    }


def tile(
    session: Session,
    *,
    z: int,
    x: int,
    y: int,
    where: Where,
    exact: Where,
    detections: Where,
    detail: bool,
    grid_deg: float,
    cells: int,
    as_of: datetime,
    min_reporters: int,
    rollup: bool,
) -> bytes:
    """The MVT bytes of tile z/x/y (empty when nothing is there). `rollup`: read the public cells from the
    rollup tables (only for an anonymous, unfiltered tile on the rollup's grid: the caller decides)."""
    if rollup:
        body = _ROLLUP_SOURCE + _PTS + (_PUBLIC_ONLY if detail else _GRID)
    else:
        body = _SOURCE + _PTS + (_DETAIL if detail else _GRID)
    # Only fragments written in this module are spliced in; every value is a bound parameter.
    # Below the detail zoom nobody's positions are exact: the grid is the same for every caller.
    exact = exact if detail else Where.empty().add("FALSE")
    sql = (_AREA + body).format(
        where=where.sql(),
        exact=exact.sql(),
        detections=detections.sql(),
        cell_properties=_CELL_PROPERTIES,
        reporters=CELL_REPORTERS.format(cell="c"),
    )
    params = {
        **where.params,
        **exact.params,
        **detections.params,
        **tile_params(z, x, y, grid_deg=grid_deg, cells=cells, as_of=as_of, min_reporters=min_reporters),
    }
    if rollup:
        today = as_of.astimezone(UTC).date()
        params.update(today=today, day_end=datetime.combine(today + timedelta(days=1), time(0), tzinfo=UTC))
    return bytes(scalar(session, sql, params) or b"")
