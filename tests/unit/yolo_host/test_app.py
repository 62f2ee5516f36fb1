"""The host's HTTP answers in process: 429 with Retry-After when full, 413, 422, 400, and /health."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.yolo_models import anchors, rectangle_protos
from tests.unit.yolo_host.helpers import detector, png

BOX = {"box": (320.0, 320.0, 200.0, 100.0), "scores": {2: 0.9}, "coeffs": {0: 1.0}}


@pytest.fixture
def host(tmp_path):
    return detector(tmp_path, anchors([BOX]), rectangle_protos({0: (0, 0, 160, 160)}), max_bytes=100_000)


def post(client: TestClient, data: bytes, **fields: str):
    return client.post("/detect", files={"file": ("foto.png", data, "image/png")}, data=fields)


def test_a_full_queue_answers_429_with_retry_after_and_a_free_place_serves_again(host):
    from yolo_host.app import Admission, create_app

    # Given an admission of two places, both taken (two photos in progress or waiting)
    admission = Admission(capacity=2)
    assert admission.try_enter() and admission.try_enter()
    with TestClient(create_app(host, admission)) as client:
        # When one more photo arrives
        refused = post(client, png(1280, 960))

        # Then it is refused at once, with the settings' Retry-After, and nothing is left taken by it
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"
        assert "2 fotos" in refused.json()["detail"]
        assert admission.in_flight == 2
        assert client.get("/health").json()["status"] == "degraded"

        # And once a place is free the next photo is served, and gives its place back
        admission.leave()
        served = post(client, png(1280, 960))
        assert served.status_code == 200
        assert served.json()["total_detections"] == 1
        assert admission.in_flight == 1


def test_health_names_the_model_its_hash_and_the_provider(host):
    from yolo_host.app import create_app

    with TestClient(create_app(host)) as client:
        health = client.get("/health").json()

    assert health["status"] == "healthy"
    assert health["model"]["name"] == "planted.onnx"
    assert health["model"]["sha256"] == host.model.sha256
    assert health["model"]["classes"] == {
        "0": "Basura",
        "1": "Calles mal hechas",
        "2": "Charcos/Cumulo de agua",
        "3": "Huecos",
    }
    assert health["execution_provider"] == "CPUExecutionProvider"
    assert health["queue"] == {"in_flight": 0, "capacity": 9, "workers": 1}


def test_bad_requests_are_4xx(host):
    from yolo_host.app import create_app

    with TestClient(create_app(host)) as client:
        assert post(client, b"GIF89a not really").status_code == 400
        assert post(client, png(1280, 960), confidence_threshold="0.05").status_code == 422
        assert client.post("/detect", data={"confidence_threshold": "0.5"}).status_code == 422
        too_large = post(client, b"\x89PNG" + b"\0" * 100_001)
        assert too_large.status_code == 413
        assert too_large.json() == {"detail": "Archivo demasiado grande. Tamaño máximo: 100000 bytes"}


def _encoded(image, fmt: str, **options) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_odd_but_valid_images_are_served_and_broken_ones_are_400_never_500(host):
    from PIL import Image

    from yolo_host.app import create_app

    rgb = Image.new("RGB", (320, 240), (30, 60, 90))
    served = {
        "grayscale PNG": _encoded(rgb.convert("L"), "PNG"),
        "16-bit PNG": _encoded(Image.new("I;16", (320, 240), 4000), "PNG"),
        "CMYK JPEG": _encoded(rgb.convert("CMYK"), "JPEG"),
        "palette PNG with transparency": _encoded(rgb.convert("P"), "PNG", transparency=0),
    }
    jpeg = _encoded(rgb, "JPEG")
    refused = {
        "JPEG cut in half": jpeg[: len(jpeg) // 2],
        "20×20 PNG": _encoded(Image.new("RGB", (20, 20)), "PNG"),
        "empty": b"",
    }
    with TestClient(create_app(host), raise_server_exceptions=False) as client:
        for name, data in served.items():
            assert post(client, data).status_code == 200, name
        for name, data in refused.items():
            assert post(client, data).status_code == 400, name
