"""The anonymous preview against the YOLO stand-in over HTTP: nothing stored, per-IP limit, clear 503/504."""

from __future__ import annotations

import base64
import json

import boto3
import httpx
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from tests.integration.upload.support import call, multipart

pytestmark = pytest.mark.integration


def preview(data: bytes, fields: dict | None = None, *, ip_headers: dict | None = None):
    body, headers = multipart([("file", "foto.png", data, "image/png")], fields)
    return call("POST", "/api/v1/analyses/public", body=body, headers={**headers, **(ip_headers or {})})


def nothing_stored(aws) -> bool:
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    with session_scope() as session:
        rows = session.query(Analysis).count()
    return rows == 0 and not s3.list_objects_v2(Bucket=aws.bucket).get("Contents")


def test_preview_returns_detections_risk_and_the_annotated_image_and_stores_nothing(detector, upload_env):
    from yolo_standin.detector import image_with_class

    answer = preview(image_with_class(0), {"latitude": "-26.8", "longitude": "-65.2", "language": "en"})

    assert answer.status == 200, answer.body
    body = answer.body
    assert body["stored"] is False
    assert body["total_detections"] == len(body["detections"]) >= 1
    trash = next(d for d in body["detections"] if d["class_id"] == 0)
    assert (trash["class_name"], trash["risk_level"]) == ("Basura", "ALTO")
    assert trash["bbox"]["x_min"] == min(p[0] for p in trash["polygon"])
    assert body["risk_level"] == body["risk_assessment"]["level"]
    assert body["risk_assessment"]["high_risk_count"] >= 1
    assert body["location"]["location_source"] == "MANUAL"
    assert body["processed_image_url"].startswith("data:image/jpeg;base64,")
    assert base64.b64decode(body["processed_image_url"].split(",", 1)[1])[:3] == b"\xff\xd8\xff"
    assert body["message"].startswith("Analysis complete")
    assert nothing_stored(upload_env)


def test_an_image_without_findings_is_minimal_risk(detector):
    from yolo_standin.detector import image_without_detections

    answer = preview(image_without_detections())

    assert answer.status == 200
    assert (answer.body["total_detections"], answer.body["risk_level"]) == (0, "MINIMO")
    assert answer.body["location"] == {"has_location": False, "location_source": "NONE"}


def test_previews_are_limited_per_address(detector, upload_env):
    from yolo_standin.detector import image_without_detections

    data = image_without_detections()
    answers = [preview(data) for _ in range(4)]

    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert answers[3].error["code"] == "rate_limited"
    assert 1 <= int(answers[3].headers["retry-after"]) <= 61


def test_bad_previews_are_refused(detector):
    assert preview(b"not an image").status == 422
    assert preview(b"").status == 422
    assert preview(b"\x89PNG\r\n\x1a\n", {"latitude": "1"}).error["code"] == "invalid_location"
    assert preview(b"\x89PNG\r\n\x1a\n", {"language": "fr"}).status == 422


def test_detector_down_is_503(detector):
    from yolo_standin.detector import image_without_detections

    httpx.put(f"{detector.base_url}/_admin/faults", json={"error_rate": 1.0}).raise_for_status()

    answer = preview(image_without_detections())

    assert answer.status == 503
    assert answer.error["code"] == "detector_unavailable"


def test_detector_too_slow_is_504(detector):
    from yolo_standin.detector import image_without_detections

    httpx.put(f"{detector.base_url}/_admin/faults", json={"timeout_rate": 1.0, "timeout_sleep_s": 2}).raise_for_status()

    answer = preview(image_without_detections())

    assert answer.status == 504
    assert answer.error["code"] == "detector_timeout"


def huge_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A 900-megapixel PNG header in a few hundred bytes: what a decompression bomb looks like on the wire."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 4096))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (huge_png(), "decompression bomb protection"),
        (huge_png(25_000, 100), "no side may exceed 20000"),
        (huge_png(16, 16), "each side must be at least 32"),
    ],
    ids=["bomb", "too-wide", "too-small"],  # plain ids: mutmut passes them back to pytest
)
def test_the_preview_checks_images_like_detect_before_yolo_sees_them(detector, upload_env, data, reason):
    from tests.integration.detect.helpers import standin_calls

    answer = preview(data)

    assert answer.status == 422, answer.body
    assert answer.error["code"] == "invalid_image"
    assert reason in answer.error["message"]
    assert standin_calls(detector) == 0  # YOLO received nothing
    assert nothing_stored(upload_env)


def test_an_image_yolo_refuses_is_422_without_retries_and_nothing_stored(detector, upload_env):
    from tests.integration.detect.helpers import standin_calls
    from yolo_standin.detector import image_without_detections

    # The stand-in answers 400 to every /detect, as YOLO does for an image it cannot process.
    httpx.put(f"{detector.base_url}/_admin/faults", json={"bad_request_rate": 1.0}).raise_for_status()

    answer = preview(image_without_detections(), ip_headers={"Accept-Language": "es"})

    assert answer.status == 422, answer.body
    assert (answer.error["code"], answer.error["status"]) == ("detector_rejected", 422)
    assert answer.error["title"] == "El detector rechazó la imagen"  # the catalogue's words for the code
    # and the message too: nothing of the detector's own (English) answer reaches an anonymous caller
    assert answer.error["message"] == "El detector rechazó la imagen"
    assert "HTTP" not in json.dumps(answer.body) and "YOLO" not in json.dumps(answer.body)
    assert standin_calls(detector) == 1  # the input is at fault: retrying would not help
    assert nothing_stored(upload_env)


@pytest.mark.parametrize(
    ("fields", "headers", "message"),
    [
        ({}, {}, "Análisis completado. Para guardar resultados, crea una cuenta gratuita."),
        (
            {},
            {"Accept-Language": "pt-BR,pt;q=0.9"},
            "Análise concluída. Para salvar os resultados, crie uma conta gratuita.",
        ),
        (
            {"language": "en"},
            {"Accept-Language": "pt"},
            "Analysis complete. Create a free account to keep the results.",
        ),
    ],
)
def test_the_preview_speaks_the_forms_language_else_the_requests_else_spanish(detector, fields, headers, message):
    from yolo_standin.detector import image_without_detections

    answer = preview(image_without_detections(), fields, ip_headers=headers)

    assert answer.status == 200, answer.body
    assert answer.body["message"] == message


def test_a_refusal_speaks_the_forms_language(detector):
    from yolo_standin.detector import image_without_detections

    httpx.put(f"{detector.base_url}/_admin/faults", json={"bad_request_rate": 1.0}).raise_for_status()

    answer = preview(image_without_detections(), {"language": "en"})

    assert answer.status == 422, answer.body
    assert answer.error["message"] == "The detector rejected the image"
