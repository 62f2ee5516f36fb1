"""The YOLO stand-in over real HTTP: the /detect and /health contract, EXIF, overlay and input errors."""

from __future__ import annotations

import base64
import io
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image, TiffImagePlugin

from yolo_standin.detector import encode, image_with_class, shoelace_area, synthetic_image
from yolo_standin.testing import StandinProcess, contract_validator

VALIDATOR = contract_validator()
RISK_BY_CLASS = {0: "ALTO", 1: "MEDIO", 2: "ALTO", 3: "MEDIO"}


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinProcess]:
    with StandinProcess() as process:
        yield process


@pytest.fixture
def client(standin: StandinProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin.base_url, timeout=30.0) as http:
        yield http


def post(client: httpx.Client, data: bytes, filename: str = "photo.jpg", **form: Any) -> httpx.Response:
    fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}
    return client.post("/detect", files={"file": (filename, data, "application/octet-stream")}, data=fields)


def gps_exif(
    lat: tuple = (26.0, 48.0, 28.8),
    lat_ref: str = "S",
    lon: tuple = (65.0, 13.0, 4.8),
    lon_ref: str = "W",
    extra_gps: dict[int, Any] | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 13"
    exif[0x0132] = "2024:01:15 10:30:00"
    exif[0x0131] = "17.2"
    exif[0x8825] = {1: lat_ref, 2: lat, 3: lon_ref, 4: lon, **(extra_gps or {})}
    return exif


def jpeg_with_corrupt_exif_segment() -> bytes:
    """A valid JPEG whose APP1 Exif segment points every IFD far outside itself."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 2)
    tiff += struct.pack("<HHII", 0x8825, 4, 1, 0x7FFFFFF0)  # GPS IFD pointer out of range
    tiff += struct.pack("<HHII", 0x010F, 2, 500, 0x7FFFFF00)  # Make string out of range
    tiff += struct.pack("<I", 0) + b"\xde\xad\xbe\xef" * 4
    payload = b"Exif\x00\x00" + tiff
    plain = encode(synthetic_image(5), "JPEG")
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + plain[2:]


def assert_contract(body: dict[str, Any], width: int, height: int, threshold: float = 0.5) -> None:
    """Schema plus the cross-field rules JSON Schema cannot express."""
    VALIDATOR.validate(body)
    assert body["total_detections"] == len(body["detections"])
    assessment = body["risk_assessment"]
    assert assessment["overall_risk"] == assessment["level"]
    assert assessment["total_detections"] == len(body["detections"])
    assert body["confidence_threshold"] == threshold
    assert body["model_used"] == "yolo-standin/test-double"
    for det in body["detections"]:
        assert det["breeding_site_type"] == det["class_name"]
        assert det["confidence"] >= threshold
        assert det["risk_level"] == RISK_BY_CLASS.get(det["class_id"], "BAJO")
        if det["class_id"] not in RISK_BY_CLASS:
            assert det["class_name"] == f"Clase_{det['class_id']}"
        assert all(0 <= x <= width and 0 <= y <= height for x, y in det["polygon"])
        assert det["mask_area"] == pytest.approx(shoelace_area(det["polygon"]), abs=0.1)
    annotated = Image.open(io.BytesIO(base64.b64decode(body["processed_image_base64"], validate=True)))
    assert annotated.format == "JPEG"
    assert annotated.size == (width, height)


def test_health_says_it_is_a_test_double(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["X-Test-Double"] == "yolo-standin"
    body = response.json()
    assert body["status"] == "healthy"
    assert body["service"] == "yolo-standin"
    assert body["test_double"] is True
    assert body["profile"] == "default"
    assert body["rate_limit"] is None
    assert body["version"] and body["timestamp"]


IMAGES = {
    "jpeg": ("photo.jpg", lambda: encode(synthetic_image(1, (320, 240)), "JPEG", quality=90)),
    "jpeg_gps": ("photo.jpeg", lambda: encode(synthetic_image(2, (320, 240)), "JPEG", exif=gps_exif())),
    "png": ("photo.png", lambda: encode(synthetic_image(3, (320, 240)), "PNG")),
    "heic": ("photo.HEIC", lambda: encode(synthetic_image(4, (320, 240)), "HEIF", exif=gps_exif())),
    "webp": ("photo.webp", lambda: encode(synthetic_image(6, (320, 240)), "WEBP")),
    "tiff": ("photo.tif", lambda: encode(synthetic_image(7, (320, 240)), "TIFF")),
    "bmp": ("photo.bmp", lambda: encode(synthetic_image(8, (320, 240)), "BMP")),
}


@pytest.mark.parametrize("kind", IMAGES)
def test_response_matches_the_contract(client: httpx.Client, kind: str) -> None:
    filename, build = IMAGES[kind]
    response = post(client, build(), filename=filename, confidence_threshold=0.3)
    assert response.status_code == 200, response.text
    assert response.headers["X-Test-Double"] == "yolo-standin"
    assert_contract(response.json(), 320, 240, threshold=0.3)


def test_same_bytes_same_detections(client: httpx.Client) -> None:
    data = image_with_class(0, fmt="JPEG")
    first, second = post(client, data).json(), post(client, data).json()
    assert first["detections"] and first["detections"] == second["detections"]
    assert first["risk_assessment"] == second["risk_assessment"]
    assert first["analysis_id"] != second["analysis_id"]


def test_fifty_images_reach_every_class_and_empty_answers(client: httpx.Client) -> None:
    classes: set[int] = set()
    empty = 0
    for index in range(50):
        body = post(client, encode(synthetic_image(100 + index), "PNG"), filename="x.png").json()
        assert_contract(body, 160, 120)
        classes |= {d["class_id"] for d in body["detections"]}
        empty += body["total_detections"] == 0
    assert {0, 1, 2, 3} <= classes
    assert empty >= 1


def test_exif_orientation_is_applied(client: httpx.Client) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: a 200x100 sensor image is shown as 100x200
    data = encode(synthetic_image(9, (200, 100)), "JPEG", exif=exif)
    response = post(client, data, confidence_threshold=0.1)
    assert_contract(response.json(), 100, 200, threshold=0.1)


def test_gps_and_camera_are_read(client: httpx.Client) -> None:
    altitude = TiffImagePlugin.IFDRational(4505, 10)
    data = encode(synthetic_image(10), "JPEG", exif=gps_exif(extra_gps={5: b"\x01", 6: altitude}))
    body = post(client, data).json()
    assert_contract(body, 160, 120)
    location = body["location"]
    assert location["has_location"] is True
    assert location["latitude"] == pytest.approx(-26.808)
    assert location["longitude"] == pytest.approx(-65.218)
    assert location["altitude_meters"] == pytest.approx(-450.5)
    assert location["location_source"] == "EXIF_GPS"
    assert body["camera_info"] == {
        "camera_make": "Apple",
        "camera_model": "iPhone 13",
        "camera_datetime": "2024:01:15 10:30:00",
        "camera_software": "17.2",
    }


def test_gps_north_east_and_heic(client: httpx.Client) -> None:
    exif = gps_exif(lat=(40.0, 24.0, 0.0), lat_ref="N", lon=(3.0, 42.0, 0.0), lon_ref="E")
    body = post(client, encode(synthetic_image(11), "HEIF", exif=exif), filename="a.heic").json()
    assert body["location"]["latitude"] == pytest.approx(40.4)
    assert body["location"]["longitude"] == pytest.approx(3.7)
    assert body["location"]["altitude_meters"] is None


def test_include_gps_false_nulls_location_and_camera(client: httpx.Client) -> None:
    data = encode(synthetic_image(12), "JPEG", exif=gps_exif())
    body = post(client, data, include_gps=False).json()
    assert_contract(body, 160, 120)
    assert body["location"] is None
    assert body["camera_info"] is None


def test_no_exif_gives_empty_location(client: httpx.Client) -> None:
    body = post(client, encode(synthetic_image(13), "PNG"), filename="a.png").json()
    assert body["location"] == {
        "has_location": False,
        "latitude": None,
        "longitude": None,
        "altitude_meters": None,
        "location_source": None,
    }
    assert set(body["camera_info"].values()) == {None}


@pytest.mark.parametrize(
    "build",
    [
        lambda: encode(
            synthetic_image(14),
            "JPEG",
            exif=gps_exif(lat=(TiffImagePlugin.IFDRational(26, 0), 48.0, 28.8)),
        ),
        lambda: encode(synthetic_image(15), "JPEG", exif=gps_exif(lat_ref="", lon_ref="")),
        lambda: encode(synthetic_image(16), "JPEG", exif=gps_exif(extra_gps={6: TiffImagePlugin.IFDRational(1, 0)})),
        jpeg_with_corrupt_exif_segment,
    ],
    ids=["zero-denominator", "missing-refs", "bad-altitude", "corrupt-segment"],
)
def test_garbage_exif_does_not_crash(client: httpx.Client, build: Any) -> None:
    response = post(client, build())
    assert response.status_code == 200, response.text
    body = response.json()
    VALIDATOR.validate(body)
    if body["location"]["has_location"]:
        # Only the altitude was broken: the position survives, the altitude is dropped.
        assert body["location"]["altitude_meters"] is None
    else:
        assert body["location"]["latitude"] is None


def test_request_id_is_echoed(client: httpx.Client) -> None:
    response = post(client, encode(synthetic_image(17), "PNG"), filename="a.png", confidence_threshold=0.5)
    assert "X-Request-ID" not in response.headers
    response = client.post(
        "/detect",
        files={"file": ("a.png", encode(synthetic_image(17), "PNG"))},
        headers={"X-Request-ID": "req-123"},
    )
    assert response.headers["X-Request-ID"] == "req-123"


@pytest.mark.parametrize("threshold", ["0.05", "1.01", "-1", "nan"])
def test_threshold_out_of_range_is_400(client: httpx.Client, threshold: str) -> None:
    response = post(client, encode(synthetic_image(18), "JPEG"), confidence_threshold=threshold)
    assert response.status_code == 400
    assert "confidence_threshold" in response.json()["detail"]


@pytest.mark.parametrize("threshold", [0.1, 1.0])
def test_threshold_bounds_are_accepted(client: httpx.Client, threshold: float) -> None:
    response = post(client, encode(synthetic_image(19), "JPEG"), confidence_threshold=threshold)
    assert response.status_code == 200
    assert_contract(response.json(), 160, 120, threshold=threshold)


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("photo.jpg", b"this is not an image at all", "Image processing failed"),
        ("photo.jpg", encode(synthetic_image(20), "JPEG")[:200], "Image processing failed"),
        ("photo.gif", encode(synthetic_image(21), "GIF"), "Image processing failed"),
        ("photo.exe", encode(synthetic_image(22), "JPEG"), "Unsupported format"),
    ],
    ids=["text", "truncated-jpeg", "gif-content", "bad-extension"],
)
def test_unusable_uploads_are_400(client: httpx.Client, filename: str, data: bytes, fragment: str) -> None:
    response = post(client, data, filename=filename)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]


def test_missing_file_is_422(client: httpx.Client) -> None:
    response = client.post("/detect", data={"confidence_threshold": "0.5"})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_admin_stats_count_outcomes(client: httpx.Client) -> None:
    client.post("/_admin/reset")
    post(client, encode(synthetic_image(23), "PNG"), filename="a.png")
    post(client, b"nope", filename="a.png")
    stats = client.get("/_admin/stats").json()
    assert stats["requests"]["detect"] == 2
    assert stats["outcomes"]["ok"] == 1
    assert stats["outcomes"]["rejected"] == 1
    assert stats["detect_status_codes"] == {"200": 1, "400": 1}
