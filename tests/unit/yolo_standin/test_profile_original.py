"""The stand-in's `original` profile: it answers like the original YOLO service (issue #17, point 3)."""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from shapely.geometry import Polygon

from tests.support.detect import exif_bytes, exif_coordinate
from yolo_standin.app import create_app
from yolo_standin.detector import candidate_detections, encode, image_with_class, synthetic_image
from yolo_standin.profiles import fragmented, mask_grid_area, profile_named
from yolo_standin.ratelimit import Clock, FixedWindowLimiter
from yolo_standin.testing import StandinProcess, contract_validator

VALIDATOR = contract_validator()
SIZE = (320, 240)  # long side 320: the model's 640 grid is 2x it, so grid areas are 4x sent-image areas


def deduplicated(points: list[list[float]]) -> list[tuple[float, float]]:
    kept: list[tuple[float, float]] = []
    for x, y in points:
        if not kept or kept[-1] != (x, y):
            kept.append((x, y))
    return kept


def post(client: Any, data: bytes, filename: str = "photo.jpg", **form: Any) -> Any:
    fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}
    return client.post("/detect", files={"file": (filename, data, "application/octet-stream")}, data=fields)


# --- geometry and areas --------------------------------------------------------------------------------
def test_mask_grid_area_is_in_pixels_of_the_640_grid() -> None:
    assert mask_grid_area(100.0, 1280, 960) == pytest.approx(25.0)  # (640/1280)^2 = 1/4
    assert mask_grid_area(100.0, 320, 240) == pytest.approx(400.0)  # (640/320)^2 = 4
    assert mask_grid_area(100.0, 480, 2000) == pytest.approx(100.0 * 0.32**2)  # the long side decides


def test_fragmented_polygon_keeps_the_shape_with_thousands_of_points_and_repeats() -> None:
    square = [[10.0, 10.0], [110.0, 10.0], [110.0, 60.0], [10.0, 60.0]]
    dense = fragmented(square)
    assert len(dense) > 1000
    repeats = sum(1 for a, b in itertools.pairwise(dense) if a == b)
    assert repeats > len(dense) // 5
    shape = Polygon(deduplicated(dense))
    assert shape.is_valid
    assert shape.area == pytest.approx(100 * 50)
    assert shape.bounds == pytest.approx((10.0, 10.0, 110.0, 60.0))


def test_same_image_same_detections_in_both_profiles_but_as_the_original_gives_them() -> None:
    seeds = [s for s in range(400) if candidate_detections(s, *SIZE)][:25]
    for seed in seeds:
        tidy = candidate_detections(seed, *SIZE)
        raw = candidate_detections(seed, *SIZE, profile="original")
        assert [d["class_id"] for d in raw] == [d["class_id"] for d in tidy]
        for a, b in zip(raw, tidy, strict=True):
            assert round(a["confidence"], 4) == b["confidence"]
            shape = Polygon(deduplicated(a["polygon"]))
            assert len(a["polygon"]) >= 1000
            assert any(p == q for p, q in itertools.pairwise(a["polygon"]))
            # The tidy polygon is the same shape, rounded to 0.01 px.
            assert shape.area == pytest.approx(Polygon(b["polygon"]).area, rel=1e-3)
            assert a["mask_area"] == pytest.approx(shape.area * 4, rel=1e-9)
            assert b["mask_area"] == pytest.approx(Polygon(b["polygon"]).area, abs=0.1)
    unrounded = [d["confidence"] for s in seeds for d in candidate_detections(s, *SIZE, profile="original")]
    assert any(round(c, 4) != c for c in unrounded)


def test_unknown_profile_is_refused() -> None:
    assert profile_named(None) == "default"
    assert profile_named(" Original ") == "original"
    with pytest.raises(ValueError, match="YOLO_STANDIN_PROFILE"):
        profile_named("yolov8")


# --- the rate limit --------------------------------------------------------------------------------------
def test_fixed_windows_per_key_on_a_manual_clock() -> None:
    clock = Clock("manual")
    limiter = FixedWindowLimiter(10, 60.0, clock)
    assert [limiter.hit("a") for _ in range(11)] == [True] * 10 + [False]
    assert limiter.hit("b")  # another IP has its own budget
    clock.advance(59.9)
    assert not limiter.hit("a")  # still the same minute
    clock.advance(0.1)
    assert [limiter.hit("a") for _ in range(11)] == [True] * 10 + [False]
    assert limiter.describe() == "10 per 1 minute"
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_limit_zero_is_off() -> None:
    limiter = FixedWindowLimiter(0, 60.0, Clock("manual"))
    assert all(limiter.hit("a") for _ in range(100))


