"""Detection shapes and areas we can trust (issue 17, point 1).

- `shape`: the detection's outline as a MultiPolygon in pixels of the original image (SRID 0: pixels have no
  spatial reference), cleaned at ingest by sentrix.shapes (valid, at most 256 vertices; docs/detect.md,
  *Shapes*). A fragmented mask keeps every part here; `polygon` (JSONB) keeps the largest part's ring for
  the clients that draw one ring.
- `mask_area_model_px`: the YOLO host's own `mask_area`, as it sent it. The original service measures it in
  its model's mask grid (the letterboxed ~640 px input), not in any image's pixels: kept for what it is.
- `mask_area` is from now on the area of the outline in square pixels of the original image.

Rows stored before: their `mask_area` was the host's figure scaled as if it were sent-image pixels (wrong by
about (long side sent / 640)² against the original service). It is recomputed here from the stored ring,
repaired if invalid (PostGIS `ST_MakeValid(…, 'method=structure')`, the GEOS repair sentrix.shapes uses),
and `shape` is filled from the same repair; `mask_area_model_px` stays NULL (the raw figure was not kept).
A ring of fewer than 3 points (or without area) gets no shape and area 0. Their `polygon` is left as it
was (not simplified).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "detections",
        # srid=-1: `geometry(MULTIPOLYGON)`, SRID 0 (see the model).
        sa.Column("shape", Geometry(geometry_type="MULTIPOLYGON", srid=-1, spatial_index=False), nullable=True),
    )
    op.add_column("detections", sa.Column("mask_area_model_px", sa.Float(), nullable=True))
    op.execute(
        """
        WITH rings AS (
            SELECT d.id, ST_MakeLine(ARRAY(
                SELECT ST_MakePoint((p.point ->> 0)::float8, (p.point ->> 1)::float8)
                FROM jsonb_array_elements(d.polygon) WITH ORDINALITY AS p(point, n)
                WHERE jsonb_typeof(p.point) = 'array' AND jsonb_array_length(p.point) >= 2
                ORDER BY p.n
            )) AS line
            FROM detections AS d
        ), closed AS (
            SELECT id, ST_MakePolygon(ST_AddPoint(line, ST_StartPoint(line))) AS ring
            FROM rings
            WHERE ST_NPoints(line) >= 3
        ), repaired AS (
            SELECT id, ST_Multi(ST_CollectionExtract(
                CASE WHEN ST_IsValid(ring) THEN ring ELSE ST_MakeValid(ring, 'method=structure') END, 3
            )) AS shape
            FROM closed
        )
        UPDATE detections AS d
        SET shape = CASE WHEN ST_IsEmpty(r.shape) THEN NULL ELSE ST_SetSRID(r.shape, 0) END,
            mask_area = round(ST_Area(r.shape)::numeric, 2)::float8
        FROM repaired AS r
        WHERE d.id = r.id
        """
    )
    op.execute(
        """
        UPDATE detections SET mask_area = 0
        WHERE shape IS NULL AND (jsonb_typeof(polygon) <> 'array' OR jsonb_array_length(polygon) < 3)
        """
    )


def downgrade() -> None:
    # contract: downgrading drops what 0010 added; the release before it never read these columns
    op.drop_column("detections", "mask_area_model_px")
    op.drop_column("detections", "shape")
