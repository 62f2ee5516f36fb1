"""Capture time and location evidence through the detect handler, read back through the upload handler.

Validity counts from when the photo was taken (a plausible EXIF capture time), seasons follow the point's
hemisphere and the local month, and the photo's own GPS point is kept beside manual coordinates.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.integration.detect.helpers import analysis_row, detection_rows, run, sql
from tests.support.detect import TUCUMAN, FakeDetector, exif_coordinate, photo, square_detection

pytestmark = pytest.mark.integration

ART = timezone(timedelta(hours=-3))
BUENOS_AIRES = (-34.6037, -58.3816)  # south of the Tropic of Capricorn
MADRID = (40.4168, -3.7038)  # north of the Tropic of Cancer
LIMA = (-12.0464, -77.0428)  # between the tropics
# Metres per degree of a great circle on the mean Earth radius: 6,371,008.8 × π / 180
METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180
# A real phone's EXIF block (Xiaomi 220333QL, from shared/data/photos/imagen1.jpg) on that photo reduced 16×:
# DateTimeOriginal 2025:08:29 15:05:36 without OffsetTimeOriginal, GPS 26°50'5.24"S 65°11'10.38"W.
XIAOMI = Path(__file__).resolve().parents[2] / "fixtures" / "xiaomi_gps_exif.jpg"


def pipeline_with(*detections: dict):
    from sentrix_detect.logic.pipeline import DetectPipeline

    return DetectPipeline(detector=FakeDetector(list(detections)))


def user_with(uploads, settings: dict | None = None):
    """A users row (and settings), and the caller the upload handler's authorizer would hand over."""
    from tests.integration.upload.support import Caller

    user_id = uploads.user()
    if settings is not None:
        import json

        sql(
            "INSERT INTO user_settings (user_id, settings) VALUES (:id, CAST(:s AS jsonb))",
            id=user_id,
            s=json.dumps(settings),
        )
    return Caller(user_id, "user", f"{user_id}@example.org")


def detail(caller, analysis_id: uuid.UUID) -> dict:
    from tests.integration.upload.support import call

    answer = call("GET", f"/api/v1/analyses/{analysis_id}", user=caller)
    assert answer.status == 200, answer.body
    return answer.body


def expert(uploads):
    from tests.integration.upload.support import Caller

    expert_id = uuid.uuid4()
    sql(
        "INSERT INTO users (id, email, role) VALUES (:id, :email, 'expert')",
        id=expert_id,
        email=f"{expert_id}@example.org",
    )
    return Caller(expert_id, "expert", f"{expert_id}@example.org")


def test_a_photo_taken_15_months_ago_arrives_expired_and_says_why(uploads, detect_env):
    # Given a water puddle photographed in Tucumán on 2 September 2025, 09:00 Argentine time
    owner = user_with(uploads)
    data = photo("JPEG", gps=TUCUMAN, taken="2025:09:02 09:00:00", offset="-03:00")
    analysis_id, key = uploads.photo(data, user_id=owner.id)

    # When it is uploaded (December 2026) and detected
    run(pipeline_with(square_detection(2, 0.95)), uploads.bucket, key)

    # Then validity counted from the capture: water 2 d × 1.2 (ALTO) × 1.0 (September) × 1.1 (> 0.9) = 2.64 → 2
    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert (row.validity_basis, row.validity_basis_reason) == ("captured_at", None)
    assert row.validity_from == datetime(2025, 9, 2, 12, 0, tzinfo=UTC)
    assert row.local_time_zone == "-03:00"
    (water,) = detection_rows(analysis_id)
    assert (water.validity_days, water.expires_at) == (2, datetime(2025, 9, 4, 12, 0, tzinfo=UTC))
    # And the detail says it is expired, and why: it counts from when the photo was taken
    document = detail(owner, analysis_id)
    assert document["validity_basis"] == "captured_at"
    assert document["validity_basis_reason"] is None
    assert datetime.fromisoformat(document["validity_from"]) == datetime(2025, 9, 2, 9, 0, tzinfo=ART)
    assert datetime.fromisoformat(document["captured_at"]) == datetime(2025, 9, 2, 9, 0, tzinfo=ART)
    assert document["detections"][0]["validity"]["status"] == "EXPIRED"
    assert document["detections"][0]["validity"]["is_expired"] is True


