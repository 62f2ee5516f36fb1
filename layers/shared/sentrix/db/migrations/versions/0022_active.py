"""The public map rollup learns the active map and the people behind each cell (issue 21: the anonymous active
heatmap at most 0.5x a plain GROUP BY at 1M detections; the whole-map heatmap's k-anonymity test counted each
cell's people live, which at 1M detections took longer than the statement timeout).

- `map_public_active` holds, per public cell (0.01°), breeding-site type and UTC day, what the anonymous active
  heatmap computes from the detections no expert rejected of counted (completed, located) analyses: the
  detections, the ALTO ones, the highest risk, the newest analysis time. The day is that of
  `expires_at - 1 µs`, so a detection is active at midnight D (the public view's instant) exactly when its day
  is D or later; rows from yesterday on are kept (as `map_public_expiry`, 0005).
- `map_public_people` holds, per cell and user, how many of the user's detections the rollup counts there and
  the last day one of them is active (analyses whose user was deleted keep their detections on the map, and
  count for nobody, as `count(DISTINCT user_id)` ignores them). A cell's people for k-anonymity are its rows
  (the whole map), or its rows whose last day is D or later (the active map at D): the same people the live
  queries count (users with a counted analysis in the cell holding a counted detection), read as an index
  range.

Maintenance follows the rollup's (0004, 0005, 0007), in the same functions and under the same cell locks:
detections added to counted analyses add to the rows (counts add; the highest risk, the newest time and the last
day only grow); anything else recomputes the affected cells (`map_public_refresh`: the detections trigger
already does so for a changed expiry or verdict), and a rebuild rebuilds both tables. A recomputation deletes
the cell's rows first and rows are written only for at least one detection.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

# ruff: noqa: S608 - the SQL is assembled from constants of this file and of earlier migrations, no value
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from sentrix.db.migrations.earlier import migration

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


M7 = migration("0007_expert_verdicts.py")
M5 = M7.M5
M4 = M5.M4
NOT_REJECTED = M7.NOT_REJECTED
HORIZON = M5.HORIZON
# The UTC day of the last microsecond a detection is active.
DAY = "((d.expires_at - interval '1 microsecond') AT TIME ZONE 'UTC')::date"
CELL = "floor(ST_X(a.location) / CAST(0.01 AS float8)), floor(ST_Y(a.location) / CAST(0.01 AS float8))"


def _replace(text: str, old: str, new: str, count: int = 1) -> str:
    # 0007's checked rewrite: each must hit exactly the places it is meant for.
    return M7._replace(text, old, new, count)


def _with_user(an: str) -> str:
    return _replace(an, "SELECT a.id, a.created_at,", "SELECT a.id, a.user_id, a.created_at,")


PEOPLE_FROM_AN = f"""
INSERT INTO map_public_people (cx, cy, user_id, n, last_day)
SELECT an.cx, an.cy, an.user_id, count(*)::int, max({DAY})
FROM an JOIN detections d ON d.analysis_id = an.id AND {NOT_REJECTED}
WHERE an.user_id IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3"""

ACTIVE_FROM_AN = f"""
INSERT INTO map_public_active (cx, cy, type_key, day, site_type, n, high_n, risk, last_seen)
SELECT an.cx, an.cy, coalesce(d.breeding_site_type::text, ''), {DAY}, d.breeding_site_type, count(*)::int,
       count(*) FILTER (WHERE d.risk_level = 'ALTO')::int, min(d.risk_level), max(an.created_at)
