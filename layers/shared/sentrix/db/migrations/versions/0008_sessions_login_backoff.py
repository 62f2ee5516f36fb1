"""Per-account streaks of consecutive failed sign-ins (backoff and the NIST SP 800-63B ceiling of issue 14).

Failed sign-ins are otherwise counted in `rate_limit_hits` per (account, source IP) and per source IP; the
account itself only keeps how many failures followed each other and when the last one was, until a success.
Access tokens name their session (`sid` = refresh-token family), checked against `refresh_tokens`, which
already has an index on `family_id`: no change there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure_streaks",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_login_failure_streaks")),
    )
    op.create_index(
        op.f("ix_login_failure_streaks_last_failure_at"), "login_failure_streaks", ["last_failure_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failure_streaks_last_failure_at"), table_name="login_failure_streaks")
    op.drop_table("login_failure_streaks")
