"""The preview answer built from a YOLO result (a fake client: the HTTP path is tested against the stand-in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sentrix_upload.logic import preview as preview_logic
from sentrix_upload.logic.intake import IncomingFile
from sentrix_upload.schemas.intake import UploadOptions
from sentrix_upload.settings import UploadSettings


@dataclass
class FakeYolo:
    result: object
    calls: list = field(default_factory=list)

    def detect(self, image, filename, *, confidence_threshold, include_gps, request_id=None):
        self.calls.append((filename, confidence_threshold, include_gps, request_id))
        return self.result


def result(**overrides):
    from sentrix.adapters.yolo import YoloResult

    base = {
        "detections": [
            {"class_id": 2, "class_name": "Charcos", "confidence": 0.9, "polygon": [[1, 2], [9, 2], [5, 8]]},
            {"class_id": 7, "class_name": "mystery", "confidence": 0.6, "polygon": [[0, 0], [1, 0], [1, 1]]},
        ],
        "location": {"has_location": True, "latitude": -26.8, "longitude": -65.2, "altitude_meters": 450.0},
        "model_used": "stand-in",
        "processed_image": b"\xff\xd8\xffjpeg",
    }
    return YoloResult.model_validate({**base, **overrides})


def run(monkeypatch, options: UploadOptions, yolo_result, language="es"):
    monkeypatch.setattr(preview_logic.quota, "count_preview", lambda *a, **k: None)
    monkeypatch.setattr(preview_logic, "session_scope", _null_scope)
    fake = FakeYolo(yolo_result)
    png = IncomingFile("x.jpg", "image/jpeg", _small_png())
    answer = preview_logic.preview("198.51.100.1", png, options, UploadSettings(), language=language, client=fake)
    return answer, fake


def _small_png() -> bytes:
    # A real PNG: the preview checks dimensions like detect does (a bare signature is refused).
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class _null_scope:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_classes_come_from_our_table_and_exif_location_is_used(monkeypatch):
    answer, fake = run(monkeypatch, UploadOptions(), result())

    assert fake.calls == [("preview.png", 0.5, True, None)]
    puddle, unknown = answer["detections"]
    assert (puddle["class_name"], puddle["risk_level"], puddle["bbox"]) == (
        "Charcos/Cumulo de agua",
        "ALTO",
        {"x_min": 1, "y_min": 2, "x_max": 9, "y_max": 8},
    )
    assert (unknown["class_name"], unknown["risk_level"]) == ("Clase_7", "BAJO")
    assert answer["location"]["location_source"] == "EXIF_GPS"
    assert answer["location"]["altitude_meters"] == 450.0
    assert answer["processed_image_url"] == "data:image/jpeg;base64,/9j/anBlZw=="
    assert answer["risk_assessment"]["total_detections"] == 2
    assert answer["stored"] is False


def test_manual_point_wins_and_a_bad_exif_point_is_no_point(monkeypatch):
    manual, _ = run(monkeypatch, UploadOptions(latitude=0, longitude=0), result())
    bad_exif, _ = run(
        monkeypatch, UploadOptions(), result(location={"has_location": True, "latitude": 123, "longitude": 0})
    )

    assert (manual["location"]["latitude"], manual["location"]["location_source"]) == (0, "MANUAL")
    assert bad_exif["location"] == {"has_location": False, "location_source": "NONE"}


def test_outlines_share_a_vertex_budget_and_areas_come_from_them(monkeypatch):
    # 3,001 detections of 8-point octagon-ish rings: 12,000 // 3,001 = 3 is under the floor of 4 vertices,
    # so 12,000 / 4 = 3,000 are outlined (the most confident) and the least confident one is not.
    ring = [[10, 0], [20, 0], [30, 10], [30, 20], [20, 30], [10, 30], [0, 20], [0, 10]]
    area = 30 * 30 - 4 * (10 * 10 / 2)  # the 30 x 30 square without its four corner triangles: 700
    many = [
        {"class_id": 1, "class_name": "x", "confidence": 0.9 - i * 0.0001, "polygon": ring, "mask_area": 5.0}
        for i in range(3001)
    ]
    answer, _ = run(monkeypatch, UploadOptions(), result(detections=many))

    found = answer["detections"]
    assert sum(len(d["polygon"]) for d in found) <= preview_logic.VERTEX_BUDGET == 12_000
    assert [i for i, d in enumerate(found) if not d["polygon"]] == [3000]
    assert all(len(d["polygon"]) == 4 for d in found[:3000])  # each ring simplified to its share
    assert all(d["area_square_pixels"] == d["mask_area"] == area for d in found)
    assert all(d["mask_area_model_px"] == 5.0 for d in found)
    assert found[3000]["bbox"] == {"x_min": 0, "y_min": 0, "x_max": 30, "y_max": 30}


def test_a_few_outlines_keep_every_vertex_further_than_a_pixel_from_a_simpler_one(monkeypatch):
    answer, _ = run(monkeypatch, UploadOptions(), result())
    puddle, unknown = answer["detections"]
    assert puddle["polygon"] == [[1, 2], [9, 2], [5, 8]]
    assert puddle["area_square_pixels"] == 8 * 6 / 2
    assert unknown["area_square_pixels"] == 0.5