FROM an JOIN detections d ON d.analysis_id = an.id AND {NOT_REJECTED}
WHERE {DAY} >= {HORIZON}
GROUP BY an.cx, an.cy, d.breeding_site_type, {DAY}
ORDER BY 1, 2, 3, 4"""

_END = "\nEND $$\n"
_CLEAR_EXPIRY = "\n    DELETE FROM map_public_expiry;"
CLEAR_CELLS = """
    DELETE FROM map_public_people q USING unnest(xs, ys) AS c (x, y) WHERE q.cx = c.x AND q.cy = c.y;
    DELETE FROM map_public_active q USING unnest(xs, ys) AS c (x, y) WHERE q.cx = c.x AND q.cy = c.y;"""

REFRESH = _replace(
    M7.REFRESH,
    _END,
    f"{CLEAR_CELLS}\n    WITH {_with_user(M4.CELL_AN)}\n    {PEOPLE_FROM_AN};"
    f"\n    WITH {M4.CELL_AN}\n    {ACTIVE_FROM_AN};{_END}",
)
REBUILD = _replace(
    _replace(
        M7.REBUILD,
        _CLEAR_EXPIRY,
        "\n    DELETE FROM map_public_people;\n    DELETE FROM map_public_active;" + _CLEAR_EXPIRY,
    ),
    _END,
    f"\n    WITH {_with_user(M4.ALL_AN)}\n    {PEOPLE_FROM_AN};\n    WITH {M4.ALL_AN}\n    {ACTIVE_FROM_AN};{_END}",
)
ADD_DETECTIONS = _replace(
    M7.ADD_DETECTIONS,
    _END,
    f"""
    INSERT INTO map_public_people AS q (cx, cy, user_id, n, last_day)
    SELECT {CELL}, a.user_id, count(*)::int, max({DAY})
    FROM unnest(ids) AS i (id) JOIN detections d USING (id) JOIN analyses a ON a.id = d.analysis_id
    WHERE a.status = 'completed' AND a.location IS NOT NULL AND {NOT_REJECTED} AND a.user_id IS NOT NULL
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (cx, cy, user_id) DO UPDATE
        SET n = q.n + excluded.n, last_day = greatest(q.last_day, excluded.last_day);
    DELETE FROM map_public_active q USING unnest(xs, ys) AS c (x, y)
    WHERE q.cx = c.x AND q.cy = c.y AND q.day < {HORIZON};
    INSERT INTO map_public_active AS q (cx, cy, type_key, day, site_type, n, high_n, risk, last_seen)
    SELECT {CELL}, coalesce(d.breeding_site_type::text, ''), {DAY}, d.breeding_site_type, count(*)::int,
           count(*) FILTER (WHERE d.risk_level = 'ALTO')::int, min(d.risk_level), max(a.created_at)
    FROM unnest(ids) AS i (id) JOIN detections d USING (id) JOIN analyses a ON a.id = d.analysis_id
    WHERE a.status = 'completed' AND a.location IS NOT NULL AND {NOT_REJECTED} AND {DAY} >= {HORIZON}
    GROUP BY 1, 2, d.breeding_site_type, {DAY}
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (cx, cy, type_key, day) DO UPDATE
        SET n = q.n + excluded.n, high_n = q.high_n + excluded.high_n, risk = least(q.risk, excluded.risk),
            last_seen = greatest(q.last_seen, excluded.last_seen);{_END}""",
)
FUNCTIONS = [REFRESH, REBUILD, ADD_DETECTIONS]


def upgrade() -> None:
    op.create_table(
        "map_public_people",
        sa.Column("cx", sa.Float(precision=53), nullable=False),
        sa.Column("cy", sa.Float(precision=53), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("cx", "cy", "user_id", name=op.f("pk_map_public_people")),
    )
    op.create_table(
        "map_public_active",
        sa.Column("cx", sa.Float(precision=53), nullable=False),
        sa.Column("cy", sa.Float(precision=53), nullable=False),
        sa.Column("type_key", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("site_type", postgresql.ENUM(name="breeding_site_type", create_type=False), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("high_n", sa.Integer(), nullable=False),
        sa.Column("risk", postgresql.ENUM(name="risk_level", create_type=False), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cx", "cy", "type_key", "day", name=op.f("pk_map_public_active")),
    )
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute("SELECT map_public_rebuild()")


def downgrade() -> None:
    for statement in (M7.REFRESH, M7.REBUILD, M7.ADD_DETECTIONS):
        op.execute(statement)
    op.drop_table("map_public_active")
    op.drop_table("map_public_people")
