"""Migration 0010 recomputes older detections' areas from their stored ring and fills their shape."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from sentrix.db import migrate

pytestmark = pytest.mark.integration


@pytest.fixture
def at_0009(postgis):
    postgis.recreate_database("sentrix_migration_0010")
    url = postgis.url("sentrix_migration_0010")
    migrate.upgrade(url, "0009")
    return url


def _detection(connection, analysis_id: uuid.UUID, polygon: str, mask_area: float) -> uuid.UUID:
    detection_id = uuid.uuid4()
    connection.execute(
        text(
            "INSERT INTO detections (id, analysis_id, class_id, class_name, confidence, risk_level, polygon, "
            "bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, mask_area, persistence_type, validity_days, expires_at) "
            "VALUES (:id, :analysis, 3, 'Huecos', 0.8, 'MEDIO', CAST(:polygon AS jsonb), 0, 0, 1, 1, :area, "
            "'MEDIUM_TERM', 30, :expires)"
        ),
        {
            "id": detection_id,
            "analysis": analysis_id,
            "polygon": polygon,
            "area": mask_area,
            "expires": datetime(2026, 7, 1, tzinfo=UTC),
        },
    )
    return detection_id


def test_upgrade_measures_old_rings_and_downgrade_drops_the_new_columns(at_0009):
    # Given detections stored before 0010, their mask_area the host's figure scaled (wrong)
    engine = create_engine(at_0009)
    analysis_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO analyses (id, status, image_bucket, image_key) VALUES (:id, 'completed', 'b', 'k')"),
            {"id": analysis_id},
        )
        square = _detection(connection, analysis_id, "[[10,10],[60,10],[60,50],[10,50]]", 9999.0)
        bow_tie = _detection(connection, analysis_id, "[[0,0],[10,10],[10,0],[0,10]]", 7.0)
        line = _detection(connection, analysis_id, "[[0,0],[1,1],[2,2]]", 5.0)
        point = _detection(connection, analysis_id, "[[3,4]]", 5.0)

    # When 0010 runs
    migrate.upgrade(at_0009, "0010")

    # Then areas come from the rings (50 × 40 = 2000; a bow-tie's two triangles 25 + 25), shapes are valid
    # MultiPolygons in pixels (SRID 0), rings without area get no shape and area 0, the raw figure is unknown
    with engine.connect() as connection:
        rows = {
            row.id: row
            for row in connection.execute(
                text(
                    "SELECT id, mask_area, mask_area_model_px, ST_NumGeometries(shape) AS parts, ST_SRID(shape) "
                    "AS srid, ST_IsValid(shape) AS valid, GeometryType(shape) AS kind FROM detections"
                )
            )
        }
    assert (rows[square].mask_area, rows[square].parts, rows[square].srid) == (2000.0, 1, 0)
    assert (rows[square].kind, rows[square].valid, rows[square].mask_area_model_px) == ("MULTIPOLYGON", True, None)
    assert (rows[bow_tie].mask_area, rows[bow_tie].parts, rows[bow_tie].valid) == (50.0, 2, True)
    assert (rows[line].mask_area, rows[line].parts) == (0.0, None)
    assert (rows[point].mask_area, rows[point].parts) == (0.0, None)

    # and a downgrade leaves the table as 0009 made it
    migrate.downgrade(at_0009, "0009")
    with engine.connect() as connection:
        columns = set(
            connection.scalars(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = 'detections'")
            )
        )
    engine.dispose()
    assert not {"shape", "mask_area_model_px"} & columns and "mask_area" in columns
