"""Sites: one record per breeding site however many detections show it, and its timeline (docs/sites.md).

- `sites`: the centroid of its members (detections with the site that are not rejected), the family
  (water-holding, refuse, road defect), the status (open, assigned, treated, closed, reopened, dismissed),
  first and last report times, reports (analyses), members, distinct reporters, whether an expert confirmed
  a member, recurrences, the radius it was merged with, its territory (nullable: territories come later),
  and when it was closed. A geography GiST index serves the merge's ST_DWithin.
- `site_actions`: the timeline (action, who, when, team, notes, evidence analysis, override, cause, the
  status before and after).
- `detections.site_id` (indexed; SET NULL if a site ever goes).

The application role (0009) may SELECT, INSERT and UPDATE sites and SELECT and INSERT site_actions: the
default privileges 0009 set would also give it DELETE (and UPDATE on the timeline), taken back here.
Merging takes transaction-level advisory locks (pg_advisory_xact_lock, PUBLIC may run it): no grant needed.

The merge itself is two SQL functions (one round trip per stored analysis): `sites_join` takes a photo's
detections with their families, the radii and the advisory lock keys (all computed by the functions'
Python rules, sentrix.domain.sites), locks, finds or starts each family's site, reopens a recently closed
one, puts the detections on it and recomputes the touched sites with `sites_refresh` (centroid, times,
counts, confirmation from the members). The application role runs them with its own rights (0009's default
privileges grant EXECUTE).

Backfill: every located detection of a known family, in the order they were stored (analysis by analysis),
goes through `sites_join` as detect's do now (family from the functions' class normalisation, radius from
SITE_RADIUS_*_M, 15 m by default); sites all of whose members an expert rejected are dismissed, as a
verdict does now.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from sentrix.db.migrations.earlier import migration

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FAMILIES = ("water", "refuse", "road")
STATUSES = ("open", "assigned", "treated", "closed", "reopened", "dismissed")
ACTIONS = ("assign", "treat", "verify", "close", "reopen", "dismiss", "create", "restore")


M9 = migration("0009_application_role.py")


def upgrade() -> None:
    family = postgresql.ENUM(*FAMILIES, name="site_family", create_type=False)
    status = postgresql.ENUM(*STATUSES, name="site_status", create_type=False)
    action = postgresql.ENUM(*ACTIONS, name="site_action", create_type=False)
    bind = op.get_bind()
    for enum in (family, status, action):
        enum.create(bind, checkfirst=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("family", family, nullable=False),
        sa.Column("status", status, server_default="open", nullable=False),
        sa.Column("location", Geometry(geometry_type="POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("first_report_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_report_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("detection_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reporter_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("confirmed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("recurrences", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("territory_code", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
    )
    op.create_index(
        "ix_sites_location_geog", "sites", [sa.literal_column("(location::geography)")], postgresql_using="gist"
    )
    op.create_index(op.f("ix_sites_family_status"), "sites", ["family", "status"], unique=False)
    op.create_index(op.f("ix_sites_last_report_at"), "sites", ["last_report_at"], unique=False)
    op.create_index(op.f("ix_sites_territory_code"), "sites", ["territory_code"], unique=False)

    op.create_table(
        "site_actions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("site_id", sa.UUID(), nullable=False),
        sa.Column("action", action, nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("evidence_analysis_id", sa.UUID(), nullable=True),
        sa.Column("override", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=True),
        sa.Column("from_status", status, nullable=True),
        sa.Column("to_status", status, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_actions_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_site_actions_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["evidence_analysis_id"],
            ["analyses.id"],
            name=op.f("fk_site_actions_evidence_analysis_id_analyses"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_actions")),
    )
    op.create_index(op.f("ix_site_actions_site_id_at"), "site_actions", ["site_id", "at"], unique=False)

    op.add_column("detections", sa.Column("site_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_detections_site_id_sites"), "detections", "sites", ["site_id"], ["id"], ondelete="SET NULL"
    )
    op.create_index(op.f("ix_detections_site_id"), "detections", ["site_id"], unique=False)

    op.execute(REFRESH_FUNCTION)
    op.execute(JOIN_FUNCTION)

    role = M9.app_role()
    op.execute(f'REVOKE DELETE ON TABLE sites FROM "{role}"')
    op.execute(f'REVOKE UPDATE, DELETE ON TABLE site_actions FROM "{role}"')

    _backfill(bind)


# --- The merge, in the database: one round trip per stored analysis ---------------------------------------
# Called by detect (sentrix.repositories.sites.join_or_create) with the rules' inputs computed in Python
# (families from the class normalisation, radii from the settings, advisory lock keys from the lock grid),
# and by the backfill below. Each statement of a PL/pgSQL function takes a fresh snapshot (READ COMMITTED):
# the search after the locks sees the site a writer that held them committed.
REFRESH_FUNCTION = """
CREATE FUNCTION sites_refresh(ids uuid[]) RETURNS TABLE (site_id uuid, members integer)
LANGUAGE sql AS $$
    UPDATE sites s SET
        location = coalesce(m.centroid, s.location),
        first_report_at = coalesce(m.first_at, s.first_report_at),
        last_report_at = coalesce(m.last_at, s.last_report_at),
        report_count = m.reports,
        detection_count = m.members,
        reporter_count = m.reporters,
        confirmed = coalesce(m.confirmed, false),
        updated_at = now()
    FROM unnest(ids) AS t (id)
    CROSS JOIN LATERAL (
        SELECT ST_Centroid(ST_Collect(d.location)) AS centroid, min(d.created_at) AS first_at,
               max(d.created_at) AS last_at, count(DISTINCT d.analysis_id) AS reports,
               count(*) AS members, count(DISTINCT a.user_id) AS reporters,
               bool_or(d.validation_status = 'validated_positive') AS confirmed
        FROM detections d JOIN analyses a ON a.id = d.analysis_id
        WHERE d.site_id = t.id AND d.validation_status <> 'validated_negative'
    ) AS m
    WHERE s.id = t.id
    RETURNING s.id, s.detection_count
