"""Planted YOLO-seg outputs decode to hand-computed boxes, classes, confidences, polygons and areas.

Every expected value is worked out by hand from the letterbox arithmetic (ultralytics' LetterBox: gain =
640 / long side, the short side centred with 114 padding) and the planted prototypes: a 160×160 prototype
upsampled ×4 with bilinear interpolation crosses zero exactly on a cell edge, so a +1/-1 step at proto
column k becomes a mask edge at model column 4k.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.yolo_models import anchors, rectangle_protos
from tests.unit.yolo_host.helpers import detector, png, ring

# A box centred at model pixel (320, 320), 200 × 100: model x 220–420, y 270–370.
BOX = (320.0, 320.0, 200.0, 100.0)
EVERYWHERE = rectangle_protos({0: (0, 0, 160, 160)})  # prototype 0 is +1 on the whole grid


def test_a_mask_filling_its_box_is_the_box_in_sent_pixels(tmp_path):
    # Given a 1280×960 photo (gain 0.5, 80 rows of padding above) and one planted anchor of class 2
    planted = anchors([{"box": BOX, "scores": {2: 0.9}, "coeffs": {0: 1.0}}])
    found = detector(tmp_path, planted, EVERYWHERE).analyse(png(1280, 960), 0.5, include_gps=False)

    # Then its mask is the box: model x 220–420 → sent 440–840, model y 270–370 → sent (270-80)/0.5 = 380 … 580
    [detection] = found["detections"]
    assert detection["class_id"] == 2
    assert detection["class_name"] == "Charcos/Cumulo de agua"
    assert detection["breeding_site_type"] == "Charcos/Cumulo de agua"
    assert detection["risk_level"] == "ALTO"
    assert detection["confidence"] == float(np.float32(0.9))
    assert ring(detection["polygon"]) == {(440.0, 380.0), (840.0, 380.0), (840.0, 580.0), (440.0, 580.0)}
    assert len(detection["polygon"]) == 4
    # 200 × 100 model pixels at gain 0.5 are 400 × 200 sent pixels
    assert detection["mask_area"] == 80_000.0
    assert found["total_detections"] == 1


def test_a_prototype_edge_lands_on_its_model_column_and_the_padding_is_left_out(tmp_path):
    # Given a portrait 960×1280 photo: gain 0.5, 480 wide inside 640, so 80 columns of padding on the left,
    # and a prototype that is +1 from proto column 60 on (model column 240)
    planted = anchors([{"box": BOX, "scores": {3: 0.75}, "coeffs": {0: 1.0}}])
    protos = rectangle_protos({0: (60, 0, 160, 160)})
    found = detector(tmp_path, planted, protos).analyse(png(960, 1280), 0.5, include_gps=False)

    # Then the mask is model x 240–420, y 270–370 → sent x (240-80)/0.5 = 320 … 680, y 540 … 740
    [detection] = found["detections"]
    assert (detection["class_id"], detection["class_name"], detection["risk_level"]) == (3, "Huecos", "MEDIO")
    assert ring(detection["polygon"]) == {(320.0, 540.0), (680.0, 540.0), (680.0, 740.0), (320.0, 740.0)}
    assert detection["mask_area"] == 180 * 100 / 0.25


def test_a_box_reaching_into_the_padding_is_cut_at_the_image_edge(tmp_path):
    # Given a box at model x 50–150, y 30–90 on a 1280×960 photo, whose image starts at model row 80
    planted = anchors([{"box": (100.0, 60.0, 100.0, 60.0), "scores": {0: 0.6}, "coeffs": {0: 1.0}}])
    found = detector(tmp_path, planted, EVERYWHERE).analyse(png(1280, 960), 0.5, include_gps=False)

    # Then only model rows 80–90 count: sent x 100–300, y 0–20
    [detection] = found["detections"]
    assert ring(detection["polygon"]) == {(100.0, 0.0), (300.0, 0.0), (300.0, 20.0), (100.0, 20.0)}
    assert detection["mask_area"] == 100 * 10 / 0.25


def test_nms_suppresses_the_duplicate_of_the_same_class_only(tmp_path):
    # Given the best box, a shifted duplicate of the same class (IoU = 198·99 / (2·20000 − 198·99) = 0.961),
    # the same box as another class, one exactly at the threshold and one below it
    planted = anchors(
        [
            {"box": (322.0, 321.0, 200.0, 100.0), "scores": {2: 0.8}, "coeffs": {0: 1.0}},
            {"box": BOX, "scores": {2: 0.9}, "coeffs": {0: 1.0}},
            {"box": BOX, "scores": {0: 0.7}, "coeffs": {0: 1.0}},
            {"box": (500.0, 200.0, 40.0, 40.0), "scores": {1: 0.5}, "coeffs": {0: 1.0}},
            {"box": (100.0, 200.0, 40.0, 40.0), "scores": {3: 0.45}, "coeffs": {0: 1.0}},
        ]
    )
    host = detector(tmp_path, planted, EVERYWHERE)

    found = host.analyse(png(1280, 960), 0.5, include_gps=False)["detections"]

    # Then best first: the class-2 box, the class-0 box over it, the one at 0.5; the duplicate and 0.45 are gone
    assert [(d["class_id"], d["confidence"]) for d in found] == [
        (2, float(np.float32(0.9))),
        (0, float(np.float32(0.7))),
        (1, 0.5),
    ]
    assert ring(found[0]["polygon"]) == {(440.0, 380.0), (840.0, 380.0), (840.0, 580.0), (440.0, 580.0)}


def test_the_iou_threshold_is_the_settings_one(tmp_path):
    # Given the same duplicate at IoU 0.961 and an IoU threshold of 0.97
    planted = anchors(
        [
            {"box": BOX, "scores": {2: 0.9}, "coeffs": {0: 1.0}},
            {"box": (322.0, 321.0, 200.0, 100.0), "scores": {2: 0.8}, "coeffs": {0: 1.0}},
        ]
    )
    found = detector(tmp_path, planted, EVERYWHERE, iou_threshold=0.97).analyse(png(1280, 960), 0.5, False)

    # Then both stay; the second one's box is model x 222–422, y 271–371 → sent 444–844, 382–582
    assert [d["confidence"] for d in found["detections"]] == [float(np.float32(0.9)), float(np.float32(0.8))]
    assert ring(found["detections"][1]["polygon"]) == {(444.0, 382.0), (844.0, 382.0), (844.0, 582.0), (444.0, 582.0)}


def test_a_mask_in_two_pieces_gives_both_outlines_largest_first(tmp_path):
    # Given a prototype with two vertical bands: proto columns 60–70 and 80–100 (model 240–280 and 320–400)
    protos = -np.ones((1, 32, 160, 160), dtype=np.float32)
    protos[0, 0, :, 60:70] = 1.0
    protos[0, 0, :, 80:100] = 1.0
    planted = anchors([{"box": BOX, "scores": {1: 0.8}, "coeffs": {0: 1.0}}])
    found = detector(tmp_path, planted, protos).analyse(png(1280, 960), 0.5, include_gps=False)

    # Then the wide band (sent x 640–800) comes first, then the narrow one (480–560), both y 380–580
    [detection] = found["detections"]
    polygon = detection["polygon"]
    assert len(polygon) == 8
    assert ring(polygon[:4]) == {(640.0, 380.0), (800.0, 380.0), (800.0, 580.0), (640.0, 580.0)}
    assert ring(polygon[4:]) == {(480.0, 380.0), (560.0, 380.0), (560.0, 580.0), (480.0, 580.0)}
    assert detection["mask_area"] == (40 + 80) * 100 / 0.25


def test_a_box_whose_mask_is_empty_is_not_reported(tmp_path):
    # Given a confident box whose mask coefficients select nothing (all prototypes -1 → logits < 0)
    planted = anchors([{"box": BOX, "scores": {0: 0.9}, "coeffs": {1: 1.0}}])
    found = detector(tmp_path, planted, EVERYWHERE).analyse(png(1280, 960), 0.5, include_gps=False)

    assert found["detections"] == []
    assert found["risk_assessment"]["level"] == "MINIMO"


def test_risk_assessment_is_the_shared_rules_for_the_classes_found(tmp_path):
    # Given one Basura (ALTO) and one Huecos (MEDIO) far apart
    planted = anchors(
        [
            {"box": (150.0, 200.0, 100.0, 100.0), "scores": {0: 0.9}, "coeffs": {0: 1.0}},
            {"box": (450.0, 400.0, 100.0, 100.0), "scores": {3: 0.8}, "coeffs": {0: 1.0}},
        ]
    )
    found = detector(tmp_path, planted, EVERYWHERE).analyse(png(1280, 960), 0.5, include_gps=False)

    # Then DESIGN §4: two types with one high → MEDIO, score 0.50 + 0.05·2 + 0.10·1 = 0.70
    risk = found["risk_assessment"]
    assert (risk["level"], risk["risk_score"]) == ("MEDIO", 0.7)
    assert (risk["high_risk_count"], risk["medium_risk_count"], risk["unique_types"]) == (1, 1, 2)
    assert risk["type_distribution"] == {"Basura": 1, "Huecos": 1}
    assert risk["recommendations"]


@pytest.mark.parametrize(
    ("size", "gain", "scaled", "pad"),
    [
        ((4000, 3000), 0.16, (640, 480), (0, 80)),
        ((3000, 4000), 0.16, (480, 640), (80, 0)),
        ((1000, 333), 0.64, (640, 213), (0, 213)),  # (640 − 213) / 2 − 0.1 = 213.4 → 213
        ((333, 1000), 0.64, (213, 640), (213, 0)),
        ((640, 640), 1.0, (640, 640), (0, 0)),
    ],
)
def test_letterbox_arithmetic(size, gain, scaled, pad):
    from yolo_host.letterbox import Letterbox

    box = Letterbox.fit(*size, (640, 640))

    assert box.gain == pytest.approx(gain)
    assert (box.scaled_width, box.scaled_height) == scaled
    assert (box.pad_x, box.pad_y) == pad


def test_an_exif_rotated_jpeg_is_read_upright(tmp_path):
    # Given a JPEG stored 1280×960 with Orientation 6 (shown 960×1280, like the portrait case above)
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (1280, 960), (90, 120, 60)).save(buffer, format="JPEG", exif=exif.tobytes())
    planted = anchors([{"box": BOX, "scores": {3: 0.75}, "coeffs": {0: 1.0}}])
    protos = rectangle_protos({0: (60, 0, 160, 160)})

    found = detector(tmp_path, planted, protos).analyse(buffer.getvalue(), 0.5, include_gps=False)

    # Then the polygon is the portrait one, in the upright image's pixels
    [detection] = found["detections"]
    assert ring(detection["polygon"]) == {(320.0, 540.0), (680.0, 540.0), (680.0, 740.0), (320.0, 740.0)}


def test_location_and_camera_come_from_exif_only_when_asked(tmp_path):
    from tests.support.detect import TUCUMAN, exif_coordinate, photo

    data = photo("JPEG", size=(640, 480), gps=TUCUMAN, make="Motorola", model="moto g54")
    host = detector(tmp_path, anchors([{"box": BOX}]), EVERYWHERE)

    with_gps = host.analyse(data, 0.5, include_gps=True)
    without = host.analyse(data, 0.5, include_gps=False)

    assert with_gps["location"]["has_location"] is True
    assert with_gps["location"]["latitude"] == exif_coordinate(TUCUMAN[0])
    assert with_gps["location"]["longitude"] == exif_coordinate(TUCUMAN[1])
    assert with_gps["location"]["location_source"] == "EXIF_GPS"
    assert (with_gps["camera_info"]["camera_make"], with_gps["camera_info"]["camera_model"]) == (
        "Motorola",
        "moto g54",
    )
    assert (without["location"], without["camera_info"]) == (None, None)


def test_not_an_image_is_refused_as_invalid(tmp_path):
    from sentrix.errors import InvalidImage

    host = detector(tmp_path, anchors([{"box": BOX}]), EVERYWHERE)

    with pytest.raises(InvalidImage):
        host.analyse(b"%PDF-1.7 not a photo", 0.5, include_gps=False)
