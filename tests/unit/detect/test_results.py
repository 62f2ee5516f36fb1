"""From YOLO's detections to stored ones, and the fingerprints used for duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PIL import Image

from sentrix.adapters.yolo import YoloDetection
from sentrix_detect.logic.duplicates import dhash, hamming, to_signed64
from sentrix_detect.logic.results import build_detections
from tests.support.detect import picture

WHEN = datetime(2025, 7, 1, tzinfo=UTC)  # July: dry season in the southern hemisphere


def detection(class_id: int, polygon, confidence: float = 0.8, mask_area: float | None = 100.0) -> YoloDetection:
    return YoloDetection(class_id=class_id, class_name="?", confidence=confidence, polygon=polygon, mask_area=mask_area)


def test_outlines_scale_back_to_the_original_and_stay_inside_it():
    # Sent at 100 x 50 of a 200 x 150 original (x × 2, y × 3); the point below the image is clamped to y = 150.
    (record,) = build_detections(
        [detection(1, [(10, 20), (40, 20), (40, 1000), (10, 1000)])],
        sent_size=(100, 50),
        original_size=(200, 150),
        detected_at=WHEN,
    )
    assert record.polygon == [[20.0, 60.0], [80.0, 60.0], [80.0, 150.0], [20.0, 150.0]]
    assert record.bbox == (20.0, 60.0, 80.0, 150.0)
    assert record.mask_area == 60.0 * 90.0


def test_detections_use_our_class_table_and_the_validity_rules():
    records = build_detections(
        [detection(3, [(0, 0), (10, 0), (10, 10)]), detection(9, [(5, 5), (6, 6), (5, 6)], confidence=0.95)],
        sent_size=(100, 50),
        original_size=(400, 200),
        detected_at=WHEN,
    )
    hole, unknown = records
    assert (hole.class_name, hole.risk_level.value, hole.breeding_site_type.value) == ("Huecos", "MEDIO", "Huecos")
    assert hole.bbox == (0.0, 0.0, 40.0, 40.0)
    # The area is the outline's in original pixels (a right triangle of legs 40: 800), not YOLO's 100 × 4 × 4;
    # YOLO's own figure is kept as it came.
    assert (hole.mask_area, hole.mask_area_model_px) == (800.0, 100.0)
    assert hole.shape_wkt == "MULTIPOLYGON (((0 0, 40 0, 40 40, 0 0)))"
    assert (hole.persistence_type.value, hole.validity_days, hole.is_weather_dependent) == ("MEDIUM_TERM", 30, False)
    assert (unknown.class_name, unknown.breeding_site_type, unknown.risk_level.value) == ("Clase_9", None, "BAJO")
    assert unknown.validity_days == int(30 * 0.8 * 1.1)
    assert unknown.expires_at == datetime(2025, 7, 27, tzinfo=UTC)


def test_empty_polygons_are_dropped_and_degenerate_ones_kept_without_area_or_shape():
    records = build_detections(
        [detection(0, []), detection(0, [(1, 1)], mask_area=None)],
        sent_size=(10, 10),
        original_size=(10, 10),
        detected_at=WHEN,
    )
    assert len(records) == 1 and records[0].bbox == (1, 1, 1, 1)
    assert (records[0].mask_area, records[0].mask_area_model_px, records[0].shape_wkt) == (0.0, None, None)


def test_signed_64_bit_hashes():
    assert to_signed64(2**64 - 1) == -1
    assert to_signed64(2**63) == -(2**63)
    assert to_signed64(5) == 5
    assert hamming(-1, 0) == 64 and hamming(to_signed64(2**63), 0) == 1


def test_dhash_is_stable_under_resizing_and_recompression_and_tells_pictures_apart():
    import io

    base = picture(11, (640, 480))
    buffer = io.BytesIO()
    base.resize((320, 240)).save(buffer, "JPEG", quality=60)
    recompressed = Image.open(buffer)
    h1, reliable = dhash(base)
    h2, _ = dhash(recompressed)
    assert reliable and hamming(h1, h2) <= 3
    others = [dhash(picture(i, (640, 480)))[0] for i in range(12, 20)]
    assert min(hamming(h1, other) for other in others) > 8


@pytest.mark.parametrize("colour", [(0, 0, 0), (128, 128, 128), (250, 250, 250)])
def test_flat_pictures_have_an_untrusted_hash(colour):
    assert dhash(Image.new("RGB", (100, 100), colour)) == (0, False)
