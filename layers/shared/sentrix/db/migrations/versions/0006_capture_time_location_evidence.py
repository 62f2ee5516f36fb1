"""Capture time and location evidence on analyses (issue 13, points 7 and 8).

`exif_location` keeps the photo's own GPS point beside a manual location, `location_discrepancy_m` the
distance between the two and `location_flagged` whether it is beyond the threshold (detect's setting,
500 m by default). `validity_basis` / `validity_from` / `validity_basis_reason` / `local_time_zone` say
from which moment the detections' validity counts (the capture time or the upload) and why.

Backfill: analyses located by EXIF GPS get `exif_location = location` (the only EXIF point that was
stored); analyses with detections get `validity_basis = 'uploaded_at'` and `validity_from` = their
completion time (detect counted their expiries from the moment it processed them). Expiries are NOT
recomputed from `taken_at`: old rows read a capture time without offset as UTC, so their `taken_at` is not
trustworthy enough to move expiries; new analyses count from the capture time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "analyses",
        sa.Column(
            "exif_location",
            geoalchemy2.types.Geometry(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=True,
        ),
    )
    op.add_column("analyses", sa.Column("location_discrepancy_m", sa.Float(), nullable=True))
    op.add_column(
        "analyses", sa.Column("location_flagged", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("analyses", sa.Column("validity_basis", sa.String(length=16), nullable=True))
    op.add_column("analyses", sa.Column("validity_from", sa.DateTime(timezone=True), nullable=True))
    op.add_column("analyses", sa.Column("validity_basis_reason", sa.String(length=40), nullable=True))
    op.add_column("analyses", sa.Column("local_time_zone", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE analyses SET exif_location = location WHERE location_source = 'EXIF_GPS' AND location IS NOT NULL"
    )
    op.execute(
        "UPDATE analyses AS a SET validity_basis = 'uploaded_at', "
        "validity_from = coalesce(a.completed_at, a.created_at) "
        "WHERE EXISTS (SELECT 1 FROM detections AS d WHERE d.analysis_id = a.id)"
    )


def downgrade() -> None:
    op.drop_column("analyses", "local_time_zone")
    op.drop_column("analyses", "validity_basis_reason")
    op.drop_column("analyses", "validity_from")
    op.drop_column("analyses", "validity_basis")
    op.drop_column("analyses", "location_flagged")
    op.drop_column("analyses", "location_discrepancy_m")
    op.drop_column("analyses", "exif_location")
