"""The public map-stats rollup (issue 21): the figures of `GET /map-stats` for the public view (every counted
analysis, no bbox, date, risk or territory filter, verdict `not_rejected`, validity judged at a UTC midnight),
kept by triggers so the anonymous map's statistics read a few thousand rows instead of a million.

Tables (each holds sums a query adds up; every row is a group, never one detection):
- `map_stats_analyses` (UTC day of `created_at`, risk level or '' for none, located or not): counted analyses;
- `map_stats_reporters` (user): counted analyses per person (k-anonymity counts the people with n > 0);
- `map_stats_detections` (type or 'Otro', ALTO or not, verdict, UTC day the validity ends): every detection of
  a counted analysis, and the sum of its mask areas; the day is that of `expires_at - 1 µs`, so a detection is
  active at midnight D exactly when its day is D or later;
- `map_stats_found` (UTC day of the detection's `created_at`, verdict): the 7-day trend;
- `map_stats_zones` (0.001° zone of the analysis): the latest `expires_at` of the zone's detections no expert
  rejected (a zone is active at T when it is later than T).

Maintenance, in the writing transaction (statement triggers with transition tables, like 0004):
- the first four tables take signed deltas: a write subtracts what the old rows contributed and adds what the
  new rows contribute (`INSERT … ON CONFLICT DO UPDATE SET n = n + delta`), so concurrent writers never lose
  an update (the row lock of the upsert serialises them; READ COMMITTED re-reads the row); the day-keyed groups
  would be one hot row for every writer of the day, so each group has 32 shards (`shard`: the analysis' public
  cell folded into 16, unlocated analyses' ids into 16 more) and readers add them up: writers in different
  cells rarely wait for each other (never in neighbouring cells), in one cell they already do (0004's lock);
- a detection's contribution depends on its analysis (completed? its zone): the `map_lock_analyses_of_*`
  triggers (firing first: trigger names in order, before 0004's cell locks) lock their analyses FOR SHARE, so
  an analysis changing state in another transaction is either seen as committed or waits for the detection's
  writer; an analysis whose state changes moves its detections'
  contributions with it (old state out, new state in), reading them after its own row lock;
- deleting an analysis subtracts its detections' contributions first (a BEFORE ROW trigger: the cascade then
  finds no analysis and subtracts nothing);
- zones grow by `greatest()` on additions and are recomputed from the base tables (after locking their rows,
  zones in order) on anything else, as 0004 does for cells;
- TRUNCATE of either base table rebuilds everything; `SELECT map_stats_rebuild()` does it by hand.
Mask areas are float8 sums: exact when the areas are multiples of a power of two (the outline areas are halves
of whole pixels); otherwise equal to a fresh sum up to float rounding.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

# ruff: noqa: S608 - the SQL is assembled from constants of this file, no value is interpolated

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ZONE = "CAST(0.001 AS float8)"
# Which of 32 rows of a group a write adds to: the analysis' public cell (0.01°) folded into 16 (neighbouring
# cells always differ), or for an unlocated analysis its id folded into 16 more. Two detect functions storing at
# the same moment then rarely touch the same rows (a sum row is locked until its writer commits); readers add the
# shards up. Deltas need not land where they were added: only the sums per group mean anything.
SHARD = (
    "(CASE WHEN {a}.location IS NULL THEN 16 + abs(hashtext({a}.id::text) % 16) "
    "ELSE ((floor(ST_X({a}.location) / CAST(0.01 AS float8))::bigint * 31 "
    "+ floor(ST_Y({a}.location) / CAST(0.01 AS float8))::bigint) % 16 + 16) % 16 END)::smallint"
)
# The UTC day whose midnight a detection outlives last (active at midnight D <=> expiry_day >= D).
EXPIRY_DAY = "((({d}.expires_at - interval '1 microsecond') AT TIME ZONE 'UTC')::date)"

# Signed analysis rows `src` (an analyses row type plus `s`): their delta.
ANALYSES_DELTA = """
INSERT INTO map_stats_analyses AS m (shard, day, risk_key, located, n)
SELECT {shard}, (src.created_at AT TIME ZONE 'UTC')::date, coalesce(src.risk_level::text, ''),
       src.location IS NOT NULL, sum(src.s)
