"""The YOLO client's pure parts: Retry-After and the contract check of a 200 body (HTTP is tested for real
against the stand-in in tests/integration/detect/test_yolo_client.py)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from sentrix.adapters.yolo import _parse, _retry_after_seconds
from sentrix.errors import DetectorUnavailable

VALID = {
    "analysis_id": "x",
    "status": "completed",
    "detections": [
        {
            "class_name": "Basura",
            "class_id": 0,
            "confidence": 0.9,
            "risk_level": "ALTO",
            "breeding_site_type": "Basura",
            "polygon": [[1, 2], [3, 4], [5, 6]],
            "mask_area": 10.0,
        }
    ],
    "total_detections": 1,
    "risk_assessment": {"level": "ALTO", "overall_risk": "ALTO"},
    "location": None,
    "camera_info": None,
    "processing_time_ms": 12,
    "model_used": "models/best.pt",
    "confidence_threshold": 0.5,
    "processed_image_base64": base64.b64encode(b"\xff\xd8\xff\xe0jpeg").decode(),
}


def response(body) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(200, content=content, headers={"content-type": "application/json"})


def test_a_contract_answer_is_parsed_and_its_image_decoded():
    result = _parse(response(VALID))
    assert result.detections[0].polygon == ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))
    assert result.processed_image == b"\xff\xd8\xff\xe0jpeg"
    assert result.model_used == "models/best.pt"


@pytest.mark.parametrize(
    "broken",
    [
        {k: v for k, v in VALID.items() if k != "detections"},
        {k: v for k, v in VALID.items() if k != "model_used"},
        {**VALID, "detections": [{**VALID["detections"][0], "confidence": 1.5}]},
        {**VALID, "detections": [{**VALID["detections"][0], "class_id": -1}]},
        {**VALID, "detections": [{**VALID["detections"][0], "polygon": [[1, 2, 3]]}]},
        {**VALID, "detections": "none"},
    ],
)
def test_off_contract_answers_are_a_transient_detector_fault(broken):
    with pytest.raises(DetectorUnavailable, match="breaks the contract"):
        _parse(response(broken))


@pytest.mark.parametrize("body", [b'{"detections": [', b"[]", b"NaN"])
def test_unreadable_bodies_are_a_transient_detector_fault(body):
    with pytest.raises(DetectorUnavailable):
        _parse(response(body))


def test_nan_in_a_detection_is_refused():
    body = json.dumps(VALID).replace('"confidence": 0.9', '"confidence": NaN').encode()
    with pytest.raises(DetectorUnavailable):
        _parse(response(body))


def test_a_broken_annotated_image_is_dropped_not_fatal():
    assert _parse(response({**VALID, "processed_image_base64": "%%%not base64"})).processed_image is None
    assert _parse(response({**VALID, "processed_image_base64": None})).processed_image is None


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), ("0", 0.0), ("-4", 0.0), ("soon", None), (None, None)])
def test_retry_after_in_seconds(value, expected):
    assert _retry_after_seconds(value) == expected


def test_retry_after_as_an_http_date():
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 27 <= _retry_after_seconds(format_datetime(when, usegmt=True)) <= 30
