"""Mapbox vector tiles with ST_AsMVT: detections at high zoom, grid aggregates at low zoom and for the public.

Each detection has a display position: its own location where the caller may see it exactly, otherwise
the centre of its public grid cell (the same cells as the public heatmap). Below the detail zoom every
position is counted into a grid of `cells` x `cells` per tile (aligned with the tile, so no cell is split
between tiles); from the detail zoom on, exact detections are features of their own (ST_AsMVTGeom) and the
public remainder stays one feature per public cell.

Speed: tile-local coordinates come from the Web Mercator tile formulas in plain float arithmetic (one
ST_Transform per row would dominate a city tile), each row's position is computed once (MATERIALIZED),
and only aggregated rows become geometries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sentrix_report.data.sql import intensity, scalar
from sentrix_report.logic.filters import Where

EXTENT = 4096
BUFFER = 64

_SOURCE = """
WITH tile AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS env
),
area AS (
    -- The tile plus its render buffer, in degrees, widened by one public cell: a detection just outside
    -- may have its public cell centre inside, and the other way round.
    SELECT ST_Expand(ST_Transform(ST_Expand(env, (ST_XMax(env) - ST_XMin(env)) * :buffer / :extent), 4326),
                     CAST(:grid AS float8)) AS geom
    FROM tile
),
src AS (
    SELECT d.id, d.analysis_id, d.breeding_site_type, d.risk_level, d.confidence, d.validation_status,
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
    WHERE {where} AND d.location && area.geom AND a.location && area.geom {active}
),
-- Counts per display position and type first (a public cell centre, or an exact point shared by the
-- detections of one photo): the tile position is then computed once per group, not once per detection.
places AS MATERIALIZED (
    SELECT lon, lat, exact, breeding_site_type, count(*) AS n, count(*) FILTER (WHERE active) AS active_n,
           count(*) FILTER (WHERE risk_level = 'ALTO') AS high_n, min(risk_level) AS risk
    FROM src
    GROUP BY lon, lat, exact, breeding_site_type
),
pts AS (
    -- Position inside the tile in tile units (0..extent, y down), from the Web Mercator tile formulas.
    SELECT places.*,
           ((lon + 180) / 360 * 2 ^ :z - :x) * :extent AS px,
           ((1 - asinh(tan(radians(lat))) / pi()) / 2 * 2 ^ :z - :y) * :extent AS py
    FROM places
)
"""

# Properties of an aggregated feature, composed from the per-place groups: counts, the highest risk, the
# commonest type and the heatmap intensity for that risk and count. No ids, no users, no times.
_CELL_PROPERTIES = f"""sum(n)::int AS count, sum(active_n)::int AS active_count, sum(high_n)::int AS high_risk_count,
           min(risk)::text AS max_risk_level, (array_agg(breeding_site_type::text ORDER BY n DESC,
           breeding_site_type))[1] AS dominant_type, {intensity("min(risk)", "sum(n)")} AS intensity"""

_DETAIL = """,
detail AS (
    SELECT ST_AsMVTGeom(ST_Transform(location, 3857), tile.env, :extent, :buffer, true) AS geom,
           id::text AS id, analysis_id::text AS analysis_id, breeding_site_type::text AS breeding_site_type,
           risk_level::text AS risk_level, round(confidence::numeric, 4)::float8 AS confidence,
           validation_status::text AS validation_status,
           to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at, active
    FROM src CROSS JOIN tile
    WHERE exact
),
public_cells AS (
    SELECT ST_MakePoint(round(px), round(py)) AS geom, {cell_properties}
    FROM pts
    WHERE NOT exact AND px BETWEEN :low AND :high AND py BETWEEN :low AND :high
    GROUP BY px, py
)
SELECT coalesce((SELECT ST_AsMVT(detail, 'detections', :extent, 'geom') FROM detail WHERE geom IS NOT NULL), '')
    || coalesce((SELECT ST_AsMVT(public_cells, 'grid', :extent, 'geom') FROM public_cells), '')
"""

_GRID = """,
cells AS (
    SELECT floor(px / (:extent / CAST(:cells AS float8))) AS cx, floor(py / (:extent / CAST(:cells AS float8))) AS cy,
           {cell_properties}
    FROM pts
    WHERE px >= 0 AND px < :extent AND py >= 0 AND py < :extent
    GROUP BY 1, 2
),
grid AS (
    -- Cells are inside the tile by construction: their centres are built in tile units directly.
    SELECT ST_MakePoint((cx + 0.5) * :extent / :cells, (cy + 0.5) * :extent / :cells) AS geom,
           count, active_count, high_risk_count, max_risk_level, dominant_type, intensity
    FROM cells
)
SELECT coalesce((SELECT ST_AsMVT(grid, 'grid', :extent, 'geom') FROM grid), '')
"""


def tile(
    session: Session,
    *,
    z: int,
    x: int,
    y: int,
    where: Where,
    exact: Where,
    detail: bool,
    grid_deg: float,
    cells: int,
    as_of: datetime,
    active_only: bool,
) -> bytes:
    """The MVT bytes of tile z/x/y (empty when nothing is there)."""
    # Only fragments written in this module are spliced in; every value is a bound parameter.
    sql = (_SOURCE + (_DETAIL if detail else _GRID)).format(
        where=where.sql(),
        exact=exact.sql(),
        active="AND d.expires_at > :as_of" if active_only else "",
        cell_properties=_CELL_PROPERTIES,
    )
    params = {
        **where.params,
        **exact.params,
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
    }
    return bytes(scalar(session, sql, params) or b"")
