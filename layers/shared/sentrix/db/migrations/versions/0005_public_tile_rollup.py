"""Public vector tiles from the map rollup: what a grid feature needs beyond migration 0004's cells.

`map_public_points` gains, per cell and type, the number of ALTO detections (`high_n`) and the highest risk
among the detections alone (`detection_risk`; the type-less row also holds analyses without detections,
whose own level is in `risk`). `map_public_expiry` holds, per cell and UTC day, how many detections expire
on that day: a tile's active count at instant T is the sum over the days after T's day plus the detections
expiring between T and that day's end, read live through the expires_at index (one day's expiries).

Days before yesterday are never read; rows for them are not written, and a cell's stale rows are dropped
whenever detections are added to it. Maintenance is 0004's (same triggers, same cell locks): additions
add, anything else recomputes the cell, and a detection's changed expiry (a validity extension) now
recomputes its cell too.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from sentrix.db.migrations.earlier import migration

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


M4 = migration("0004_public_map_rollup.py")

# The first UTC day the expiry rows keep: yesterday (readers use the days after today; one day of slack
# for a client clock a little behind the database's around midnight).
HORIZON = "(now() AT TIME ZONE 'UTC')::date - 1"
DAY = "(d.expires_at AT TIME ZONE 'UTC')::date"

POINTS_FROM_AN = """
INSERT INTO map_public_points (cx, cy, type_key, site_type, n, risk, last_seen, high_n, detection_risk)
SELECT cx, cy, coalesce(site_type::text, ''), site_type, sum(n)::int, min(risk), max(last_seen), sum(high_n)::int,
       min(detection_risk)
FROM (
    SELECT an.cx, an.cy, d.breeding_site_type AS site_type, count(*)::int AS n, min(d.risk_level) AS risk,
           max(an.created_at) AS last_seen, count(*) FILTER (WHERE d.risk_level = 'ALTO')::int AS high_n,
           min(d.risk_level) AS detection_risk
    FROM an JOIN detections d ON d.analysis_id = an.id
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT cx, cy, NULL, 0, min(coalesce(risk_level, 'BAJO')), max(created_at), 0, NULL
    FROM an WHERE total_detections = 0
    GROUP BY 1, 2
) AS u
GROUP BY cx, cy, site_type
ORDER BY cx, cy, site_type
"""

_EXPIRY_FROM_AN = """
INSERT INTO map_public_expiry (cx, cy, day, n)
SELECT an.cx, an.cy, {day}, count(*)::int
FROM an JOIN detections d ON d.analysis_id = an.id
WHERE {day} >= {horizon}
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""
EXPIRY_FROM_AN = _EXPIRY_FROM_AN.format(day=DAY, horizon=HORIZON)

_REFRESH = """
CREATE OR REPLACE FUNCTION map_public_refresh(xs float8[], ys float8[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF xs IS NULL OR cardinality(xs) = 0 THEN
        RETURN;
    END IF;
    PERFORM map_public_lock(xs, ys);
    DELETE FROM map_public_points p USING unnest(xs, ys) AS c (x, y) WHERE p.cx = c.x AND p.cy = c.y;
    DELETE FROM map_public_expiry e USING unnest(xs, ys) AS c (x, y) WHERE e.cx = c.x AND e.cy = c.y;
    WITH {cell_an}
    UPDATE map_public_cells m SET reports = (SELECT count(*) FROM an WHERE an.cx = m.cx AND an.cy = m.cy)
    FROM cells k WHERE m.cx = k.x AND m.cy = k.y;
    WITH {cell_an}
    {points};
    WITH {cell_an}
    {expiry};
END $$
"""
REFRESH = _REFRESH.format(cell_an=M4.CELL_AN, points=POINTS_FROM_AN, expiry=EXPIRY_FROM_AN)

_REBUILD = """
CREATE OR REPLACE FUNCTION map_public_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE map_public_cells IN EXCLUSIVE MODE;
    DELETE FROM map_public_expiry;
    DELETE FROM map_public_points;
    DELETE FROM map_public_cells;
    WITH {all_an}
    INSERT INTO map_public_cells (cx, cy, reports) SELECT cx, cy, count(*) FROM an GROUP BY 1, 2 ORDER BY 1, 2;
    WITH {all_an}
    {points};
    WITH {all_an}
    {expiry};
END $$
"""
REBUILD = _REBUILD.format(all_an=M4.ALL_AN, points=POINTS_FROM_AN, expiry=EXPIRY_FROM_AN)

