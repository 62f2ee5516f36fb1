"""The shared YOLO client over real HTTP against the stand-in: retries, timeouts, errors and the breaker."""

from __future__ import annotations

import httpx
import pytest

from sentrix.adapters.yolo import CircuitOpen, YoloClient
from sentrix.errors import DetectorRejected, DetectorTimeout, DetectorUnavailable
from tests.integration.detect.helpers import reset_standin, set_faults, standin_calls
from tests.support.clocks import RecordedSleeps, TravellingBreakerStorage

pytestmark = pytest.mark.integration


@pytest.fixture
def standin(yolo_standin):
    reset_standin(yolo_standin)
    yield yolo_standin
    reset_standin(yolo_standin)


@pytest.fixture
def client(yolo_settings):
    made: list[YoloClient] = []

    def build(*, sleep=None, breaker_storage=None, **overrides) -> YoloClient:
        made.append(YoloClient(yolo_settings(**overrides), sleep=sleep if sleep is not None else RecordedSleeps(),
                               breaker_storage=breaker_storage))  # fmt: skip
        return made[-1]

    yield build
    for c in made:
        c.close()


@pytest.fixture(scope="module")
def image() -> bytes:
    from yolo_standin.detector import image_with_class

    return image_with_class(2, size=(160, 120), fmt="JPEG")


def call(client: YoloClient, image: bytes, **kwargs):
    return client.detect(image, "photo.jpg", confidence_threshold=0.5, include_gps=True, **kwargs)