def client_from(app: Any, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 50000))


def test_per_client_ip_bare_429_without_retry_after() -> None:
    app = create_app(profile="original", clock=Clock("manual"))
    data = encode(synthetic_image(3, (160, 120)), "JPEG")
    first, second = client_from(app, "10.0.0.1"), client_from(app, "10.0.0.2")
    assert [post(first, data).status_code for _ in range(10)] == [200] * 10
    refused = post(first, data)
    assert refused.status_code == 429
    assert refused.json() == {"error": "Rate limit exceeded: 10 per 1 minute"}
    assert "retry-after" not in refused.headers
    assert post(second, data).status_code == 200
    assert first.post("/_admin/clock", json={"advance_s": 60}).json()["now"] == 60.0
    assert post(first, data).status_code == 200
    stats = first.get("/_admin/stats").json()
    assert stats["outcomes"]["rate_limited"] == 1
    assert stats["detect_status_codes"] == {"200": 12, "429": 1}
    # A refused request never reached the detector.
    assert len(first.get("/_admin/received").json()) == 12


def test_the_default_profile_has_no_limit_unless_asked() -> None:
    data = encode(synthetic_image(3, (160, 120)), "JPEG")
    plain = client_from(create_app(profile="default"), "10.0.0.1")
    assert {post(plain, data).status_code for _ in range(12)} == {200}
    limited = client_from(create_app(profile="default", rate_limit=2, clock=Clock("manual")), "10.0.0.1")
    assert [post(limited, data).status_code for _ in range(3)] == [200, 200, 429]


def test_reset_forgets_the_window() -> None:
    app = create_app(profile="original", rate_limit=1, clock=Clock("manual"))
    client = client_from(app, "10.0.0.1")
    data = encode(synthetic_image(3, (160, 120)), "JPEG")
    assert [post(client, data).status_code for _ in range(2)] == [200, 429]
    client.post("/_admin/reset")
    assert post(client, data).status_code == 200


# --- over real HTTP --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def original() -> Iterator[StandinProcess]:
    env = {"YOLO_STANDIN_PROFILE": "original", "YOLO_STANDIN_CLOCK": "manual", "YOLO_STANDIN_RATE_LIMIT": "1000"}
    with StandinProcess(env=env) as process:
        yield process


@pytest.fixture
def client(original: StandinProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=original.base_url, timeout=30.0) as http:
        http.post("/_admin/reset")
        yield http


def test_health_names_the_profile(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert body["profile"] == "original"
    assert body["rate_limit"] == "1000 per 1 minute"
    assert body["test_double"] is True


def test_answers_are_contract_answers_as_the_original_gives_them(client: httpx.Client) -> None:
    data = image_with_class(0, size=SIZE, fmt="JPEG", profile="original")
    response = post(client, data, confidence_threshold=0.3)
    assert response.status_code == 200, response.text
    body = response.json()
    VALIDATOR.validate(body)
    assert body["detections"]
    for det in body["detections"]:
        shape = Polygon(deduplicated(det["polygon"]))
        assert len(det["polygon"]) >= 1000
        assert all(0 <= x <= SIZE[0] and 0 <= y <= SIZE[1] for x, y in det["polygon"])
        # Model-grid pixels: 4x the polygon's area in pixels of the 320 px image that was sent.
        assert det["mask_area"] == pytest.approx(4 * shape.area, rel=1e-6)
    assert Image.open(io.BytesIO(base64.b64decode(body["processed_image_base64"]))).size == SIZE


def test_location_unrounded_and_altitude_always_null(client: httpx.Client) -> None:
    lat, lon = -26.8083123456, -65.2176987654
    exif = exif_bytes(gps=(lat, lon), altitude=451.5)
    data = encode(synthetic_image(2, (160, 120)), "JPEG", exif=exif)
    body = post(client, data).json()
    VALIDATOR.validate(body)
    location = body["location"]
    assert location["has_location"] is True
    assert location["altitude_meters"] is None
    assert location["latitude"] == pytest.approx(exif_coordinate(lat), abs=1e-12)
    assert location["longitude"] == pytest.approx(exif_coordinate(lon), abs=1e-12)
    assert round(location["latitude"], 7) != location["latitude"]


def test_bad_profile_refuses_to_start() -> None:
    standin = StandinProcess(env={"YOLO_STANDIN_PROFILE": "yolov8"})
    with pytest.raises(RuntimeError, match="bad configuration"):
        standin.start(ready_timeout_s=15)
    assert standin.process is not None and standin.process.returncode == 2
