"""The public map's cells, kept up to date by triggers (the anonymous heatmap reads them instead of a million
rows), and for the hotspot query a stored geohash of each detection and a covering index of active sites.

`map_public_points` holds, per public cell (0.01°, `floor(lon / 0.01)`, `floor(lat / 0.01)`) and breeding-site
type, what the report function's public heatmap computes from the counted (completed, located) analyses and
their detections: the detection count, the highest risk, the newest analysis time; the type-less row also
holds the analyses stored without detections (their own level, BAJO when none). `map_public_cells` holds the
analyses per cell, and its rows are the locks that serialise maintenance of a cell.

Maintenance, in the writing transaction (statement triggers with transition tables):
- additions (detections inserted into a counted analysis, an analysis inserted or becoming counted) add
  to the rows: counts add, the highest risk and the newest time only grow;
- anything else that touches a counted analysis or its detections (a delete, a status leaving `completed`,
  a moved location, a changed risk, type, time or stored total) recomputes the affected cells from the
  base tables, so nothing has to be subtracted;
- TRUNCATE of either base table rebuilds everything.
A cell's row in `map_public_cells` is locked (FOR UPDATE, cells in order) before its rows are read or
written, and the recomputing statements run after the lock under READ COMMITTED, so they see every
committed change to the cell. Expiry is not involved: these rows count all detections, expired ones too,
exactly as the whole-data heatmap does; the active-only map is computed live through the expires_at index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The grid of the rollup: REPORT_PUBLIC_GRID_DEG's default. The report function reads these tables only
# when its setting has this value (same float8 arithmetic as its live query).
GRID = "CAST(0.01 AS float8)"
CELL_X = f"floor(ST_X({{geom}}) / {GRID})"
CELL_Y = f"floor(ST_Y({{geom}}) / {GRID})"
COUNTED = "{a}.status = 'completed' AND {a}.location IS NOT NULL"

# Rows of map_public_points from `an` (counted analyses: id, created_at, risk_level, total_detections, cx, cy),
# the same aggregation as the report function's live public heatmap.
POINTS_FROM_AN = """
INSERT INTO map_public_points (cx, cy, type_key, site_type, n, risk, last_seen)
SELECT cx, cy, coalesce(site_type::text, ''), site_type, sum(n)::int, min(risk), max(last_seen)
FROM (
    SELECT an.cx, an.cy, d.breeding_site_type AS site_type, count(*)::int AS n, min(d.risk_level) AS risk,
           max(an.created_at) AS last_seen
    FROM an JOIN detections d ON d.analysis_id = an.id
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT cx, cy, NULL, 0, min(coalesce(risk_level, 'BAJO')), max(created_at)
    FROM an WHERE total_detections = 0
    GROUP BY 1, 2
) AS u
GROUP BY cx, cy, site_type
ORDER BY cx, cy, site_type
"""

_ALL_AN = """an AS (
    SELECT a.id, a.created_at, a.risk_level, a.total_detections, {cell_x} AS cx, {cell_y} AS cy
    FROM analyses a WHERE {counted}
)"""
ALL_AN = _ALL_AN.format(
    cell_x=CELL_X.format(geom="a.location"), cell_y=CELL_Y.format(geom="a.location"), counted=COUNTED.format(a="a")
)

# The counted analyses of the cells in arrays xs/ys (found through the location index, then the exact test).
_CELL_AN = """cells AS (SELECT DISTINCT x, y FROM unnest(xs, ys) AS c (x, y)),
an AS (
    SELECT a.id, a.created_at, a.risk_level, a.total_detections, k.x AS cx, k.y AS cy
    FROM cells k
    JOIN analyses a ON a.location && ST_MakeEnvelope(k.x * {grid} - 1e-7, k.y * {grid} - 1e-7,
                                                     (k.x + 1) * {grid} + 1e-7, (k.y + 1) * {grid} + 1e-7, 4326)
    WHERE {counted} AND {cell_x} = k.x AND {cell_y} = k.y
)"""
CELL_AN = _CELL_AN.format(
    grid=GRID,
    cell_x=CELL_X.format(geom="a.location"),
    cell_y=CELL_Y.format(geom="a.location"),
    counted=COUNTED.format(a="a"),
)

_REFRESH = """
CREATE FUNCTION map_public_refresh(xs float8[], ys float8[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF xs IS NULL OR cardinality(xs) = 0 THEN
        RETURN;
    END IF;
    PERFORM map_public_lock(xs, ys);
    DELETE FROM map_public_points p USING unnest(xs, ys) AS c (x, y) WHERE p.cx = c.x AND p.cy = c.y;
    WITH {cell_an}
    UPDATE map_public_cells m SET reports = (SELECT count(*) FROM an WHERE an.cx = m.cx AND an.cy = m.cy)
    FROM cells k WHERE m.cx = k.x AND m.cy = k.y;
    WITH {cell_an}
    {points};
END $$
"""

_REBUILD = """
CREATE FUNCTION map_public_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE map_public_cells IN EXCLUSIVE MODE;
    DELETE FROM map_public_points;
    DELETE FROM map_public_cells;
    WITH {all_an}
    INSERT INTO map_public_cells (cx, cy, reports) SELECT cx, cy, count(*) FROM an GROUP BY 1, 2 ORDER BY 1, 2;
    WITH {all_an}
    {points};
END $$
"""

FUNCTIONS = [
    # Lock the cells (creating their rows), in order so two writers cannot deadlock on them.
    """
CREATE FUNCTION map_public_lock(xs float8[], ys float8[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO map_public_cells (cx, cy)
    SELECT DISTINCT x, y FROM unnest(xs, ys) AS c (x, y) ORDER BY x, y
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM map_public_cells m
    WHERE (m.cx, m.cy) IN (SELECT x, y FROM unnest(xs, ys) AS c (x, y))
    ORDER BY m.cx, m.cy
    FOR UPDATE OF m;
END $$
""",
    # Recompute the cells from the base tables.
    _REFRESH.format(cell_an=CELL_AN, points=POINTS_FROM_AN),
    # Everything from the base tables.
    _REBUILD.format(all_an=ALL_AN, points=POINTS_FROM_AN),
    # Additions: analyses that became counted (their analysis-level part; detections come separately).
    """
CREATE FUNCTION map_public_add_analyses(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT DISTINCT floor(ST_X(location) / CAST(0.01 AS float8)) AS cx,
                        floor(ST_Y(location) / CAST(0.01 AS float8)) AS cy
        FROM unnest(ids) AS i (id) JOIN analyses USING (id) WHERE status = 'completed' AND location IS NOT NULL
    ) AS c;
    IF xs IS NULL THEN
        RETURN;
    END IF;
    PERFORM map_public_lock(xs, ys);
    WITH an AS (
        SELECT created_at, risk_level, total_detections,
               floor(ST_X(location) / CAST(0.01 AS float8)) AS cx, floor(ST_Y(location) / CAST(0.01 AS float8)) AS cy
        FROM unnest(ids) AS i (id) JOIN analyses USING (id) WHERE status = 'completed' AND location IS NOT NULL
    ),
    counted AS (
        UPDATE map_public_cells m SET reports = m.reports + k.c
        FROM (SELECT cx, cy, count(*) AS c FROM an GROUP BY 1, 2) AS k
        WHERE m.cx = k.cx AND m.cy = k.cy
    )
    INSERT INTO map_public_points AS p (cx, cy, type_key, site_type, n, risk, last_seen)
    SELECT cx, cy, '', NULL, 0, min(coalesce(risk_level, 'BAJO')), max(created_at)
    FROM an WHERE total_detections = 0
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (cx, cy, type_key) DO UPDATE
        SET risk = least(p.risk, excluded.risk), last_seen = greatest(p.last_seen, excluded.last_seen);
END $$
""",
    # Additions: detections (ids) of counted analyses.
    """
CREATE FUNCTION map_public_add_detections(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT DISTINCT floor(ST_X(a.location) / CAST(0.01 AS float8)) AS cx,
                        floor(ST_Y(a.location) / CAST(0.01 AS float8)) AS cy
        FROM unnest(ids) AS i (id) JOIN detections d USING (id) JOIN analyses a ON a.id = d.analysis_id
        WHERE a.status = 'completed' AND a.location IS NOT NULL
    ) AS c;
    IF xs IS NULL THEN
        RETURN;
    END IF;
    PERFORM map_public_lock(xs, ys);
    INSERT INTO map_public_points AS p (cx, cy, type_key, site_type, n, risk, last_seen)
    SELECT cx, cy, coalesce(site_type::text, ''), site_type, n, risk, last_seen FROM (
        SELECT floor(ST_X(a.location) / CAST(0.01 AS float8)) AS cx,
               floor(ST_Y(a.location) / CAST(0.01 AS float8)) AS cy, d.breeding_site_type AS site_type,
               count(*)::int AS n, min(d.risk_level) AS risk, max(a.created_at) AS last_seen
        FROM unnest(ids) AS i (id) JOIN detections d USING (id) JOIN analyses a ON a.id = d.analysis_id
        WHERE a.status = 'completed' AND a.location IS NOT NULL
        GROUP BY 1, 2, 3
    ) AS x
    ORDER BY 1, 2, 3
    ON CONFLICT (cx, cy, type_key) DO UPDATE
        SET n = p.n + excluded.n, risk = least(p.risk, excluded.risk),
            last_seen = greatest(p.last_seen, excluded.last_seen);
END $$
""",
    # Trigger functions.
    """
CREATE FUNCTION map_public_detections_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM map_public_add_detections(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_public_detections_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    -- Detections cascading from a deleted analysis find no analysis: the analyses trigger handles those.
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT DISTINCT floor(ST_X(a.location) / CAST(0.01 AS float8)) AS cx,
                        floor(ST_Y(a.location) / CAST(0.01 AS float8)) AS cy
        FROM old_rows d JOIN analyses a ON a.id = d.analysis_id
        WHERE a.status = 'completed' AND a.location IS NOT NULL
    ) AS c;
    PERFORM map_public_refresh(xs, ys);
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_public_detections_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    -- Validations and validity extensions change nothing here: only the analysis, type and risk count.
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT DISTINCT floor(ST_X(a.location) / CAST(0.01 AS float8)) AS cx,
                        floor(ST_Y(a.location) / CAST(0.01 AS float8)) AS cy
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id
        JOIN analyses a ON a.id IN (o.analysis_id, n.analysis_id)
        WHERE (o.analysis_id, o.breeding_site_type, o.risk_level)
              IS DISTINCT FROM (n.analysis_id, n.breeding_site_type, n.risk_level)
          AND a.status = 'completed' AND a.location IS NOT NULL
    ) AS c;
    PERFORM map_public_refresh(xs, ys);
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_public_analyses_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM map_public_add_analyses(
        ARRAY(SELECT id FROM new_rows WHERE status = 'completed' AND location IS NOT NULL));
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_public_analyses_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gained uuid[];
    xs float8[];
    ys float8[];
BEGIN
    -- Cells of analyses that were counted and changed in a way that matters (or stopped being counted),
    -- before and after the change.
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT floor(ST_X(o.location) / CAST(0.01 AS float8)) AS cx,
               floor(ST_Y(o.location) / CAST(0.01 AS float8)) AS cy
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.status = 'completed' AND o.location IS NOT NULL
          AND (n.status, n.location, n.created_at, n.risk_level, n.total_detections)
              IS DISTINCT FROM (o.status, o.location, o.created_at, o.risk_level, o.total_detections)
        UNION
        SELECT floor(ST_X(n.location) / CAST(0.01 AS float8)), floor(ST_Y(n.location) / CAST(0.01 AS float8))
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.status = 'completed' AND o.location IS NOT NULL
          AND n.status = 'completed' AND n.location IS NOT NULL
          AND (n.location, n.created_at, n.risk_level, n.total_detections)
              IS DISTINCT FROM (o.location, o.created_at, o.risk_level, o.total_detections)
    ) AS c;
    -- Analyses that became counted: added, with whatever detections they already have.
    gained := ARRAY(
        SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.status = 'completed' AND n.location IS NOT NULL
          AND NOT (o.status = 'completed' AND o.location IS NOT NULL));
    IF xs IS NOT NULL THEN
        -- A recomputation covers everything in its cells; add the gained analyses' cells to it.
        SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
            SELECT x AS cx, y AS cy FROM unnest(xs, ys) AS c (x, y)
            UNION
            SELECT floor(ST_X(location) / CAST(0.01 AS float8)), floor(ST_Y(location) / CAST(0.01 AS float8))
            FROM unnest(gained) AS g (id) JOIN analyses USING (id) WHERE status = 'completed' AND location IS NOT NULL
        ) AS c;
        PERFORM map_public_refresh(xs, ys);
    ELSIF cardinality(gained) > 0 THEN
        PERFORM map_public_add_analyses(gained);
        PERFORM map_public_add_detections(
            ARRAY(SELECT d.id FROM unnest(gained) AS g (id) JOIN detections d ON d.analysis_id = g.id));
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_public_analyses_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT DISTINCT floor(ST_X(location) / CAST(0.01 AS float8)) AS cx,
                        floor(ST_Y(location) / CAST(0.01 AS float8)) AS cy
        FROM old_rows WHERE status = 'completed' AND location IS NOT NULL
    ) AS c;
    PERFORM map_public_refresh(xs, ys);
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_public_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM map_public_rebuild();
    RETURN NULL;