$$
"""
JOIN_FUNCTION = """
CREATE FUNCTION sites_join(
    detection_ids uuid[], detection_families site_family[], families site_family[], radii float8[],
    latitude float8, longitude float8, recurrence_days integer, lock_keys bigint[]
) RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    p geometry := ST_SetSRID(ST_MakePoint(longitude, latitude), 4326);
    g geography := CAST(ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) AS geography);
    k bigint;
    f record;
    found_id uuid;
    found_status site_status;
    touched uuid[] := '{}';
    merged site_family[] := '{}';
BEGIN
    -- The caller sorts the keys: every writer locks in one order, so two merges never deadlock.
    FOREACH k IN ARRAY coalesce(lock_keys, '{}') LOOP
        PERFORM pg_advisory_xact_lock(k);
    END LOOP;
    FOR f IN SELECT u.family, u.radius FROM unnest(families, radii) AS u (family, radius) ORDER BY u.family LOOP
        -- The nearest site of the family within the radius that takes detections: active before closed
        -- within the recurrence window (ST_DWithin on geography: ix_sites_location_geog).
        SELECT s.id, s.status INTO found_id, found_status FROM sites s
        WHERE s.family = f.family
          AND ST_DWithin(CAST(s.location AS geography), g, f.radius)
          AND (s.status IN ('open', 'assigned', 'treated', 'reopened')
               OR (s.status = 'closed' AND s.closed_at >= now() - make_interval(days => recurrence_days)))
        ORDER BY s.status = 'closed', ST_Distance(CAST(s.location AS geography), g), s.id
        LIMIT 1
        FOR UPDATE;
        IF found_id IS NULL THEN
            found_id := gen_random_uuid();
            INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at)
            VALUES (found_id, f.family, 'open', p, f.radius, now(), now());
            INSERT INTO site_actions (id, site_id, action, from_status, to_status)
            VALUES (gen_random_uuid(), found_id, 'create', NULL, 'open');
        ELSIF found_status = 'closed' THEN
            UPDATE sites SET status = 'reopened', recurrences = recurrences + 1, closed_at = NULL
            WHERE id = found_id;
            INSERT INTO site_actions (id, site_id, action, cause, from_status, to_status)
            VALUES (gen_random_uuid(), found_id, 'reopen', 'recurrence', 'closed', 'reopened');
        END IF;
        touched := touched || found_id;
        merged := merged || f.family;
    END LOOP;
    -- One UPDATE for every family: the map rollup's statement trigger on detections fires once.
    UPDATE detections d SET site_id = m.site_id
    FROM unnest(detection_ids, detection_families) AS x (id, family)
    JOIN unnest(merged, touched) AS m (family, site_id) ON m.family = x.family
    WHERE d.id = x.id;
    PERFORM * FROM sites_refresh(touched);
    RETURN touched;
