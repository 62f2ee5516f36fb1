"""Session cut-off per user, processing start of an analysis, and who extended a detection's validity.

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
    # Who extended a detection's validity and when (the reason column exists since 0001).
    op.add_column("detections", sa.Column("validity_extended_by", sa.UUID(), nullable=True))
    op.add_column("detections", sa.Column("validity_extended_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_detections_validity_extended_by_users"),
        "detections",
        "users",
        ["validity_extended_by"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_detections_validity_extended_by_users"), "detections", type_="foreignkey")
    op.drop_column("detections", "validity_extended_at")
    op.drop_column("detections", "validity_extended_by")
    op.drop_column("analyses", "processing_started_at")
    op.drop_column("users", "tokens_valid_after")
