"""Cluster alerts (issue #20, point 2; docs/alerts.md).

- `alerts`: one cluster of confirmed open sites followed over time — status (open, closed), level (yellow,
  red), its main territory, size, when it opened, last grew and closed, and why (quiet, merged).
- `alert_sites`: the sites of an alert, when each joined and (a split) left, and how (cluster, merge, split).
- `alert_events`: the alert's timeline (opened, grew, level, merged, split, closed) with details.
- `alert_level_changes`: the territories' level history, one row per change (old and new level, the alert
  behind the new level): what delivery (subscriptions, point 3) reads after the last id it sent.

The application role may SELECT and INSERT everything; UPDATE alerts and alert_sites (an alert grows and
closes, a site leaves on a split); never DELETE, and the timeline and the level history are append-only.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from sentrix.db.migrations.earlier import migration

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


M9 = migration("0009_application_role.py")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("territory_code", sa.String(length=64), nullable=True),
        sa.Column("site_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("location", Geometry(geometry_type="POINT", srid=4326, spatial_index=False), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_growth_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=16), nullable=True),
        sa.Column("merged_into", sa.UUID(), nullable=True),
        sa.Column("split_from", sa.UUID(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into"], ["alerts.id"], name=op.f("fk_alerts_merged_into_alerts")),
        sa.ForeignKeyConstraint(["split_from"], ["alerts.id"], name=op.f("fk_alerts_split_from_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_status_level"), "alerts", ["status", "level"], unique=False)
    op.create_index(op.f("ix_alerts_territory_code"), "alerts", ["territory_code"], unique=False)
    op.create_index(op.f("ix_alerts_updated_at"), "alerts", ["updated_at"], unique=False)

    op.create_table(
        "alert_sites",
        sa.Column("alert_id", sa.UUID(), nullable=False),
        sa.Column("site_id", sa.UUID(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_sites_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_alert_sites_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", "site_id", name=op.f("pk_alert_sites")),
    )
    op.create_index(op.f("ix_alert_sites_site_id"), "alert_sites", ["site_id"], unique=False)

    op.create_table(
        "alert_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index(op.f("ix_alert_events_alert_id_at"), "alert_events", ["alert_id", "at"], unique=False)

    op.create_table(
        "alert_level_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("territory_code", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.UUID(), nullable=True),
        sa.Column("old_level", sa.String(length=8), nullable=False),
        sa.Column("new_level", sa.String(length=8), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["territory_code"],
            ["territories.code"],
            name=op.f("fk_alert_level_changes_territory_code_territories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_level_changes_alert_id_alerts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_level_changes")),
    )
    op.create_index(
        op.f("ix_alert_level_changes_territory_code_id"), "alert_level_changes", ["territory_code", "id"], unique=False
    )

    role = M9.app_role()
    op.execute(f'REVOKE DELETE ON TABLE alerts, alert_sites FROM "{role}"')
    op.execute(f'REVOKE UPDATE, DELETE ON TABLE alert_events, alert_level_changes FROM "{role}"')


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_level_changes_territory_code_id"), table_name="alert_level_changes")
    op.drop_table("alert_level_changes")
    op.drop_index(op.f("ix_alert_events_alert_id_at"), table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index(op.f("ix_alert_sites_site_id"), table_name="alert_sites")
    op.drop_table("alert_sites")
    op.drop_index(op.f("ix_alerts_updated_at"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_territory_code"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_status_level"), table_name="alerts")
    op.drop_table("alerts")
