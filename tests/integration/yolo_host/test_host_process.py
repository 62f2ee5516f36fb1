"""The host as an operator runs it: `python -m yolo_host` over HTTP, the model from a file or from S3."""

from __future__ import annotations

import hashlib
import io

import boto3
import httpx
import pytest
from PIL import Image

from tests.integration.yolo_host.conftest import PLANTED, PROTOS
from tests.support.detect import TUCUMAN, exif_bytes
from tests.support.yolo_host import HostProcess
from tests.support.yolo_models import planted_model
from yolo_standin.testing import contract_validator

VALIDATOR = contract_validator()
RISK_BY_CLASS = {0: "ALTO", 1: "MEDIO", 2: "ALTO", 3: "MEDIO"}  # DESIGN §4, written out here on purpose


def jpeg(width: int, height: int, **exif) -> bytes:
    buffer = io.BytesIO()
    extra = {"exif": exif_bytes(**exif)} if exif else {}
    Image.new("RGB", (width, height), (70, 90, 110)).save(buffer, format="JPEG", quality=90, **extra)
    return buffer.getvalue()


def detect(base_url: str, data: bytes, **fields: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/detect",
        files={"file": ("foto.jpg", data, "image/jpeg")},
        data=fields,
        headers={"X-Request-ID": "req-yolo-host-test"},
        timeout=30,
    )


def test_answers_validate_against_the_contract_schema(yolo_host):
    # Given a 1280×960 phone photo with GPS and camera, sent as detect sends it
    response = detect(yolo_host.base_url, jpeg(1280, 960, gps=TUCUMAN, make="Samsung", model="SM-A146M"))

    # Then the answer is the contract's, field for field
    assert response.status_code == 200
    body = response.json()
    VALIDATOR.validate(body)
    assert body["total_detections"] == len(body["detections"]) == body["risk_assessment"]["total_detections"] == 2
    assert body["confidence_threshold"] == 0.5
    assert body["model_used"] == "best.onnx"
    assert body["processed_image_base64"] is None
    assert body["location"]["has_location"] is True
    assert body["camera_info"]["camera_make"] == "Samsung"
    for detection in body["detections"]:
        assert detection["risk_level"] == RISK_BY_CLASS[detection["class_id"]]
        assert detection["breeding_site_type"] == detection["class_name"]
        assert all(0 <= x <= 1280 and 0 <= y <= 960 for x, y in detection["polygon"])
    charcos, basura = body["detections"]
    assert {tuple(p) for p in charcos["polygon"]} == {(440.0, 380.0), (840.0, 380.0), (840.0, 580.0), (440.0, 580.0)}
    assert charcos["mask_area"] == 80_000.0
    assert {tuple(p) for p in basura["polygon"]} == {(100.0, 0.0), (300.0, 0.0), (300.0, 20.0), (100.0, 20.0)}
    assert basura["mask_area"] == 4_000.0


def test_a_lower_threshold_lets_the_weak_detection_through(yolo_host):
    body = detect(yolo_host.base_url, jpeg(1280, 960), confidence_threshold="0.25", include_gps="false").json()

    VALIDATOR.validate(body)
    assert [d["class_id"] for d in body["detections"]] == [2, 0, 3]
    assert (body["location"], body["camera_info"]) == (None, None)


def test_health_names_the_model_file_hash_and_provider(yolo_host, planted_model_file):
    health = httpx.get(f"{yolo_host.base_url}/health", timeout=5).json()

    assert health["status"] == "healthy"
    assert health["model"]["name"] == "best.onnx"
    assert health["model"]["sha256"] == hashlib.sha256(planted_model_file.read_bytes()).hexdigest()
    assert health["execution_provider"] == "CPUExecutionProvider"


def test_a_photo_it_cannot_read_is_a_400(yolo_host):
    response = detect(yolo_host.base_url, b"\xff\xd8\xff\xe0 truncated jpeg")

    assert response.status_code == 400
    assert response.json()["detail"]


def test_a_model_whose_classes_are_not_ours_refuses_to_start(tmp_path):
    # Given an export of some other model (COCO's first four classes)
    path = tmp_path / "coco.onnx"
    path.write_bytes(planted_model(PLANTED, PROTOS, names={0: "person", 1: "bicycle", 2: "car", 3: "motorcycle"}))
    host = HostProcess(str(path))

    # When it is started, it exits with 2 and says why, naming both tables
    host.launch()
    try:
        assert host.wait() == 2
    finally:
        host.stop()
    output = host.output()
    assert "refusing to start" in output
    assert "do not match the class table" in output
    assert "class 0 is 'person' (expected 'Basura')" in output


@pytest.mark.integration
def test_the_model_can_come_from_s3(aws, tmp_path):
    # Given the model in a bucket on moto's server
    data = planted_model(PLANTED, PROTOS)
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    s3.put_object(Bucket=aws.bucket, Key="models/yolo/best-seg.onnx", Body=data)

    # When the host starts from its s3:// URI (the usual AWS variables, here aimed at moto)
    with HostProcess(f"s3://{aws.bucket}/models/yolo/best-seg.onnx", {"AWS_ENDPOINT_URL": aws.endpoint_url}) as host:
        health = httpx.get(f"{host.base_url}/health", timeout=5).json()
        answer = detect(host.base_url, jpeg(1280, 960)).json()

    # Then it serves exactly those bytes
    assert health["model"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert health["model"]["name"] == "best-seg.onnx"
    assert health["model"]["source"] == f"s3://{aws.bucket}/models/yolo/best-seg.onnx"
    assert answer["total_detections"] == 2


@pytest.mark.integration
def test_a_missing_s3_object_refuses_to_start(aws):
    host = HostProcess(f"s3://{aws.bucket}/models/absent.onnx", {"AWS_ENDPOINT_URL": aws.endpoint_url})
    host.launch()
    try:
        assert host.wait() == 2
    finally:
        host.stop()
    assert "cannot read the model from s3://" in host.output()


def test_the_model_is_read_once_at_start(tmp_path):
    # Given a host started from a model file that is then deleted (the original reloaded its model per request)
    path = tmp_path / "once.onnx"
    path.write_bytes(planted_model(PLANTED, PROTOS))
    with HostProcess(str(path)) as host:
        path.unlink()

        # Then it still answers, twice, from the model it loaded
        first = detect(host.base_url, jpeg(1280, 960))
        second = detect(host.base_url, jpeg(1280, 960))

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["detections"] == second.json()["detections"]