FROM ({src}) AS src WHERE src.status = 'completed'
GROUP BY 1, 2, 3, 4 HAVING sum(src.s) <> 0 ORDER BY 1, 2, 3, 4
ON CONFLICT (shard, day, risk_key, located) DO UPDATE SET n = m.n + excluded.n;
INSERT INTO map_stats_reporters AS m (user_id, n)
SELECT src.user_id, sum(src.s)
FROM ({src}) AS src WHERE src.status = 'completed' AND src.user_id IS NOT NULL
GROUP BY 1 HAVING sum(src.s) <> 0 ORDER BY 1
ON CONFLICT (user_id) DO UPDATE SET n = m.n + excluded.n;
"""

ANALYSES_DELTA = ANALYSES_DELTA.replace("{shard}", SHARD.format(a="src"))

# Signed (detection d, analysis a, s) rows `src`: their delta (detections of counted analyses only).
DETECTIONS_DELTA = """
INSERT INTO map_stats_detections AS m (shard, site_key, alto, status, expiry_day, n, mask_area)
SELECT src.shard, coalesce(src.site_type::text, 'Otro'), src.risk = 'ALTO', src.status, src.expiry_day,
       sum(src.s), coalesce(sum(src.s * src.mask_area), 0)
FROM ({src}) AS src WHERE src.a_status = 'completed'
GROUP BY 1, 2, 3, 4, 5 HAVING sum(src.s) <> 0 OR coalesce(sum(src.s * src.mask_area), 0) <> 0
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (shard, site_key, alto, status, expiry_day) DO UPDATE
    SET n = m.n + excluded.n, mask_area = m.mask_area + excluded.mask_area;
INSERT INTO map_stats_found AS m (shard, day, status, n)
SELECT src.shard, (src.created_at AT TIME ZONE 'UTC')::date, src.status, sum(src.s)
FROM ({src}) AS src WHERE src.a_status = 'completed'
GROUP BY 1, 2, 3 HAVING sum(src.s) <> 0 ORDER BY 1, 2, 3
ON CONFLICT (shard, day, status) DO UPDATE SET n = m.n + excluded.n;
"""

# The columns of a detection row `d` of analysis `a` that DETECTIONS_DELTA reads, with sign {s}.
DETECTION_COLUMNS = (
    "d.breeding_site_type AS site_type, d.risk_level AS risk, d.validation_status AS status, "
    + EXPIRY_DAY.format(d="d")
    + " AS expiry_day, d.mask_area, d.created_at, a.status AS a_status, {s} AS s, "
    + SHARD.format(a="a").replace("{", "{{").replace("}", "}}")
    + " AS shard"
)

# The zones (into xs, ys, ordered) of the counted, located analyses `a` of `rows` (a FROM clause) matching `cond`.
ZONES_OF = """
SELECT array_agg(zx ORDER BY zx, zy), array_agg(zy ORDER BY zx, zy) INTO xs, ys FROM (
    SELECT DISTINCT floor(ST_X(a.location) / {zone}) AS zx, floor(ST_Y(a.location) / {zone}) AS zy
    FROM {rows} WHERE ({cond}) AND a.status = 'completed' AND a.location IS NOT NULL
) AS z;
"""


def _zones_of(rows: str, cond: str = "TRUE") -> str:
    return ZONES_OF.format(zone=ZONE, rows=rows, cond=cond)


# Detections whose update matters here (in a statement's old_rows / new_rows).
CHANGED = (
    "SELECT o.id, o.analysis_id AS old_analysis, n.analysis_id AS new_analysis FROM old_rows o "
    "JOIN new_rows n ON n.id = o.id WHERE (o.analysis_id, o.breeding_site_type, o.risk_level, o.validation_status, "
    "o.expires_at, o.mask_area, o.created_at) IS DISTINCT FROM (n.analysis_id, n.breeding_site_type, n.risk_level, "
    "n.validation_status, n.expires_at, n.mask_area, n.created_at)"
)
CHANGED_ANALYSES = f"SELECT old_analysis FROM ({CHANGED}) AS c UNION SELECT new_analysis FROM ({CHANGED}) AS c"
# Analyses whose update matters here: a counted one changing what the figures read, or one entering or leaving.
MOVED = (
    "SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id "
    "WHERE (o.status = 'completed' OR n.status = 'completed') "
    "AND (o.status, o.location, o.created_at, o.risk_level, o.user_id) "
    "IS DISTINCT FROM (n.status, n.location, n.created_at, n.risk_level, n.user_id)"
)
# Analyses entering or leaving the counted set: their detections move with them.
FLIPPED = (
    "SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id "
    "WHERE (o.status = 'completed') <> (n.status = 'completed')"
)


FUNCTIONS = [
    # Lock the zones (creating their rows), in order, then recompute each from the base tables.
    f"""
