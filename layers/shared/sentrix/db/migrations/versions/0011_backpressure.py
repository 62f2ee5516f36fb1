"""Backpressure deliveries of an analysis: how many of its claims ended with the YOLO host busy (HTTP 429).

A 429 is not a failure (issue 17): detect puts the message back for later and releases the claim. Every claim
still raises `attempts` (the fence of every later write must never repeat), so the attempts spent on failures
are `attempts - backpressure_delays`: that is what the failure budget (DETECT_MAX_ATTEMPTS) counts, and the
exponent of the next backpressure wait (sentrix_detect.logic.backpressure).

Idempotent (IF [NOT] EXISTS): a database stamped back over it upgrades again without error. The application
role's table grants (0009) already cover the column. Numbered after 0010 (detection shapes, issue 17 point 1).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE analyses ADD COLUMN IF NOT EXISTS backpressure_delays INTEGER NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE analyses DROP COLUMN IF EXISTS backpressure_delays")
