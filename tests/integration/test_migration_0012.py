"""Migration 0012 builds sites from the detections stored before it, by the rule detect follows now."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from sentrix.db import migrate
from tests.integration.upload.sites_support import BASE_LAT, BASE_LON, M_PER_DEG_LAT, east, north

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CLASSES = {0: ("Basura", "ALTO"), 1: ("Calles mal hechas", "MEDIO"), 2: ("Charcos/Cumulo de agua", "ALTO"),
           3: ("Huecos", "MEDIO")}  # fmt: skip


@pytest.fixture
def at_0011(postgis):
    postgis.recreate_database("sentrix_migration_0012")
    url = postgis.url("sentrix_migration_0012")
    migrate.upgrade(url, "0011")
    return url


def _user(connection) -> uuid.UUID:
    user_id = uuid.uuid4()
    connection.execute(text("INSERT INTO users (id, email) VALUES (:id, :e)"), {"id": user_id, "e": f"{user_id}@x.org"})
    return user_id


def _analysis(connection, user, at, point, detections) -> uuid.UUID:
    """A completed analysis at `point` (lat, lon or None) with detections [(class_id, verdict)]."""
    analysis_id = uuid.uuid4()
    lat, lon = point or (None, None)
    connection.execute(
        text(
            "INSERT INTO analyses (id, user_id, status, image_bucket, image_key, location, created_at) "
            "VALUES (:id, :user, 'completed', 'b', :key, CASE WHEN CAST(:lat AS float8) IS NULL THEN NULL "
            "ELSE ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326) END, :at)"
        ),
        {"id": analysis_id, "user": user, "key": f"k/{analysis_id}", "lat": lat, "lon": lon, "at": at},
    )
    for class_id, verdict in detections:
        name, risk = CLASSES.get(class_id, (f"Clase_{class_id}", "BAJO"))
        connection.execute(
            text(
                "INSERT INTO detections (id, analysis_id, class_id, class_name, breeding_site_type, confidence, "
                "risk_level, polygon, bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, location, persistence_type, "
                "validity_days, expires_at, created_at, validation_status) VALUES (:id, :a, :c, :name, "
                "CAST(:type AS breeding_site_type), 0.8, CAST(:risk AS risk_level), '[[1,1],[2,1],[2,2]]', 1, 1, 2, "
                "2, CASE WHEN CAST(:lat AS float8) IS NULL THEN NULL "
                "ELSE ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326) END, "
                "'SHORT_TERM', 30, :at, :at, CAST(:verdict AS validation_status))"
            ),
            {
                "id": uuid.uuid4(),
                "a": analysis_id,
                "c": class_id,
                "name": name,
                "type": name if class_id in CLASSES else None,
                "risk": risk,
                "lat": lat,
                "lon": lon,
                "at": at,
                "verdict": verdict,
            },
        )
    return analysis_id


def test_the_migration_builds_sites_from_existing_detections(at_0011):
    # Given detections stored before sites existed
    engine = create_engine(at_0011)
    hour = timedelta(hours=1)
    with engine.begin() as c:
        a, b = _user(c), _user(c)
        base = (BASE_LAT, BASE_LON)
        first = _analysis(c, a, T0, base, [(2, "pending"), (0, "pending")])  # puddle and refuse
        near = _analysis(c, b, T0 + hour, (north(10), BASE_LON), [(3, "pending")])  # a hole 10 m north: water
        far = _analysis(c, a, T0 + 2 * hour, (north(30), BASE_LON), [(2, "pending")])  # 25 m from the centroid
        rejected = _analysis(c, b, T0 + 3 * hour, base, [(0, "validated_negative")])  # joins, not a member
        alone = _analysis(c, b, T0 + 4 * hour, (BASE_LAT, east(500)), [(0, "validated_negative")])
        unknown = _analysis(c, a, T0 + 5 * hour, base, [(7, "pending")])
        unlocated = _analysis(c, a, T0 + 6 * hour, None, [(1, "validated_positive")])
        road = _analysis(c, a, T0 + 7 * hour, base, [(1, "validated_positive")])

    # When 0012 runs
    migrate.upgrade(at_0011, "0012")

    # Then the sites are those detect would have made, worked out by hand
    with engine.connect() as c:
        site_of = dict(c.execute(text("SELECT analysis_id, site_id FROM detections WHERE class_id <> 0")).all())
        refuse_of = dict(c.execute(text("SELECT analysis_id, site_id FROM detections WHERE class_id = 0")).all())
        sites = {
            row.id: row
            for row in c.execute(
                text(
                    "SELECT s.*, ST_Y(location) AS lat, ST_X(location) AS lon, "
                    "(SELECT array_agg(action::text || ':' || coalesce(cause, '') ORDER BY at, id) FROM site_actions "
                    "WHERE site_id = s.id) AS steps FROM sites s"
                )
            )
        }
    engine.dispose()

    assert len(sites) == 5
    water = sites[site_of[first]]
    assert site_of[near] == water.id
    assert (water.family, water.status, water.report_count, water.detection_count, water.reporter_count) == (
        "water",
        "open",
        2,
        2,
        2,
    )
    assert water.lat == pytest.approx(BASE_LAT + 5 / M_PER_DEG_LAT, abs=1e-9)
    assert (water.first_report_at, water.last_report_at, water.radius_m) == (T0, T0 + hour, 15.0)
    assert water.steps == ["create:"]
    assert site_of[far] not in (None, water.id)
    assert sites[site_of[far]].report_count == 1

    refuse = sites[refuse_of[first]]
    assert refuse_of[rejected] == refuse.id
    assert (refuse.family, refuse.report_count, refuse.detection_count, refuse.reporter_count) == ("refuse", 1, 1, 1)
    dismissed = sites[refuse_of[alone]]
    assert (dismissed.status, dismissed.detection_count, dismissed.steps) == (
        "dismissed",
        0,
        ["create:", "dismiss:no_members"],
    )

    assert site_of[unknown] is None
    assert site_of[unlocated] is None
    assert (sites[site_of[road]].family, sites[site_of[road]].confirmed) == ("road", True)