CREATE FUNCTION map_stats_zones_refresh(xs float8[], ys float8[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF xs IS NULL OR cardinality(xs) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO map_stats_zones (zx, zy)
    SELECT DISTINCT x, y FROM unnest(xs, ys) AS c (x, y) ORDER BY x, y
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM map_stats_zones z
    WHERE (z.zx, z.zy) IN (SELECT x, y FROM unnest(xs, ys) AS c (x, y))
    ORDER BY z.zx, z.zy
    FOR UPDATE OF z;
    UPDATE map_stats_zones z SET expires = (
        SELECT max(d.expires_at)
        FROM analyses a JOIN detections d ON d.analysis_id = a.id
        WHERE a.location && ST_MakeEnvelope(z.zx * {ZONE} - 1e-7, z.zy * {ZONE} - 1e-7,
                                            (z.zx + 1) * {ZONE} + 1e-7, (z.zy + 1) * {ZONE} + 1e-7, 4326)
          AND a.status = 'completed'
          AND floor(ST_X(a.location) / {ZONE}) = z.zx AND floor(ST_Y(a.location) / {ZONE}) = z.zy
          AND d.validation_status <> 'validated_negative'
    )
    FROM (SELECT DISTINCT x, y FROM unnest(xs, ys) AS c (x, y)) AS k
    WHERE z.zx = k.x AND z.zy = k.y;
END $$
""",
    # Additions: detections (ids) whose analyses are counted and located: zones only grow.
    f"""
CREATE FUNCTION map_stats_zones_add(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO map_stats_zones AS z (zx, zy, expires)
    SELECT floor(ST_X(a.location) / {ZONE}), floor(ST_Y(a.location) / {ZONE}), max(d.expires_at)
    FROM unnest(ids) AS i (id) JOIN detections d USING (id) JOIN analyses a ON a.id = d.analysis_id
    WHERE a.status = 'completed' AND a.location IS NOT NULL AND d.validation_status <> 'validated_negative'
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (zx, zy) DO UPDATE SET expires = greatest(z.expires, excluded.expires);
END $$
""",
    # Everything from the base tables.
    f"""
CREATE FUNCTION map_stats_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE map_stats_analyses, map_stats_reporters, map_stats_detections, map_stats_found, map_stats_zones
        IN EXCLUSIVE MODE;
    DELETE FROM map_stats_analyses;
    DELETE FROM map_stats_reporters;
    DELETE FROM map_stats_detections;
    DELETE FROM map_stats_found;
    DELETE FROM map_stats_zones;
    {ANALYSES_DELTA.format(src="SELECT a.*, 1 AS s FROM analyses a")}
    {DETECTIONS_DELTA.format(src=f"SELECT {DETECTION_COLUMNS.format(s=1)} FROM detections d JOIN analyses a ON a.id = d.analysis_id")}
    INSERT INTO map_stats_zones (zx, zy, expires)
    SELECT floor(ST_X(a.location) / {ZONE}), floor(ST_Y(a.location) / {ZONE}), max(d.expires_at)
    FROM analyses a JOIN detections d ON d.analysis_id = a.id
    WHERE a.status = 'completed' AND a.location IS NOT NULL AND d.validation_status <> 'validated_negative'
    GROUP BY 1, 2 ORDER BY 1, 2;
END $$
""",  # noqa: E501
    # Detections inserted: their analyses locked and read, contributions added, zones grown.
    f"""
CREATE FUNCTION map_stats_detections_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {DETECTIONS_DELTA.format(src=f"SELECT {DETECTION_COLUMNS.format(s=1)} FROM new_rows d JOIN analyses a ON a.id = d.analysis_id")}
    PERFORM map_stats_zones_add(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END $$
""",  # noqa: E501
    # Detections deleted (cascades from a deleted analysis find no analysis: its BEFORE trigger did the work).
    f"""
CREATE FUNCTION map_stats_detections_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    {DETECTIONS_DELTA.format(src=f"SELECT {DETECTION_COLUMNS.format(s=-1)} FROM old_rows d JOIN analyses a ON a.id = d.analysis_id")}
    {_zones_of("analyses a", "a.id IN (SELECT analysis_id FROM old_rows)")}
    PERFORM map_stats_zones_refresh(xs, ys);
    RETURN NULL;
END $$
""",  # noqa: E501
    # Detections updated: the changed ones leave with their old values and come back with the new.
    f"""
CREATE FUNCTION map_stats_detections_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    IF NOT EXISTS ({CHANGED}) THEN
        RETURN NULL;
    END IF;
    {DETECTIONS_DELTA.format(src=f"SELECT {DETECTION_COLUMNS.format(s=-1)} FROM old_rows d JOIN analyses a ON a.id = d.analysis_id WHERE d.id IN (SELECT id FROM ({CHANGED}) AS c) UNION ALL SELECT {DETECTION_COLUMNS.format(s=1)} FROM new_rows d JOIN analyses a ON a.id = d.analysis_id WHERE d.id IN (SELECT id FROM ({CHANGED}) AS c)")}
    {_zones_of("analyses a", f"a.id IN ({CHANGED_ANALYSES})")}
    PERFORM map_stats_zones_refresh(xs, ys);
    RETURN NULL;
END $$
""",  # noqa: E501
    # Analyses inserted: their own contributions (no detection can point at them yet).
    f"""
CREATE FUNCTION map_stats_analyses_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {ANALYSES_DELTA.format(src="SELECT n.*, 1 AS s FROM new_rows n")}
    RETURN NULL;
END $$
""",
    # Analyses updated in a way that matters: old state out, new state in, for them and their detections.
    f"""
CREATE FUNCTION map_stats_analyses_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    IF NOT EXISTS ({MOVED}) THEN
        RETURN NULL;
    END IF;
    {ANALYSES_DELTA.format(src=f"SELECT o.*, -1 AS s FROM old_rows o WHERE o.id IN ({MOVED}) UNION ALL SELECT n.*, 1 AS s FROM new_rows n WHERE n.id IN ({MOVED})")}
    {DETECTIONS_DELTA.format(src=f"SELECT {DETECTION_COLUMNS.format(s=-1)} FROM old_rows a JOIN detections d ON d.analysis_id = a.id WHERE a.id IN ({FLIPPED}) UNION ALL SELECT {DETECTION_COLUMNS.format(s=1)} FROM new_rows a JOIN detections d ON d.analysis_id = a.id WHERE a.id IN ({FLIPPED})")}
    SELECT array_agg(zx ORDER BY zx, zy), array_agg(zy ORDER BY zx, zy) INTO xs, ys FROM (
        SELECT floor(ST_X(a.location) / {ZONE}) AS zx, floor(ST_Y(a.location) / {ZONE}) AS zy
        FROM old_rows a WHERE a.id IN ({MOVED}) AND a.status = 'completed' AND a.location IS NOT NULL
        UNION
        SELECT floor(ST_X(a.location) / {ZONE}), floor(ST_Y(a.location) / {ZONE})
        FROM new_rows a WHERE a.id IN ({MOVED}) AND a.status = 'completed' AND a.location IS NOT NULL
    ) AS z;
    PERFORM map_stats_zones_refresh(xs, ys);
    RETURN NULL;
END $$
""",  # noqa: E501
    # An analysis about to be deleted: its detections' contributions leave first (the cascade cannot tell).
    f"""
CREATE FUNCTION map_stats_analysis_deleting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'completed' THEN
        {DETECTIONS_DELTA.format(src=f"SELECT {DETECTION_COLUMNS.format(s=-1)} FROM detections d CROSS JOIN (SELECT OLD.status, OLD.location, OLD.id) AS a WHERE d.analysis_id = OLD.id")}
    END IF;
    RETURN OLD;
END $$
""",  # noqa: E501
    f"""
CREATE FUNCTION map_stats_analyses_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    {ANALYSES_DELTA.format(src="SELECT o.*, -1 AS s FROM old_rows o")}
    {_zones_of("old_rows a")}
    PERFORM map_stats_zones_refresh(xs, ys);
    RETURN NULL;
END $$
""",
    # The analyses of written detections, locked FOR SHARE before any trigger reads whether they are counted: an
    # analysis changing state in another transaction is then committed first or waits for this one. These
    # triggers are named to fire before every other statement trigger of detections (names in order), so the
    # analysis is locked before 0004's cells, the order an analysis update takes them in (no deadlock).
    """
CREATE FUNCTION map_lock_analyses_of_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM analyses a WHERE a.id IN (SELECT analysis_id FROM new_rows) ORDER BY a.id FOR SHARE;
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_lock_analyses_of_old_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM analyses a WHERE a.id IN (SELECT analysis_id FROM old_rows) ORDER BY a.id FOR SHARE;
    RETURN NULL;
END $$
""",
    f"""
CREATE FUNCTION map_lock_analyses_of_changed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS ({CHANGED}) THEN
        PERFORM 1 FROM analyses a WHERE a.id IN ({CHANGED_ANALYSES}) ORDER BY a.id FOR SHARE;
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION map_stats_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM map_stats_rebuild();
    RETURN NULL;
END $$
""",
]

TRIGGERS = [
    ("map_lock_analyses_of_new_rows", "AFTER INSERT ON detections REFERENCING NEW TABLE AS new_rows", "detections"),
    ("map_lock_analyses_of_old_rows", "AFTER DELETE ON detections REFERENCING OLD TABLE AS old_rows", "detections"),
    (
        "map_lock_analyses_of_changed_rows",
        "AFTER UPDATE ON detections REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "detections",
    ),
    ("map_stats_detections_inserted", "AFTER INSERT ON detections REFERENCING NEW TABLE AS new_rows", "detections"),
    ("map_stats_detections_deleted", "AFTER DELETE ON detections REFERENCING OLD TABLE AS old_rows", "detections"),
    (
        "map_stats_detections_updated",
        "AFTER UPDATE ON detections REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "detections",
    ),
    ("map_stats_analyses_inserted", "AFTER INSERT ON analyses REFERENCING NEW TABLE AS new_rows", "analyses"),
    (
        "map_stats_analyses_updated",
        "AFTER UPDATE ON analyses REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "analyses",
    ),
    ("map_stats_analyses_deleted", "AFTER DELETE ON analyses REFERENCING OLD TABLE AS old_rows", "analyses"),
]

FUNCTION_NAMES = [
    "map_stats_truncated()",
    "map_stats_analyses_deleted()",
    "map_stats_analysis_deleting()",
    "map_stats_analyses_updated()",
    "map_stats_analyses_inserted()",
    "map_stats_detections_updated()",
    "map_stats_detections_deleted()",
    "map_stats_detections_inserted()",
    "map_stats_rebuild()",
    "map_stats_zones_add(uuid[])",
    "map_stats_zones_refresh(float8[], float8[])",
    "map_lock_analyses_of_changed_rows()",
    "map_lock_analyses_of_old_rows()",
    "map_lock_analyses_of_new_rows()",
]


def _n() -> sa.Column:
    return sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "map_stats_analyses",
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("risk_key", sa.String(length=10), nullable=False),
        sa.Column("located", sa.Boolean(), nullable=False),
        _n(),
        sa.PrimaryKeyConstraint("shard", "day", "risk_key", "located", name=op.f("pk_map_stats_analyses")),
    )
    op.create_table(
        "map_stats_reporters",
        sa.Column("user_id", sa.UUID(), nullable=False),
        _n(),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_map_stats_reporters")),
    )
    op.create_table(
        "map_stats_detections",
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("site_key", sa.String(length=100), nullable=False),
        sa.Column("alto", sa.Boolean(), nullable=False),
        sa.Column("status", postgresql.ENUM(name="validation_status", create_type=False), nullable=False),
        sa.Column("expiry_day", sa.Date(), nullable=False),
        _n(),
        sa.Column("mask_area", sa.Float(precision=53), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint(
            "shard", "site_key", "alto", "status", "expiry_day", name=op.f("pk_map_stats_detections")
        ),
    )
    op.create_table(
        "map_stats_found",
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", postgresql.ENUM(name="validation_status", create_type=False), nullable=False),
        _n(),
        sa.PrimaryKeyConstraint("shard", "day", "status", name=op.f("pk_map_stats_found")),
    )
    op.create_table(
        "map_stats_zones",
        sa.Column("zx", sa.Float(precision=53), nullable=False),
        sa.Column("zy", sa.Float(precision=53), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("zx", "zy", name=op.f("pk_map_stats_zones")),
    )
    # Active zones at T: an index range (expires > T), counted index-only.
    op.create_index(op.f("ix_map_stats_zones_expires"), "map_stats_zones", ["expires"], unique=False)
    for statement in FUNCTIONS:
        op.execute(statement)
    for name, when, _table in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    op.execute(
        "CREATE TRIGGER map_stats_analysis_deleting BEFORE DELETE ON analyses "
        "FOR EACH ROW EXECUTE FUNCTION map_stats_analysis_deleting()"
    )
    for table in ("analyses", "detections"):
        op.execute(
            f"CREATE TRIGGER map_stats_{table}_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION map_stats_truncated()"
        )
    op.execute("SELECT map_stats_rebuild()")


def downgrade() -> None:
    for table in ("detections", "analyses"):
        op.execute(f"DROP TRIGGER map_stats_{table}_truncated ON {table}")
    op.execute("DROP TRIGGER map_stats_analysis_deleting ON analyses")
    for name, _when, table in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for signature in FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index(op.f("ix_map_stats_zones_expires"), table_name="map_stats_zones")
    for table in ("map_stats_zones", "map_stats_found", "map_stats_detections", "map_stats_reporters"):
        op.drop_table(table)
    op.drop_table("map_stats_analyses")