END $$
"""
FUNCTION_SIGNATURES = (
    "sites_join(uuid[], site_family[], site_family[], float8[], float8, float8, integer, bigint[])",
    "sites_refresh(uuid[])",
)


# --- Backfill: the live rule (sites_join), in the order the detections were stored --------------------------
_GROUPS = sa.text(
    """
    SELECT d.analysis_id, d.breeding_site_type, d.class_name, ST_X(d.location) AS lon, ST_Y(d.location) AS lat,
           array_agg(d.id ORDER BY d.id) AS ids
    FROM detections d
    WHERE d.location IS NOT NULL
    GROUP BY d.analysis_id, d.breeding_site_type, d.class_name, d.location
    ORDER BY min(d.created_at), d.analysis_id, d.breeding_site_type
    """
)
_JOIN = sa.text(
    "SELECT sites_join(CAST(:ids AS uuid[]), CAST(:detection_families AS site_family[]), "
    "CAST(:families AS site_family[]), CAST(:radii AS float8[]), :lat, :lon, 0, CAST(NULL AS bigint[]))"
)
# What a verdict does now to a site left without members (sentrix.repositories.sites.settle).
_DISMISS_EMPTY = sa.text(
    """
    WITH empty AS (
        UPDATE sites SET status = 'dismissed' WHERE detection_count = 0 AND status = 'open' RETURNING id
    )
    INSERT INTO site_actions (id, site_id, action, cause, from_status, to_status)
    SELECT gen_random_uuid(), id, 'dismiss', 'no_members', 'open', 'dismissed' FROM empty
    """
)


def _backfill(bind: sa.engine.Connection) -> None:
    from sentrix.config import Settings
    from sentrix.domain.sites import family_of

    settings = Settings()
    for group in bind.execute(_GROUPS).all():
        family = family_of(group.breeding_site_type or group.class_name)
        if family is None:
            continue
        bind.execute(
            _JOIN,
            {
                "ids": [str(i) for i in group.ids],
                "detection_families": [family.value] * len(group.ids),
                "families": [family.value],
                "radii": [settings.site_radius_m(family)],
                "lat": group.lat,
                "lon": group.lon,
            },
        )
    bind.execute(_DISMISS_EMPTY)


def downgrade() -> None:
    for signature in FUNCTION_SIGNATURES:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index(op.f("ix_detections_site_id"), table_name="detections")
    op.drop_constraint(op.f("fk_detections_site_id_sites"), "detections", type_="foreignkey")
    op.drop_column("detections", "site_id")
    op.drop_index(op.f("ix_site_actions_site_id_at"), table_name="site_actions")
    op.drop_table("site_actions")
    op.drop_index(op.f("ix_sites_territory_code"), table_name="sites")
    op.drop_index(op.f("ix_sites_last_report_at"), table_name="sites")
    op.drop_index(op.f("ix_sites_family_status"), table_name="sites")
    op.drop_index("ix_sites_location_geog", table_name="sites")
    op.drop_table("sites")
    for name in ("site_action", "site_status", "site_family"):
        op.execute(f"DROP TYPE {name}")
