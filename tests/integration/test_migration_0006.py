"""Migration 0006 backfills what older analyses can tell: their EXIF point, and validity counted from processing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from sentrix.db import migrate

pytestmark = pytest.mark.integration

COMPLETED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def at_0005(postgis):
    postgis.recreate_database("sentrix_migration_0006")
    url = postgis.url("sentrix_migration_0006")
    migrate.upgrade(url, "0005")
    return url


def _insert(connection, source: str, lat: float | None, lon: float | None, *, detections: int) -> uuid.UUID:
    analysis_id = uuid.uuid4()
    connection.execute(
        text(
            "INSERT INTO analyses (id, status, image_bucket, image_key, location, location_source, completed_at, "
            "created_at) VALUES (:id, 'completed', 'b', :key, "
            "CASE WHEN CAST(:lat AS float8) IS NULL THEN NULL "
            "ELSE ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326) END, "
            "CAST(:source AS location_source), :completed, :created)"
        ),
        {
            "id": analysis_id,
            "key": f"incoming/{analysis_id}/p.jpg",
            "lat": lat,
            "lon": lon,
            "source": source,
            "completed": COMPLETED,
            "created": datetime(2026, 6, 1, 11, 59, tzinfo=UTC),
        },
    )
    for _ in range(detections):
        connection.execute(
            text(
                "INSERT INTO detections (id, analysis_id, class_id, class_name, confidence, risk_level, polygon, "
                "bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, persistence_type, validity_days, expires_at) "
                "VALUES (:id, :analysis, 3, 'Huecos', 0.8, 'MEDIO', '[[1,1],[2,1],[2,2]]', 1, 1, 2, 2, "
                "'MEDIUM_TERM', 30, :expires)"
            ),
            {"id": uuid.uuid4(), "analysis": analysis_id, "expires": datetime(2026, 7, 1, 12, 0, tzinfo=UTC)},
        )
    return analysis_id


def test_upgrade_keeps_the_exif_point_of_exif_located_analyses_and_the_upload_basis(at_0005):
    # Given analyses stored before 0006: one located by EXIF GPS, one by hand, one without detections
    engine = create_engine(at_0005)
    with engine.begin() as connection:
        exif = _insert(connection, "EXIF_GPS", -26.808, -65.218, detections=2)
        manual = _insert(connection, "MANUAL", -34.6037, -58.3816, detections=1)
        empty = _insert(connection, "NONE", None, None, detections=0)

    # When 0006 runs
    migrate.upgrade(at_0005, "0006")

    # Then the EXIF-located analysis keeps its point as EXIF evidence; a manual one has none to keep
    with engine.connect() as connection:
        rows = {
            row.id: row
            for row in connection.execute(
                text(
                    "SELECT id, ST_Y(exif_location) AS lat, ST_X(exif_location) AS lon, location_discrepancy_m, "
                    "location_flagged, validity_basis, validity_from, validity_basis_reason FROM analyses"
                )
            )
        }
    engine.dispose()
    assert (rows[exif].lat, rows[exif].lon) == (-26.808, -65.218)
    assert (rows[manual].lat, rows[manual].lon) == (None, None)
    assert all(r.location_discrepancy_m is None and r.location_flagged is False for r in rows.values())
    # And analyses with detections say their validity counted from when detect processed them
    for analysis in (exif, manual):
        assert (rows[analysis].validity_basis, rows[analysis].validity_from) == ("uploaded_at", COMPLETED)
        assert rows[analysis].validity_basis_reason is None
    assert (rows[empty].validity_basis, rows[empty].validity_from) == (None, None)