END $$
""",
]

TRIGGERS = [
    ("map_public_detections_inserted", "AFTER INSERT ON detections REFERENCING NEW TABLE AS new_rows", "detections"),
    ("map_public_detections_deleted", "AFTER DELETE ON detections REFERENCING OLD TABLE AS old_rows", "detections"),
    (
        "map_public_detections_updated",
        "AFTER UPDATE ON detections REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "detections",
    ),
    ("map_public_analyses_inserted", "AFTER INSERT ON analyses REFERENCING NEW TABLE AS new_rows", "analyses"),
    (
        "map_public_analyses_updated",
        "AFTER UPDATE ON analyses REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "analyses",
    ),
    ("map_public_analyses_deleted", "AFTER DELETE ON analyses REFERENCING OLD TABLE AS old_rows", "analyses"),
]

FUNCTION_NAMES = [
    "map_public_truncated()",
    "map_public_analyses_deleted()",
    "map_public_analyses_updated()",
    "map_public_analyses_inserted()",
    "map_public_detections_updated()",
    "map_public_detections_deleted()",
    "map_public_detections_inserted()",
    "map_public_add_detections(uuid[])",
    "map_public_add_analyses(uuid[])",
    "map_public_rebuild()",
    "map_public_refresh(float8[], float8[])",
    "map_public_lock(float8[], float8[])",
]


def upgrade() -> None:
    op.create_table(
        "map_public_cells",
        sa.Column("cx", sa.Float(precision=53), nullable=False),
        sa.Column("cy", sa.Float(precision=53), nullable=False),
        sa.Column("reports", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("cx", "cy", name=op.f("pk_map_public_cells")),
    )
    op.create_table(
        "map_public_points",
        sa.Column("cx", sa.Float(precision=53), nullable=False),
        sa.Column("cy", sa.Float(precision=53), nullable=False),
        sa.Column("type_key", sa.String(length=100), nullable=False),
        sa.Column(
            "site_type",
            postgresql.ENUM(name="breeding_site_type", create_type=False),
            nullable=True,
        ),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("risk", postgresql.ENUM(name="risk_level", create_type=False), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cx", "cy", "type_key", name=op.f("pk_map_public_points")),
    )
    # The public heatmap's order (largest first, then cell and type): its first page is an index range.
    op.create_index(
        "ix_map_public_points_rank",
        "map_public_points",
        [sa.literal_column("n DESC"), "cx", "cy", "site_type"],
        unique=False,
    )
    # A detection's place as a geohash (Z-order), stored: the hotspot query sorts points by it, so PostGIS's
    # DBSCAN visits neighbours one after another (about three times faster than in id order).
    op.add_column(
        "detections",
        sa.Column(
            "place",
            sa.String(collation="C"),
            sa.Computed("ST_GeoHash(location)", persisted=True),
            nullable=True,
        ),
    )
    # Active sites with what the hotspot query needs, readable without visiting the table (index-only):
    # an unexpired detection's row is anywhere in the heap, so a plain expires_at scan reads most pages.
    op.create_index(
        "ix_detections_expires_at_points",
        "detections",
        ["expires_at"],
        unique=False,
        postgresql_include=["analysis_id", "location", "place", "id", "created_at", "breeding_site_type", "risk_level"],
    )
    for statement in FUNCTIONS:
        op.execute(statement)
    for name, when, _table in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    for table in ("analyses", "detections"):
        op.execute(
            f"CREATE TRIGGER map_public_{table}_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION map_public_truncated()"
        )
    op.execute("SELECT map_public_rebuild()")


def downgrade() -> None:
    for table in ("detections", "analyses"):
        op.execute(f"DROP TRIGGER map_public_{table}_truncated ON {table}")
    for name, _when, table in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for signature in FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index("ix_detections_expires_at_points", table_name="detections")
    op.drop_column("detections", "place")
    op.drop_index("ix_map_public_points_rank", table_name="map_public_points")
    op.drop_table("map_public_points")
    op.drop_table("map_public_cells")
