"""Session cut-off per user (password change, deactivation) and the processing start of an analysis.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Access tokens issued before this instant are refused (password change, forced logout).
    op.add_column("users", sa.Column("tokens_valid_after", sa.DateTime(timezone=True), nullable=True))
    # When the detect function took the analysis: a stuck `processing` row can be told from a live one.
    op.add_column("analyses", sa.Column("processing_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("analyses", "processing_started_at")
    op.drop_column("users", "tokens_valid_after")
