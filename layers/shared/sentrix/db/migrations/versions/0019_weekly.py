"""The weekly bulletin to subscribers (issue #20, docs/alerts.md "Schedule" and "Subscriptions and delivery").

- `alert_subscriptions.weekly_bulletin`: whether the subscription also gets its territory's weekly bulletin
  each epidemiological week (default true; existing subscriptions get it too).
- `subscription_deliveries` holds two kinds of delivery: `kind` `level_change` (every row so far: `change_id`
  set, `week` null, unique per (subscription, change) as before) or `weekly_bulletin` (`week` the
  epidemiological week's label, `2025-SE53`, `change_id` null), unique per (subscription, week) by a partial
  index — the weekly job's `ON CONFLICT DO NOTHING` makes a bulletin reach a subscriber once per week however
  often, or however concurrently, the job runs. `change` holds what is sent, as for a level change.
- `subscription_delivery_attempts.change_id` may be null (an attempt of a bulletin delivery; `delivery_id`
  names it).

No new table, so no new grant: the application role's privileges on these tables (0009, 0017) cover the new
columns.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "alert_subscriptions",
        sa.Column("weekly_bulletin", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column(
        "subscription_deliveries",
        sa.Column("kind", sa.String(length=16), server_default=sa.text("'level_change'"), nullable=False),
    )
    op.add_column("subscription_deliveries", sa.Column("week", sa.String(length=16), nullable=True))
    op.alter_column("subscription_deliveries", "change_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_check_constraint(
        op.f("ck_subscription_deliveries_kind"),
        "subscription_deliveries",
        "(kind = 'level_change' AND change_id IS NOT NULL AND week IS NULL) "
        "OR (kind = 'weekly_bulletin' AND change_id IS NULL AND week ~ '^[0-9]{4}-SE[0-9]{2}$')",
    )
    op.create_index(
        "uq_subscription_deliveries_subscription_id_week",
        "subscription_deliveries",
        ["subscription_id", "week"],
        unique=True,
        postgresql_where=sa.text("kind = 'weekly_bulletin'"),
    )
    op.alter_column("subscription_delivery_attempts", "change_id", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM subscription_deliveries WHERE kind = 'weekly_bulletin'")
    op.alter_column("subscription_delivery_attempts", "change_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_index("uq_subscription_deliveries_subscription_id_week", table_name="subscription_deliveries")
    op.drop_constraint(op.f("ck_subscription_deliveries_kind"), "subscription_deliveries", type_="check")
    op.alter_column("subscription_deliveries", "change_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_column("subscription_deliveries", "week")
    op.drop_column("subscription_deliveries", "kind")
    op.drop_column("alert_subscriptions", "weekly_bulletin")