_ADD_DETECTIONS = """
CREATE OR REPLACE FUNCTION map_public_add_detections(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
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
    INSERT INTO map_public_points AS p (cx, cy, type_key, site_type, n, risk, last_seen, high_n, detection_risk)
    SELECT cx, cy, coalesce(site_type::text, ''), site_type, n, risk, last_seen, high_n, risk FROM (
        SELECT floor(ST_X(a.location) / CAST(0.01 AS float8)) AS cx,
               floor(ST_Y(a.location) / CAST(0.01 AS float8)) AS cy, d.breeding_site_type AS site_type,
               count(*)::int AS n, min(d.risk_level) AS risk, max(a.created_at) AS last_seen,
               count(*) FILTER (WHERE d.risk_level = 'ALTO')::int AS high_n
        FROM unnest(ids) AS i (id) JOIN detections d USING (id) JOIN analyses a ON a.id = d.analysis_id
        WHERE a.status = 'completed' AND a.location IS NOT NULL
        GROUP BY 1, 2, 3
    ) AS x
    ORDER BY 1, 2, 3
    ON CONFLICT (cx, cy, type_key) DO UPDATE
        SET n = p.n + excluded.n, risk = least(p.risk, excluded.risk),
            last_seen = greatest(p.last_seen, excluded.last_seen), high_n = p.high_n + excluded.high_n,
            detection_risk = least(p.detection_risk, excluded.detection_risk);
    DELETE FROM map_public_expiry e USING unnest(xs, ys) AS c (x, y)
    WHERE e.cx = c.x AND e.cy = c.y AND e.day < {horizon};
    INSERT INTO map_public_expiry AS e (cx, cy, day, n)
    SELECT floor(ST_X(a.location) / CAST(0.01 AS float8)), floor(ST_Y(a.location) / CAST(0.01 AS float8)),
           {day}, count(*)::int
    FROM unnest(ids) AS i (id) JOIN detections d USING (id) JOIN analyses a ON a.id = d.analysis_id
    WHERE a.status = 'completed' AND a.location IS NOT NULL AND {day} >= {horizon}
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (cx, cy, day) DO UPDATE SET n = e.n + excluded.n;
END $$
"""
ADD_DETECTIONS = _ADD_DETECTIONS.format(day=DAY, horizon=HORIZON)

DETECTIONS_UPDATED = """
CREATE OR REPLACE FUNCTION map_public_detections_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    -- Validations change nothing here: only the analysis, type, risk and expiry count.
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT DISTINCT floor(ST_X(a.location) / CAST(0.01 AS float8)) AS cx,
                        floor(ST_Y(a.location) / CAST(0.01 AS float8)) AS cy
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id
        JOIN analyses a ON a.id IN (o.analysis_id, n.analysis_id)
        WHERE (o.analysis_id, o.breeding_site_type, o.risk_level, o.expires_at)
              IS DISTINCT FROM (n.analysis_id, n.breeding_site_type, n.risk_level, n.expires_at)
          AND a.status = 'completed' AND a.location IS NOT NULL
    ) AS c;
    PERFORM map_public_refresh(xs, ys);
    RETURN NULL;
END $$
"""

FUNCTIONS = [REFRESH, REBUILD, ADD_DETECTIONS, DETECTIONS_UPDATED]
REPLACED = (
    "map_public_refresh(",
    "map_public_rebuild(",
    "map_public_add_detections(",
    "map_public_detections_updated(",
)


def upgrade() -> None:
    op.add_column("map_public_points", sa.Column("high_n", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column(
        "map_public_points",
        sa.Column("detection_risk", postgresql.ENUM(name="risk_level", create_type=False), nullable=True),
    )
    op.create_table(
        "map_public_expiry",
        sa.Column("cx", sa.Float(precision=53), nullable=False),
        sa.Column("cy", sa.Float(precision=53), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cx", "cy", "day", name=op.f("pk_map_public_expiry")),
    )
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute("SELECT map_public_rebuild()")


def downgrade() -> None:
    for statement in M4.FUNCTIONS:
        if any(f"CREATE FUNCTION {name}" in statement for name in REPLACED):
            op.execute(statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.drop_table("map_public_expiry")
    op.drop_column("map_public_points", "detection_risk")
    op.drop_column("map_public_points", "high_n")