def test_a_real_phone_photo_from_august_2025_is_expired_on_arrival(uploads, detect_env):
    # Given the Xiaomi photo (no offset in its EXIF) uploaded by a user whose time zone is Buenos Aires
    owner = user_with(uploads, {"timezone": "America/Argentina/Buenos_Aires"})
    analysis_id, key = uploads.photo(XIAOMI.read_bytes(), user_id=owner.id, filename="IMG_20250829.jpg")

    run(pipeline_with(square_detection(2, 0.95)), uploads.bucket, key)

    # Then 15:05:36 is read as Argentine time: 18:05:36 UTC (its GPS clock says 18:05:29 UTC)
    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert (row.camera_make, row.location_source) == ("Xiaomi", "EXIF_GPS")
    assert row.lat == pytest.approx(-(26 + 50 / 60 + 5.24 / 3600), abs=1e-9)
    assert row.lon == pytest.approx(-(65 + 11 / 60 + 10.38 / 3600), abs=1e-9)
    assert row.taken_at == datetime(2025, 8, 29, 18, 5, 36, tzinfo=UTC)
    assert (row.validity_basis, row.validity_from, row.local_time_zone) == (
        "captured_at",
        datetime(2025, 8, 29, 18, 5, 36, tzinfo=UTC),
        "America/Argentina/Buenos_Aires",
    )
    # And water in a southern August (dry): 2 × 1.2 × 0.6 × 1.1 = 1.584 → 1 day, long gone
    (water,) = detection_rows(analysis_id)
    assert (water.validity_days, water.expires_at) == (1, datetime(2025, 8, 30, 18, 5, 36, tzinfo=UTC))
    document = detail(owner, analysis_id)
    assert document["validity_basis"] == "captured_at"
    assert document["detections"][0]["validity"]["status"] == "EXPIRED"


@pytest.mark.parametrize(
    ("taken", "reason"),
    [
        ("2099:01:01 00:00:00", "capture_time_in_future"),
        ("1999:12:31 12:00:00", "capture_time_before_2000"),
    ],
)
def test_an_implausible_capture_time_counts_from_the_upload_with_the_reason(uploads, detect_env, taken, reason):
    # Given a photo whose camera clock says 2099 (or 1999)
    owner = user_with(uploads)
    data = photo("JPEG", taken=taken, offset="+00:00")
    analysis_id, key = uploads.photo(data, user_id=owner.id)

    run(pipeline_with(square_detection(3, 0.8)), uploads.bucket, key)

    # Then validity counts from the upload (the analysis' creation), and the reason is stored and shown
    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert (row.validity_basis, row.validity_basis_reason) == ("uploaded_at", reason)
    assert row.validity_from == row.created_at
    (hole,) = detection_rows(analysis_id)  # Huecos MEDIO 0.8: 30 days, no season
    assert (hole.validity_days, hole.expires_at) == (30, row.created_at + timedelta(days=30))
    # And the camera's time is still kept as read
    assert row.taken_at.year == int(taken[:4])
    document = detail(owner, analysis_id)
    assert (document["validity_basis"], document["validity_basis_reason"]) == ("uploaded_at", reason)
    assert document["detections"][0]["validity"]["is_expired"] is False