class Recording(httpx.HTTPTransport):
    """The real transport, remembering what went over the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []
        self.received: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        response = super().handle_request(request)
        self.received.append(response)
        return response


def test_a_detection_is_parsed_from_the_contract(client, standin, image):
    result = call(client(), image)

    assert result.model_used == "yolo-standin/test-double"
    assert any(d.class_id == 2 for d in result.detections)
    assert all(len(d.polygon) >= 3 and 0 <= d.confidence <= 1 for d in result.detections)
    assert result.processed_image is not None and result.processed_image.startswith(b"\xff\xd8\xff")
    assert result.risk_assessment["level"] in ("ALTO", "MEDIO", "BAJO", "MINIMO")


def test_the_request_id_and_form_fields_are_sent(standin, yolo_settings, image):
    transport = Recording()
    client = YoloClient(yolo_settings(), transport=transport)

    client.detect(image, "photo.jpg", confidence_threshold=0.7, include_gps=False, request_id="req-123")

    request = transport.sent[0]
    assert request.headers["X-Request-ID"] == "req-123"
    assert transport.received[0].headers["X-Request-ID"] == "req-123"  # the stand-in echoes it
    body = request.read()
    assert b'name="confidence_threshold"\r\n\r\n0.7' in body and b'name="include_gps"\r\n\r\nfalse' in body
    assert b'filename="photo.jpg"' in body and b"Content-Type: image/jpeg" in body


def test_timeouts_are_explicit_on_every_phase(client):
    timeout = client(yolo_connect_timeout_s=1.5, yolo_read_timeout_s=7)._http.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (1.5, 7, 10.0, 5.0)


def test_server_errors_are_retried_then_reported_unavailable(client, standin, image):
    set_faults(standin, error_rate=1.0)

    sleeps = RecordedSleeps()

    with pytest.raises(DetectorUnavailable, match=r"HTTP 500"):
        call(client(yolo_retry_attempts=3, sleep=sleeps), image)

    assert standin_calls(standin) == 3
    # Exponential backoff between the attempts: 0.01 s then 0.02 s (yolo_settings), each plus ≤ 0.01 s of jitter
    assert len(sleeps) == 2
    assert 0.01 <= sleeps[0] <= 0.02 and 0.02 <= sleeps[1] <= 0.03, sleeps


def test_a_bad_request_is_not_retried_and_does_not_count_towards_the_breaker(client, standin, image):
    set_faults(standin, bad_request_rate=1.0)
    yolo = client(yolo_retry_attempts=3, yolo_breaker_fail_max=2)

    for _ in range(3):
        with pytest.raises(DetectorRejected, match=r"HTTP 400"):
            call(yolo, image)

    assert standin_calls(standin) == 3
    assert yolo.breaker_state == "closed"


def test_a_timeout_is_reported_as_such(client, standin, image):
    set_faults(standin, timeout_rate=1.0, timeout_sleep_s=2)

    with pytest.raises(DetectorTimeout, match="timed out"):
        call(client(yolo_read_timeout_s=0.2, yolo_retry_attempts=2), image)

    assert standin_calls(standin) == 2


def test_an_unreachable_service_is_unavailable(yolo_settings, image):
    from sentrix_local.processes import free_port

    client = YoloClient(yolo_settings(yolo_service_url=f"http://127.0.0.1:{free_port()}"))

    with pytest.raises(DetectorUnavailable, match="unreachable"):
        call(client, image)


def test_a_malformed_answer_is_unavailable_not_a_crash(client, standin, image):
    set_faults(standin, malformed_rate=1.0)

    with pytest.raises(DetectorUnavailable) as raised:
        call(client(yolo_retry_attempts=2), image)

    assert "JSON" in str(raised.value) or "contract" in str(raised.value)
    assert standin_calls(standin) == 2


def test_the_breaker_opens_after_fail_max_failures_and_half_opens_after_the_reset_time(client, standin, image):
    from sentrix.observability import metrics

    metrics.clear_metrics()
    clock = TravellingBreakerStorage()
    yolo = client(yolo_retry_attempts=1, yolo_breaker_fail_max=3, yolo_breaker_reset_timeout_s=60,
                  breaker_storage=clock)  # fmt: skip
    set_faults(standin, error_rate=1.0)

    # Three real failures open it
    for _ in range(3):
        with pytest.raises(DetectorUnavailable, match="HTTP 500"):
            call(yolo, image)
    assert yolo.breaker_state == "open"
    assert metrics.metric_set["YoloBreakerOpened"]["Value"] == [1.0]

    # While open, calls fail fast without reaching YOLO, up to the last second of the reset time
    with pytest.raises(CircuitOpen):
        call(yolo, image)
    clock.advance(59)
    with pytest.raises(CircuitOpen):
        call(yolo, image)
    assert standin_calls(standin) == 3

    # After the reset time one trial call goes through; it fails, so the breaker opens again at once
    clock.advance(2)
    with pytest.raises(DetectorUnavailable, match="HTTP 500"):
        call(yolo, image)
    assert standin_calls(standin) == 4
    with pytest.raises(CircuitOpen):
        call(yolo, image)
    assert standin_calls(standin) == 4

    # Once YOLO is healthy, the next trial call succeeds and closes the breaker
    set_faults(standin)
    clock.advance(61)
    assert call(yolo, image).model_used
    assert yolo.breaker_state == "closed"
    assert call(yolo, image).model_used
    metrics.clear_metrics()


def test_retries_stop_as_soon_as_the_breaker_opens(client, standin, image):
    set_faults(standin, error_rate=1.0)
    yolo = client(yolo_retry_attempts=5, yolo_breaker_fail_max=2, yolo_breaker_reset_timeout_s=30)

    with pytest.raises(CircuitOpen):
        call(yolo, image)

    assert standin_calls(standin) == 2


def test_health_reports_the_service_status(client, standin, yolo_settings):
    from sentrix_local.processes import free_port

    assert client().health()["status"] == "healthy"
    with pytest.raises(DetectorUnavailable):
        YoloClient(yolo_settings(yolo_service_url=f"http://127.0.0.1:{free_port()}")).health()


def test_the_cached_client_reads_its_settings_from_the_environment(monkeypatch, standin):
    from sentrix.adapters.yolo import get_yolo_client, reset_yolo_client

    monkeypatch.setenv("YOLO_BREAKER_FAIL_MAX", "7")
    monkeypatch.setenv("YOLO_READ_TIMEOUT_S", "12.5")
    reset_yolo_client()
    try:
        client = get_yolo_client()
        assert client is get_yolo_client()
        assert (client.breaker.fail_max, client._http.timeout.read) == (7, 12.5)
        assert client.base_url == standin.base_url
    finally:
        reset_yolo_client()


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (None, None)])
def test_a_429_is_busy_at_once_not_retried_and_never_opens_the_breaker(client, standin, image, retry_after, expected):
    from sentrix.errors import DetectorBusy

    set_faults(standin, rate_limit_rate=1.0, retry_after_s=retry_after)
    sleeps = RecordedSleeps()
    yolo = client(sleep=sleeps, yolo_retry_attempts=3, yolo_breaker_fail_max=2)

    for _ in range(5):  # more 429s in a row than the breaker's fail_max
        with pytest.raises(DetectorBusy) as raised:
            call(yolo, image)
        assert raised.value.retry_after_s == expected
        assert "HTTP 429" in raised.value.message

    assert standin_calls(standin) == 5  # one call each: not retried in-process
    assert sleeps == []
    assert yolo.breaker_state == "closed"
    assert yolo.breaker.fail_counter == 0
    # And the host answering again is answered at once
    set_faults(standin)
    assert call(yolo, image).detections
