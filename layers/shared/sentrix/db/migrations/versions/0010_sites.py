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

Backfill: every located detection of a known family, in the order they were stored (analysis by analysis),
joins the nearest site of its family within the family's radius (SITE_RADIUS_*_M, 15 m by default) or starts
one, as detect does now; sites all of whose members an expert rejected are dismissed, as a verdict does now.
Frozen SQL of its own (not sentrix.repositories.sites, which follows the newest schema); the family comes
from the functions' class normalisation (sentrix.domain.sites.family_of).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FAMILIES = ("water", "refuse", "road")
STATUSES = ("open", "assigned", "treated", "closed", "reopened", "dismissed")
ACTIONS = ("assign", "treat", "verify", "close", "reopen", "dismiss", "create", "restore")


def _migration(name: str):
    spec = importlib.util.spec_from_file_location(f"sentrix_migration_{name[:4]}", Path(__file__).with_name(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


M9 = _migration("0009_application_role.py")


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

    role = M9.app_role()
    op.execute(f'REVOKE DELETE ON TABLE sites FROM "{role}"')
    op.execute(f'REVOKE UPDATE, DELETE ON TABLE site_actions FROM "{role}"')

    _backfill(bind)


# --- Backfill (the rule detect follows, frozen here) ----------------------------------------------------------
_GROUPS = sa.text(
    """
    SELECT d.analysis_id, d.breeding_site_type, d.class_name, ST_X(d.location) AS lon, ST_Y(d.location) AS lat,
           array_agg(d.id ORDER BY d.id) AS ids, min(d.created_at) AS at
    FROM detections d
    WHERE d.location IS NOT NULL
    GROUP BY d.analysis_id, d.breeding_site_type, d.class_name, d.location
    ORDER BY min(d.created_at), d.analysis_id
    """
)
_POINT = "ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)"
_NEAREST = sa.text(
    f"""
    SELECT id FROM sites
    WHERE family = CAST(:family AS site_family) AND status = 'open'
      AND ST_DWithin(CAST(location AS geography), CAST({_POINT} AS geography), :radius)
    ORDER BY ST_Distance(CAST(location AS geography), CAST({_POINT} AS geography)), id
    LIMIT 1
    """  # noqa: S608 - constant text
)
_CREATE = sa.text(
    "INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at, created_at) "  # noqa: S608
    f"VALUES (:id, CAST(:family AS site_family), 'open', {_POINT}, :radius, :at, :at, :at)"
)
_CREATED = sa.text(
    "INSERT INTO site_actions (id, site_id, action, at, from_status, to_status) "
    "VALUES (:id, :site, 'create', :at, NULL, 'open')"
)
_JOIN = sa.text("UPDATE detections SET site_id = :site WHERE id = ANY(CAST(:ids AS uuid[]))")
_REFRESH = sa.text(
    """
    UPDATE sites s SET
        location = coalesce(m.centroid, s.location),
        first_report_at = coalesce(m.first_at, s.first_report_at),
        last_report_at = coalesce(m.last_at, s.last_report_at),
        report_count = m.reports, detection_count = m.members, reporter_count = m.reporters,
        confirmed = coalesce(m.confirmed, false)
    FROM (
        SELECT ST_Centroid(ST_Collect(d.location)) AS centroid, min(d.created_at) AS first_at,
               max(d.created_at) AS last_at, count(DISTINCT d.analysis_id) AS reports, count(*) AS members,
               count(DISTINCT a.user_id) AS reporters,
               bool_or(d.validation_status = 'validated_positive') AS confirmed
        FROM detections d JOIN analyses a ON a.id = d.analysis_id
        WHERE d.site_id = :site AND d.validation_status <> 'validated_negative'
    ) AS m
    WHERE s.id = :site
    """
)
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
    import uuid

    from sentrix.config import Settings
    from sentrix.domain.sites import SiteFamily, family_of

    settings = Settings()
    for group in bind.execute(_GROUPS).all():
        family = family_of(group.breeding_site_type or group.class_name)
        if family is None:
            continue
        radius = settings.site_radius_m(SiteFamily(family))
        point = {"lat": group.lat, "lon": group.lon}
        site = bind.execute(_NEAREST, {"family": family.value, "radius": radius, **point}).scalar()
        if site is None:
            site = uuid.uuid4()
            bind.execute(_CREATE, {"id": site, "family": family.value, "radius": radius, "at": group.at, **point})
            bind.execute(_CREATED, {"id": uuid.uuid4(), "site": site, "at": group.at})
        bind.execute(_JOIN, {"site": site, "ids": [str(i) for i in group.ids]})
        bind.execute(_REFRESH, {"site": site})
    bind.execute(_DISMISS_EMPTY)


def downgrade() -> None:
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
