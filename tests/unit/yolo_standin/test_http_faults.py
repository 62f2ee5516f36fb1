"""Fault injection and the admin API of the YOLO stand-in, over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jsonschema
import pytest

from yolo_standin.detector import image_with_class
from yolo_standin.testing import StandinProcess, contract_validator

VALIDATOR = contract_validator()

IMAGE = image_with_class(2, fmt="JPEG")


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinProcess]:
    with StandinProcess() as process:
        yield process


@pytest.fixture
def client(standin: StandinProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin.base_url, timeout=30.0) as http:
        assert http.post("/_admin/reset").status_code == 200
        yield http
        http.post("/_admin/reset")


def set_faults(client: httpx.Client, **faults: Any) -> None:
    response = client.put("/_admin/faults", json=faults)
    assert response.status_code == 200, response.text


def detect(client: httpx.Client, **kwargs: Any) -> httpx.Response:
    return client.post("/detect", files={"file": ("photo.jpg", IMAGE, "image/jpeg")}, **kwargs)


def test_error_rate_is_an_exact_fraction(client: httpx.Client) -> None:
    set_faults(client, error_rate=0.25)
    statuses = Counter(detect(client).status_code for _ in range(40))
    assert statuses == {500: 10, 200: 30}
    stats = client.get("/_admin/stats").json()
    assert stats["outcomes"]["injected_error"] == 10
    assert stats["outcomes"]["ok"] == 30


def test_error_body_and_header(client: httpx.Client) -> None:
    set_faults(client, error_rate=1.0)
    response = detect(client)
    assert response.status_code == 500
    assert response.json()["detail"].startswith("Error processing image:")
    assert response.headers["X-Injected-Fault"] == "error"
    assert response.headers["X-Test-Double"] == "yolo-standin"


def test_several_modes_at_once_keep_their_exact_shares(client: httpx.Client) -> None:
    set_faults(client, error_rate=0.2, rate_limit_rate=0.1, malformed_rate=0.1, bad_request_rate=0.1)
    outcomes = Counter(detect(client).headers.get("X-Injected-Fault", "none") for _ in range(20))
    malformed = outcomes["malformed-invalid-json"] + outcomes["malformed-missing-keys"]
    assert (outcomes["error"], outcomes["rate-limit"], malformed, outcomes["bad-request"]) == (4, 2, 2, 2)
    assert outcomes["none"] == 10


def test_rate_limit_has_retry_after(client: httpx.Client) -> None:
    set_faults(client, rate_limit_rate=1.0, retry_after_s=7)
    response = detect(client)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"error": "Rate limit exceeded: 10 per 1 minute"}


def test_rate_limit_without_retry_after_like_the_original(client: httpx.Client) -> None:
    set_faults(client, rate_limit_rate=1.0, retry_after_s=None)
    response = detect(client)
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert response.json() == {"error": "Rate limit exceeded: 10 per 1 minute"}


def test_bad_request(client: httpx.Client) -> None:
    set_faults(client, bad_request_rate=1.0)
    response = detect(client)
    assert response.status_code == 400
    assert "detail" in response.json()


def test_malformed_invalid_json(client: httpx.Client) -> None:
    set_faults(client, malformed_rate=1.0, malformed_kind="invalid_json")
    response = detect(client)
    assert response.status_code == 200
    assert response.headers["X-Injected-Fault"] == "malformed-invalid-json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_malformed_missing_keys(client: httpx.Client) -> None:
    set_faults(client, malformed_rate=1.0, malformed_kind="missing_keys")
    response = detect(client)
    assert response.status_code == 200
    assert response.headers["X-Injected-Fault"] == "malformed-missing-keys"
    with pytest.raises(jsonschema.ValidationError, match="required"):
        VALIDATOR.validate(response.json())


def test_malformed_alternates_by_default(client: httpx.Client) -> None:
    set_faults(client, malformed_rate=1.0)
    kinds = [detect(client).headers["X-Injected-Fault"] for _ in range(4)]
    assert kinds == ["malformed-invalid-json", "malformed-missing-keys"] * 2
    stats = client.get("/_admin/stats").json()["outcomes"]
    assert stats["injected_malformed_invalid_json"] == stats["injected_malformed_missing_keys"] == 2


def test_latency_is_added(client: httpx.Client) -> None:
    set_faults(client, latency_ms=300)
    response = detect(client)
    assert response.status_code == 200
    # The stand-in's own account of the request includes the pause (a lower bound: a sleep never ends early)
    assert response.json()["processing_time_ms"] >= 300


def test_timeout_makes_the_client_give_up(client: httpx.Client) -> None:
    set_faults(client, timeout_rate=1.0, timeout_sleep_s=2)
    with pytest.raises(httpx.ReadTimeout):
        detect(client, timeout=httpx.Timeout(5.0, read=0.5))
    assert client.get("/_admin/stats").json()["outcomes"]["injected_timeout"] == 1


def test_requests_are_served_while_one_is_stalled(client: httpx.Client) -> None:
    """A stalled request (injected timeout) must not hold up others: the server is concurrent."""
    set_faults(client, timeout_rate=1.0, timeout_sleep_s=2)
    stalled: dict[str, httpx.Response] = {}
    thread = threading.Thread(target=lambda: stalled.setdefault("response", detect(client)))
    thread.start()
    deadline = time.monotonic() + 10
    while client.get("/_admin/stats").json()["outcomes"]["injected_timeout"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    set_faults(client)  # the stalled request keeps the config it started with
    assert detect(client).status_code == 200
    assert client.get("/health").status_code == 200
    assert thread.is_alive(), "the stalled request should still be sleeping"
    thread.join(timeout=10)
    # After the stall the stand-in answers normally, in case the caller waited that long.
    VALIDATOR.validate(stalled["response"].json())


def test_parallel_requests_all_succeed_identically(client: httpx.Client) -> None:
    images = [image_with_class(c, fmt="PNG") for c in range(4)] * 3
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda data: client.post("/detect", files={"file": ("a.png", data)}), images))
    assert all(r.status_code == 200 for r in responses)
    for first, again in zip(responses[:4], responses[4:], strict=False):
        assert first.json()["detections"] == again.json()["detections"]


def test_faults_never_touch_health_or_admin(client: httpx.Client) -> None:
    set_faults(client, error_rate=1.0, latency_ms=1000)
    # Faults (latency included) are drawn per /detect request only: none was drawn for these
    for response in (client.get("/health"), client.get("/_admin/stats")):
        assert response.status_code == 200 and "X-Injected-Fault" not in response.headers
    stats = client.get("/_admin/stats").json()
    assert stats["requests"]["detect"] == 0
    assert sum(stats["outcomes"].values()) == 0


def test_admin_get_put_and_validation(client: httpx.Client) -> None:
    set_faults(client, error_rate=0.5, latency_ms=10)
    faults = client.get("/_admin/faults").json()
    assert faults["error_rate"] == 0.5
    assert faults["latency_ms"] == 10
    assert faults["timeout_sleep_s"] == 30
    assert faults["retry_after_s"] == 1
    for bad in ({"error_rate": 2}, {"error_rate": 0.7, "bad_request_rate": 0.7}, {"nope": 1}):
        assert client.put("/_admin/faults", json=bad).status_code == 422
    assert client.get("/_admin/faults").json()["error_rate"] == 0.5


def test_reset_clears_counters_and_faults(client: httpx.Client) -> None:
    set_faults(client, error_rate=1.0)
    detect(client)
    client.get("/health")
    assert client.get("/_admin/stats").json()["outcomes"]["injected_error"] == 1
    reset = client.post("/_admin/reset").json()
    assert reset["faults"]["error_rate"] == 0.0
    stats = client.get("/_admin/stats").json()
    assert stats["requests"]["detect"] == stats["requests"]["health"] == 0
    assert set(stats["outcomes"].values()) == {0}
    assert detect(client).status_code == 200


def test_put_restarts_the_schedule(client: httpx.Client) -> None:
    set_faults(client, error_rate=0.5)
    detect(client)
    set_faults(client, error_rate=0.5)
    statuses = Counter(detect(client).status_code for _ in range(10))
    assert statuses == {500: 5, 200: 5}


def test_received_lists_every_file_by_name_size_and_hash_until_reset(client: httpx.Client) -> None:
    import hashlib

    other = image_with_class(0, fmt="JPEG")
    detect(client)
    client.post("/detect", files={"file": ("second.jpg", other, "image/jpeg")})

    assert client.get("/_admin/received").json() == [
        {"filename": "photo.jpg", "size": len(IMAGE), "sha256": hashlib.sha256(IMAGE).hexdigest()},
        {"filename": "second.jpg", "size": len(other), "sha256": hashlib.sha256(other).hexdigest()},
    ]
    client.post("/_admin/reset")
    assert client.get("/_admin/received").json() == []