def test_a_photo_without_capture_time_counts_from_the_upload(uploads, detect_env):
    owner = user_with(uploads)
    analysis_id, key = uploads.photo(photo("PNG"), user_id=owner.id, filename="captura.png")

    run(pipeline_with(square_detection(3, 0.8)), uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert (row.validity_basis, row.validity_basis_reason) == ("uploaded_at", "no_capture_time")
    assert (row.validity_from, row.taken_at, row.local_time_zone) == (row.created_at, None, "UTC")


def test_offset_time_original_is_honoured_for_the_instant_and_the_local_month(uploads, detect_env):
    # Given trash photographed in Buenos Aires at 00:30 on 1 March 2025 by a camera set to +02:00:
    # 28 February 22:30 UTC (summer, wet), but March locally (cloudy)
    owner = user_with(uploads)
    data = photo("JPEG", taken="2025:03:01 00:30:00", offset="+02:00")
    analysis_id, key = uploads.photo(
        data, user_id=owner.id, manual_latitude=BUENOS_AIRES[0], manual_longitude=BUENOS_AIRES[1]
    )

    run(pipeline_with(square_detection(0, 0.8)), uploads.bucket, key)

    # Then the instant is 22:30 UTC, and the season is March's: Basura 7 d × 1.2 (ALTO) × 1.0 = 8.4 → 8
    # (with February's it would be 7 × 1.2 × 1.8 = 15.12 → 15)
    row = analysis_row(analysis_id)
    assert row.taken_at == datetime(2025, 2, 28, 22, 30, tzinfo=UTC)
    assert (row.validity_basis, row.local_time_zone) == ("captured_at", "+02:00")
    (trash,) = detection_rows(analysis_id)
    assert (trash.validity_days, trash.expires_at) == (8, datetime(2025, 3, 8, 22, 30, tzinfo=UTC))


def test_a_capture_time_without_offset_is_read_in_the_uploaders_time_zone(uploads, detect_env):
    # Given a camera that wrote 23:30 on 28 February 2025 without an offset, and an uploader in Buenos Aires
    owner = user_with(uploads, {"timezone": "America/Argentina/Buenos_Aires"})
    data = photo("JPEG", taken="2025:02:28 23:30:00", offset=None)
    analysis_id, key = uploads.photo(
        data, user_id=owner.id, manual_latitude=BUENOS_AIRES[0], manual_longitude=BUENOS_AIRES[1]
    )

    run(pipeline_with(square_detection(0, 0.8)), uploads.bucket, key)

    # Then it is 02:30 UTC on 1 March, but February (wet) locally: 7 × 1.2 × 1.8 = 15.12 → 15
    row = analysis_row(analysis_id)
    assert row.taken_at == datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    assert row.local_time_zone == "America/Argentina/Buenos_Aires"
    (trash,) = detection_rows(analysis_id)
    assert (trash.validity_days, trash.expires_at) == (15, datetime(2025, 3, 16, 2, 30, tzinfo=UTC))


def test_without_a_time_zone_setting_a_capture_time_without_offset_is_utc(uploads, detect_env):
    owner = user_with(uploads)
    data = photo("JPEG", taken="2025:02:28 23:30:00", offset=None)
    analysis_id, key = uploads.photo(data, user_id=owner.id)

    run(pipeline_with(square_detection(3, 0.8)), uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert (row.taken_at, row.local_time_zone) == (datetime(2025, 2, 28, 23, 30, tzinfo=UTC), "UTC")


@pytest.mark.parametrize(
    ("place", "days"),
    [
        (BUENOS_AIRES, 15),  # January is summer in the south: 7 × 1.2 × 1.8 (wet) = 15.12 → 15
        (MADRID, 5),  # January is winter in the north: 7 × 1.2 × 0.6 (dry) = 5.04 → 5
        (LIMA, 8),  # between the tropics no seasonal factor: 7 × 1.2 = 8.4 → 8
    ],
)
def test_the_season_follows_the_hemisphere_of_the_point(uploads, detect_env, place, days):
    # Given trash photographed on 15 January 2025 at noon local time
    data = photo("JPEG", taken="2025:01:15 12:00:00", offset="-03:00")
    analysis_id, key = uploads.photo(data, manual_latitude=place[0], manual_longitude=place[1])

    run(pipeline_with(square_detection(0, 0.8)), uploads.bucket, key)

    (trash,) = detection_rows(analysis_id)
    assert trash.validity_days == days
    assert trash.expires_at == datetime(2025, 1, 15, 15, 0, tzinfo=UTC) + timedelta(days=days)


def test_manual_coordinates_far_from_the_exif_point_are_flagged_with_the_distance(uploads, detect_env):
    # Given a photo whose GPS says Tucumán and manual coordinates 0.01° further south (about 1.1 km)
    owner = user_with(uploads)
    data = photo("JPEG", gps=TUCUMAN)
    manual = (TUCUMAN[0] - 0.01, TUCUMAN[1])
    analysis_id, key = uploads.photo(data, user_id=owner.id, manual_latitude=manual[0], manual_longitude=manual[1])

    run(pipeline_with(square_detection(3, 0.8)), uploads.bucket, key)

    # Then the manual point is the location, and the EXIF point is kept beside it, flagged
    exif_lat, exif_lon = exif_coordinate(TUCUMAN[0]), exif_coordinate(TUCUMAN[1])
    expected_m = (exif_lat - manual[0]) * METRES_PER_DEGREE  # same meridian: radius × angle
    row = analysis_row(analysis_id)
    assert (row.lat, row.lon, row.location_source) == (manual[0], manual[1], "MANUAL")
    evidence = sql(
        "SELECT ST_Y(exif_location) AS lat, ST_X(exif_location) AS lon, ST_SRID(exif_location) AS srid, "
        "ST_Distance(exif_location::geography, location::geography) AS spheroid_m FROM analyses WHERE id = :id",
        id=analysis_id,
    )[0]
    assert (evidence.lat, evidence.lon, evidence.srid) == (exif_lat, exif_lon, 4326)
    assert expected_m == pytest.approx(1111.95, abs=0.01)
    assert row.location_discrepancy_m == pytest.approx(expected_m, abs=0.01)
    assert row.location_discrepancy_m == pytest.approx(evidence.spheroid_m, rel=0.005)  # PostGIS agrees
    assert row.location_flagged is True
    # And the owner and experts read it in the detail
    for caller in (owner, expert(uploads)):
        document = detail(caller, analysis_id)
        assert document["location"]["latitude"] == manual[0]
        assert document["location_evidence"]["location_source"] == "MANUAL"
        assert document["location_evidence"]["exif_location"]["latitude"] == exif_lat
        assert document["location_evidence"]["exif_location"]["longitude"] == exif_lon
        assert document["location_evidence"]["discrepancy_m"] == pytest.approx(1111.95, abs=0.01)
        assert document["location_evidence"]["flagged"] is True
        assert document["location_flagged"] is True


def test_manual_coordinates_near_the_exif_point_are_not_flagged(uploads, detect_env):
    # Given manual coordinates 0.002° (about 222 m) from the photo's GPS point
    owner = user_with(uploads)
    manual = (TUCUMAN[0] - 0.002, TUCUMAN[1])
    analysis_id, key = uploads.photo(
        photo("JPEG", gps=TUCUMAN), user_id=owner.id, manual_latitude=manual[0], manual_longitude=manual[1]
    )

    run(pipeline_with(square_detection(3, 0.8)), uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.location_discrepancy_m == pytest.approx(0.002 * METRES_PER_DEGREE, abs=0.01)
    assert row.location_discrepancy_m == pytest.approx(222.39, abs=0.01)
    assert row.location_flagged is False
    assert detail(owner, analysis_id)["location_evidence"]["flagged"] is False


def test_an_exif_located_photo_keeps_its_point_with_no_distance(uploads, detect_env):
    analysis_id, key = uploads.photo(photo("JPEG", gps=TUCUMAN))

    run(pipeline_with(square_detection(3, 0.8)), uploads.bucket, key)

    row = analysis_row(analysis_id)
    stored = sql("SELECT ST_Equals(exif_location, location) AS same FROM analyses WHERE id = :id", id=analysis_id)
    assert row.location_source == "EXIF_GPS" and stored[0].same is True
    assert (row.location_discrepancy_m, row.location_flagged) == (None, False)


def test_without_gps_permission_no_exif_point_is_kept(uploads, detect_env):
    manual = (TUCUMAN[0] - 0.01, TUCUMAN[1])
    analysis_id, key = uploads.photo(
        photo("JPEG", gps=TUCUMAN), include_gps=False, manual_latitude=manual[0], manual_longitude=manual[1]
    )

    run(pipeline_with(square_detection(3, 0.8)), uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert (row.exif_location, row.location_discrepancy_m, row.location_flagged) == (None, None, False)


def test_anonymous_routes_never_show_the_exif_point(uploads, detect_env, without_k_anonymity):
    from sentrix_report.settings import get_report_settings
    from tests.integration.report.conftest import call

    # Given a photo whose GPS says Tucumán, placed by hand in Buenos Aires (flagged)
    analysis_id, key = uploads.photo(
        photo("JPEG", gps=TUCUMAN, taken="2026:11:30 10:00:00"),
        manual_latitude=BUENOS_AIRES[0],
        manual_longitude=BUENOS_AIRES[1],
    )
    run(pipeline_with(square_detection(0, 0.8)), uploads.bucket, key)
    assert analysis_row(analysis_id).location_flagged is True
    get_report_settings.cache_clear()

    # When anonymous callers read the public map data
    for path in ("/api/v1/heatmap-data", "/api/v1/map-stats"):
        response = call("GET", path, query={"include_expired": "true"} if path.endswith("data") else None)
        assert response.status == 200, response.body
        text = response.body.decode()
        # Then Buenos Aires may be there, Tucumán (the EXIF point, ~1,000 km away) never is
        assert "-26.8" not in text and "-65.2" not in text, path
        if path.endswith("data"):
            assert '"latitude":-34.6' in text  # the manual point, snapped to the public grid
    # And the z12 tile over the EXIF point is empty, while the one over the manual point is not
    assert tile_features(TUCUMAN) == 0
    assert tile_features(BUENOS_AIRES) > 0


def tile_features(point: tuple[float, float], z: int = 12) -> int:
    """Features an anonymous caller gets in the z12 tile holding `point`."""
    import mapbox_vector_tile

    from tests.integration.report.conftest import call

    n = 2**z
    x = int((point[1] + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(point[0]))) / math.pi) / 2 * n)
    tile = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt")
    assert tile.status in (200, 204), tile.body
    if tile.status == 204 or not tile.body:
        return 0
    return sum(len(layer["features"]) for layer in mapbox_vector_tile.decode(tile.body).values())
