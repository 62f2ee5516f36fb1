"""Subscriptions to territory alert levels and their delivery (issue #20 point 3, docs/alerts.md).

- `alert_subscriptions`: who (an official or an admin) is told about which territory's level changes (`levels`:
  the new levels that matter), by which channel (`email` through SNS, `webhook` signed with HMAC-SHA256) and
  where (`target`). A webhook's signing secret is stored encrypted (AES-256-GCM, `secret_ciphertext`; the key
  is outside the database); an e-mail subscription keeps the ARN of its SNS subscription.
- `subscription_deliveries`: one row per (subscription, level change) — the unique pair is what makes a level
  change reach a subscriber once however often delivery runs — with the change as it was (`change`), its
  status (pending → delivered, or dead after the last failed attempt), attempts made and when the next is due.
- `subscription_delivery_attempts`: every attempt (subscription, change, attempt number, HTTP status, error,
  when). Append-only for the application role: it may not UPDATE or DELETE them (the rows go with their
  subscription, through the foreign key's cascade, which runs as the owner).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from sentrix.db.migrations.earlier import migration

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


M9 = migration("0009_application_role.py")


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("territory_code", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("levels", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("sns_subscription_arn", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f("ck_alert_subscriptions_channel")),
        sa.CheckConstraint(
            "cardinality(levels) > 0 AND levels <@ ARRAY['green', 'yellow', 'red']::varchar[]",
            name=op.f("ck_alert_subscriptions_levels"),
        ),
        sa.CheckConstraint(
            "(channel = 'webhook') = (secret_ciphertext IS NOT NULL)", name=op.f("ck_alert_subscriptions_secret")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_alert_subscriptions_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["territory_code"],
            ["territories.code"],
            name=op.f("fk_alert_subscriptions_territory_code_territories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_subscriptions")),
        sa.UniqueConstraint(
            "user_id",
            "territory_code",
            "channel",
            "target",
            name=op.f("uq_alert_subscriptions_user_id_territory_code_channel_target"),
        ),
    )
    op.create_index(op.f("ix_alert_subscriptions_territory_code"), "alert_subscriptions", ["territory_code"])
    op.create_table(
        "subscription_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("change", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name=op.f("ck_subscription_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["alert_subscriptions.id"],
            name=op.f("fk_subscription_deliveries_subscription_id_alert_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_deliveries")),
        sa.UniqueConstraint(
            "subscription_id", "change_id", name=op.f("uq_subscription_deliveries_subscription_id_change_id")
        ),
    )
    # The worker's claim: due pending rows, oldest first.
    op.create_index(
        "ix_subscription_deliveries_due",
        "subscription_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "subscription_delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["subscription_deliveries.id"],
            name=op.f("fk_subscription_delivery_attempts_delivery_id_subscription_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_subscription_delivery_attempts_delivery_id"), "subscription_delivery_attempts", ["delivery_id"]
    )
    role = M9.app_role()
    op.execute(f'REVOKE UPDATE, DELETE ON TABLE subscription_delivery_attempts FROM "{role}"')
    # Deliveries are never deleted by the functions (they go with their subscription).
    op.execute(f'REVOKE DELETE ON TABLE subscription_deliveries FROM "{role}"')


def downgrade() -> None:
    op.drop_table("subscription_delivery_attempts")
    op.drop_table("subscription_deliveries")
    op.drop_table("alert_subscriptions")
