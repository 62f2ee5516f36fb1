"""Uploads that succeed: location, orientation, formats, detections, risk, annotated image, naming."""

from __future__ import annotations

import io

import pytest

from tests.integration.detect.helpers import BOTH_PROFILES, analysis_row, detection_rows, run, standin_calls
from tests.support.detect import TUCUMAN, exif_coordinate, photo

pytestmark = pytest.mark.integration


def open_image(data: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@BOTH_PROFILES
def test_jpeg_with_gps_is_stored_exactly_as_point_lon_lat(uploads, pipeline, yolo_standin):
    # Given a phone JPEG taken in Tucumán (south, west)
    data = photo("JPEG", gps=TUCUMAN, altitude=450.5)
    analysis_id, key = uploads.photo(data)

    # When S3's notification reaches the handler
    response = run(pipeline, uploads.bucket, key)

    # Then the analysis is complete and its point is POINT(lon lat), to the last bit of the float
    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert row.srid == 4326
    assert row.lon == exif_coordinate(TUCUMAN[1])
    assert row.lat == exif_coordinate(TUCUMAN[0])
    assert row.lon == pytest.approx(-65.218, abs=1e-6) and row.lat == pytest.approx(-26.808, abs=1e-6)
    assert row.location_source == "EXIF_GPS"
    assert row.altitude_m == pytest.approx(450.5)  # from the photo's EXIF: the original's altitude is always null
    assert row.attempts == 1
    assert row.failure_reason is None
    # And every detection sits on the analysis point
    detections = detection_rows(analysis_id)
    assert all((d.lon, d.lat) == (row.lon, row.lat) for d in detections)
    assert standin_calls(yolo_standin) == 1


def test_heic_with_gps_keeps_its_location_through_the_conversion(uploads, pipeline):
    data = photo("HEIF", gps=TUCUMAN, make="Apple", model="iPhone 14 Pro")
    analysis_id, key = uploads.photo(data, filename="IMG_0001.heic")

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert (row.lon, row.lat) == (exif_coordinate(TUCUMAN[1]), exif_coordinate(TUCUMAN[0]))
    assert row.location_source == "EXIF_GPS"
    assert (row.image_format, row.content_type) == ("heic", "image/heic")
    assert (row.camera_make, row.camera_model) == ("Apple", "iPhone 14 Pro")
    assert row.standardized_filename.endswith(f"_IPHONE14PRO_LATn26p808_LONn65p218_{analysis_id.hex[:8]}.jpg")


def test_the_jpeg_sent_for_a_heic_carries_its_gps_and_camera(uploads, detect_env):
    """YOLO gets a JPEG whose EXIF still has GPS, camera and DateTimeOriginal (the original's bug lost them)."""
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.detect import FakeDetector

    detector = FakeDetector()
    data = photo("HEIF", gps=TUCUMAN, make="Apple", model="iPhone 14 Pro", taken="2024:02:03 04:05:06")
    analysis_id, key = uploads.photo(data, filename="IMG_0002.heic")

    run(DetectPipeline(detector=detector), uploads.bucket, key)

    sent = open_image(detector.calls[0]["image"])
    assert sent.format == "JPEG"
    exif = sent.getexif()
    gps = exif.get_ifd(0x8825)
    assert (gps[1], gps[3]) == ("S", "W")
    latitude = float(gps[2][0]) + float(gps[2][1]) / 60 + float(gps[2][2]) / 3600
    assert -latitude == exif_coordinate(TUCUMAN[0])
    assert (exif[0x010F], exif[0x0110]) == ("Apple", "iPhone 14 Pro")
    assert exif.get_ifd(0x8769)[0x9003] == "2024:02:03 04:05:06"
    assert analysis_row(analysis_id).taken_at.isoformat() == "2024-02-03T07:05:06+00:00"  # -03:00 offset applied


def test_png_without_exif_uses_the_manual_coordinates(uploads, pipeline):
    data = photo("PNG")
    analysis_id, key = uploads.photo(data, filename="captura.png", manual_latitude=-34.6037, manual_longitude=-58.3816)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert (row.lon, row.lat) == (-58.3816, -34.6037)
    assert row.location_source == "MANUAL"
    assert row.altitude_m is None
    assert (row.camera_make, row.taken_at) == (None, None)
    assert "_UNKNOWN_LATn34p604_LONn58p382_" in row.standardized_filename


def test_manual_coordinates_win_over_exif_gps(uploads, pipeline):
    data = photo("JPEG", gps=TUCUMAN)
    analysis_id, key = uploads.photo(data, manual_latitude=0.0, manual_longitude=0.0)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert (row.lon, row.lat, row.location_source) == (0.0, 0.0, "MANUAL")


def test_include_gps_false_ignores_exif_gps(uploads, pipeline):
    data = photo("JPEG", gps=TUCUMAN)
    analysis_id, key = uploads.photo(data, include_gps=False)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "completed"
    assert (row.lon, row.location_source) == (None, "NONE")
    assert "_NOLOC_" in row.standardized_filename


def test_rotated_exif_orientation_is_applied_before_detection(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.detect import FakeDetector, square_detection

    # Given a 320x240 sensor image tagged "rotate 90° clockwise to view" (orientation 6), and a detector that
    # finds a box only a portrait image can hold (y up to 310, beyond the sensor's 240)
    detector = FakeDetector([square_detection(3, 0.8, (20, 250, 200, 310))])
    data = photo("JPEG", size=(320, 240), orientation=6)
    analysis_id, key = uploads.photo(data)

    run(DetectPipeline(detector=detector), uploads.bucket, key)

    # Then YOLO saw the portrait image, the analysis is portrait, and the polygon is stored as found
    assert open_image(detector.calls[0]["image"]).size == (240, 320)
    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert (row.width, row.height) == (240, 320)
    assert open_image(uploads.get(row.processed_image_key)).size == (240, 320)
    (detection,) = detection_rows(analysis_id)
    assert detection.polygon == [[20, 250], [200, 250], [200, 310], [20, 310]]
    assert (detection.bbox_x_min, detection.bbox_y_min, detection.bbox_x_max, detection.bbox_y_max) == (
        20.0,
        250.0,
        200.0,
        310.0,
    )


# DESIGN.md §4: YOLO class id → name → risk (any other id: Clase_<id>, BAJO).
DESIGN_CLASSES = {
    0: ("Basura", "ALTO"),
    1: ("Calles mal hechas", "MEDIO"),
    2: ("Charcos/Cumulo de agua", "ALTO"),
    3: ("Huecos", "MEDIO"),
    7: ("Clase_7", "BAJO"),
}
# DESIGN.md §4's analysis-risk table, worked by hand: detected class ids → (level, score, high, medium, unique),
# and the recommendations (catalogue keys) the level and the extras call for.
ALTO = ["alto_intervene", "alto_contact", "alto_water", "alto_waste"]
MEDIO = ["medio_monitor", "medio_clean", "medio_schedule", "medio_rain"]
BAJO = ["bajo_maintain", "bajo_clean", "bajo_rain"]
MINIMO = ["minimo_routine", "minimo_prevent"]
RISK_TABLE = [
    # rule 1: unique ≥ 3 and total ≥ 4 → 0.85 + 0.05·4 = 1.05, clamped to 1
    ([0, 2, 3, 1], ("ALTO", 1.0, 2, 2, 4), [*ALTO, "alto_diverse"]),
    # rule 2: high ≥ 3 and unique ≥ 2 → 0.90 + 0.02·3
    ([0, 0, 2], ("ALTO", 0.96, 3, 0, 2), ALTO),
    # rule 4: unique ≥ 2 and high ≥ 1 → 0.50 + 0.05·2 + 0.10·1
    ([0, 3], ("MEDIO", 0.70, 1, 1, 2), [*MEDIO, "medio_diverse"]),
    # rule 5: high ≥ 1 → 0.50 + 0.10·1
    ([2], ("MEDIO", 0.60, 1, 0, 1), MEDIO),
    # rule 6: medium ≥ 1 → 0.25 + 0.02·1
    ([1], ("BAJO", 0.27, 0, 1, 1), BAJO),
    # rule 6, one kind three times → 0.25 + 0.02·3
    ([3, 3, 3], ("BAJO", 0.31, 0, 3, 1), [*BAJO, "bajo_repeated"]),
    # rule 7: an unknown class only → 0.05 + 0.01·1
    ([7], ("MINIMO", 0.06, 0, 0, 1), MINIMO),
    # rule 7: nothing found → 0.05
    ([], ("MINIMO", 0.05, 0, 0, 0), MINIMO),
]


def boxes(class_ids: list[int]) -> list[dict]:
    from tests.support.detect import square_detection

    return [square_detection(c, 0.8, (10 + 30 * i, 10, 30 + 30 * i, 40)) for i, c in enumerate(class_ids)]


@pytest.mark.parametrize(("class_ids", "expected", "advice"), RISK_TABLE, ids=[str(r[0]) for r in RISK_TABLE])
def test_the_analysis_risk_follows_the_design_table(uploads, detect_env, class_ids, expected, advice):
    from sentrix.i18n.messages_es import MESSAGES
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.detect import FakeDetector

    analysis_id, key = uploads.photo(photo("JPEG"))

    run(DetectPipeline(detector=FakeDetector(boxes(class_ids))), uploads.bucket, key)

    row = analysis_row(analysis_id)
    level, score, high, medium, unique = expected
    assert row.status == "completed", row.failure_reason
    assert row.total_detections == len(class_ids)
    assert row.risk_level == level
    assert row.risk_score == pytest.approx(score)
    assert (row.high_risk_count, row.medium_risk_count, row.unique_types) == (high, medium, unique)
    assert row.recommendations == [MESSAGES[f"rec.{name}"] for name in advice]
    stored = sorted((d.class_id, d.class_name, d.risk_level) for d in detection_rows(analysis_id))
    assert stored == sorted((c, *DESIGN_CLASSES[c]) for c in class_ids)


@BOTH_PROFILES
def test_detections_from_the_standin_follow_the_shared_rules(uploads, pipeline, standin_profile):
    from yolo_standin.detector import image_with_class

    # At least one water detection (the original's polygons: thousands of points, many repeated)
    data = image_with_class(2, size=(320, 240), fmt="JPEG", profile=standin_profile)
    analysis_id, key = uploads.photo(data)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    detections = detection_rows(analysis_id)
    assert row.status == "completed"
    assert detections, "image_with_class(2) always yields a water detection"
    assert row.total_detections == len(detections)
    # Counted by hand from DESIGN.md's class table, not by the code under test.
    levels = [DESIGN_CLASSES[d.class_id][1] for d in detections]
    assert (row.high_risk_count, row.medium_risk_count, row.unique_types) == (
        levels.count("ALTO"),
        levels.count("MEDIO"),
        len({d.class_id for d in detections}),
    )
    for d in detections:
        assert (d.class_name, d.risk_level) == DESIGN_CLASSES[d.class_id]
        assert len(d.polygon) >= 3
        xs, ys = [p[0] for p in d.polygon], [p[1] for p in d.polygon]
        assert (d.bbox_x_min, d.bbox_y_min, d.bbox_x_max, d.bbox_y_max) == (min(xs), min(ys), max(xs), max(ys))
        assert all(0 <= x <= 320 and 0 <= y <= 240 for x, y in d.polygon)
        assert d.validation_status == "pending"
        assert 1 <= d.validity_days <= 365
        assert (d.expires_at - d.created_at).days in (d.validity_days - 1, d.validity_days)
    assert any(d.class_id == 2 and d.persistence_type == "TRANSIENT" and d.is_weather_dependent for d in detections)
    assert row.model_name == "yolo-standin/test-double"
    assert row.yolo_time_ms >= 0 and row.pipeline_time_ms >= row.yolo_time_ms
    assert len(row.sha256) == 64 and row.perceptual_hash is not None


def test_recommendations_follow_the_users_language(uploads, detect_env):
    from sentrix.i18n.messages_en import MESSAGES
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.detect import FakeDetector

    user = uploads.user(language="en")
    analysis_id, key = uploads.photo(photo("JPEG"), user_id=user)

    run(DetectPipeline(detector=FakeDetector(boxes([2]))), uploads.bucket, key)

    # One water detection: MEDIO (DESIGN rule 5), the MEDIO advice, in English
    row = analysis_row(analysis_id)
    assert row.risk_level == "MEDIO"
    assert row.recommendations == [MESSAGES[f"rec.{name}"] for name in MEDIO]


@BOTH_PROFILES
def test_annotated_image_is_stored_under_processed(uploads, pipeline):
    data = photo("JPEG")
    analysis_id, key = uploads.photo(data)
    user_id = key.split("/")[1]

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.processed_image_key == f"processed/{user_id}/{analysis_id}.jpg"
    annotated = uploads.get(row.processed_image_key)
    assert annotated.startswith(b"\xff\xd8\xff")
    # The original moved out of the client's reach, byte for byte (GPS allowed), and the upload is gone.
    assert row.image_key == f"originals/{user_id}/{analysis_id}/foto.jpg"
    assert uploads.get(row.image_key) == data
    assert not uploads.exists(key)


def test_without_an_annotated_image_from_yolo_the_pipeline_draws_one(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.detect import FakeDetector, square_detection

    detector = FakeDetector([square_detection(0, 0.8, (20, 20, 120, 100))])
    analysis_id, key = uploads.photo(photo("PNG", size=(320, 240)))

    run(DetectPipeline(detector=detector), uploads.bucket, key)

    row = analysis_row(analysis_id)
    drawn = open_image(uploads.get(row.processed_image_key))
    original = open_image(photo("PNG", size=(320, 240))).convert("RGB")
    assert drawn.size == (320, 240)
    # Inside the polygon the picture is tinted; far outside it is the picture as it was (up to JPEG noise)
    inside, outside = (70, 60), (300, 220)
    assert sum(abs(a - b) for a, b in zip(drawn.getpixel(inside), original.getpixel(inside), strict=True)) > 30
    assert sum(abs(a - b) for a, b in zip(drawn.getpixel(outside), original.getpixel(outside), strict=True)) < 30


def test_big_photos_are_sent_reduced_and_polygons_come_back_in_original_pixels(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.detect import FakeDetector, square_detection

    # 4000x3000 is reduced to 2000x1500 for YOLO (DETECT_YOLO_MIN_SIDE 1600)
    detector = FakeDetector([square_detection(3, 0.95, (100, 50, 300, 150))])
    analysis_id, key = uploads.photo(photo("JPEG", size=(4000, 3000)))

    run(DetectPipeline(detector=detector), uploads.bucket, key)

    assert open_image(detector.calls[0]["image"]).size == (2000, 1500)
    row = analysis_row(analysis_id)
    (detection,) = detection_rows(analysis_id)
    assert (row.width, row.height) == (4000, 3000)
    assert (detection.bbox_x_min, detection.bbox_y_min, detection.bbox_x_max, detection.bbox_y_max) == (
        200.0,
        100.0,
        600.0,
        300.0,
    )
    assert detection.mask_area == pytest.approx(200 * 100 * 4)
