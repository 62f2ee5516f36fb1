"""Client of the external YOLO service (DESIGN §5): timeouts, retries with backoff, and a real circuit breaker.

The breaker guards every single HTTP attempt on a SYNC call path, so it counts real failures (the original
backend wrapped an async function with a sync breaker, which only ever saw a coroutine and never opened).
A 429 is backpressure, not a failure: it raises DetectorBusy at once (Retry-After in seconds, if given), is not
retried here and does not count towards the breaker; the caller decides when to come back.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import functools
import math
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import httpx
import pybreaker
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from sentrix.errors import DetectorBusy, DetectorRejected, DetectorTimeout, DetectorUnavailable
from sentrix.observability import logger, metrics

BREAKER_NAME = "yolo-service"
_CONTENT_TYPES = {
    ".png": "image/png",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".bmp": "image/bmp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}


class YoloSettings(BaseSettings):
    """Tuning of the YOLO client, from the environment (YOLO_SERVICE_URL, YOLO_READ_TIMEOUT_S, …)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    yolo_service_url: str = "http://127.0.0.1:8001"
    yolo_connect_timeout_s: float = Field(default=5.0, gt=0)
    # A GPU host answers a ≤ 3200 px image in a few seconds; 25 s leaves room without eating the Lambda budget.
    yolo_read_timeout_s: float = Field(default=25.0, gt=0)
    yolo_write_timeout_s: float = Field(default=10.0, gt=0)
    yolo_pool_timeout_s: float = Field(default=5.0, gt=0)
    yolo_retry_attempts: int = Field(default=3, ge=1, le=10)  # attempts in total, not retries
    yolo_backoff_initial_s: float = Field(default=0.5, ge=0)
    yolo_backoff_max_s: float = Field(default=8.0, ge=0)
    yolo_backoff_jitter_s: float = Field(default=0.5, ge=0)
    yolo_breaker_fail_max: int = Field(default=5, ge=1)
    yolo_breaker_reset_timeout_s: float = Field(default=60.0, gt=0)
    yolo_health_timeout_s: float = Field(default=3.0, gt=0)


class CircuitOpen(DetectorUnavailable):
    """The breaker is open: YOLO failed repeatedly, so it is not called until the reset timeout passes."""


class YoloDetection(BaseModel):
    """One detection of the contract; polygon in pixel coordinates of the image that was sent."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    class_id: int = Field(ge=0)
    class_name: str
    confidence: float = Field(ge=0.0, le=1.0)
    risk_level: str | None = None
    breeding_site_type: str | None = None
    polygon: tuple[tuple[float, float], ...]
    mask_area: float | None = Field(default=None, ge=0.0)


class YoloResult(BaseModel):
    """A 200 answer of POST /detect, validated; `processed_image` is the decoded annotated JPEG (or None)."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    detections: tuple[YoloDetection, ...]
    risk_assessment: dict[str, Any] = Field(default_factory=dict)
    location: dict[str, Any] | None = None
    camera_info: dict[str, Any] | None = None
    processing_time_ms: float | None = Field(default=None, ge=0)
    model_used: str
    confidence_threshold: float | None = None
    processed_image: bytes | None = None


class _BreakerMetrics(pybreaker.CircuitBreakerListener):
    """Logs every state change and counts openings as the `YoloBreakerOpened` metric."""

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old_name = getattr(old_state, "name", None)
        new_name = getattr(new_state, "name", None)
        logger.warning("YOLO circuit breaker state change", extra={"from": old_name, "to": new_name})
        if new_name == pybreaker.STATE_OPEN:
            from aws_lambda_powertools.metrics import MetricUnit

            metrics.add_metric(name="YoloBreakerOpened", unit=MetricUnit.Count, value=1)


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _detail(response: httpx.Response) -> str:
    """A short human-readable reason from an error body ({"detail": …}, {"error": …} or text)."""
    try:
        body = response.json()
        text = body.get("detail") or body.get("error") if isinstance(body, dict) else None
    except ValueError:
        text = None
    text = str(text or response.text or response.reason_phrase)
    return " ".join(text.split())[:300]


class YoloClient:
    """Calls POST {url}/detect with retries (tenacity) around a circuit breaker (pybreaker) around one attempt."""

    def __init__(
        self,
        settings: YoloSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        breaker_storage: pybreaker.CircuitBreakerStorage | None = None,
    ) -> None:
        """`sleep` waits between attempts and `breaker_storage` keeps the breaker's state and opening time
        (pybreaker's in-memory storage by default): tests pass a recorder and a storage whose clock they move."""
        self.settings = settings or YoloSettings()
        s = self.settings
        self.base_url = s.yolo_service_url.rstrip("/")
        self._http = httpx.Client(
            timeout=httpx.Timeout(
                connect=s.yolo_connect_timeout_s,
                read=s.yolo_read_timeout_s,
                write=s.yolo_write_timeout_s,
                pool=s.yolo_pool_timeout_s,
            ),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
            transport=transport,
        )
        # A 4xx means YOLO is up and the input is at fault, a 429 that it is up and busy: neither may push the
        # breaker towards open.
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=s.yolo_breaker_fail_max,
            reset_timeout=s.yolo_breaker_reset_timeout_s,
            exclude=[DetectorRejected, DetectorBusy],
            listeners=[_BreakerMetrics()],
            name=BREAKER_NAME,
            throw_new_error_on_trip=False,
            state_storage=breaker_storage or pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED),
        )
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def detect(
        self,
        image: bytes,
        filename: str,
        *,
        confidence_threshold: float,
        include_gps: bool,
        request_id: str | None = None,
    ) -> YoloResult:
        """Detections for one image; raises DetectorUnavailable/DetectorTimeout (transient), DetectorBusy (429:
        come back later) or DetectorRejected."""
        if not image:
            raise DetectorRejected("Refusing to send an empty image to the detector")
        name = PurePath(filename).name or "image.jpg"
        content_type = _CONTENT_TYPES.get(PurePath(name).suffix.lower(), "image/jpeg")
        files = {"file": (name, image, content_type)}
        form = {
            "confidence_threshold": repr(float(confidence_threshold)),
            "include_gps": "true" if include_gps else "false",
        }
        headers = {"X-Request-ID": request_id} if request_id else {}
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.yolo_retry_attempts),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            sleep=self._sleep,
            reraise=True,
            before_sleep=_log_retry,
        )
        return retrying(self._attempt, files, form, headers)

    def health(self) -> dict[str, Any]:
        """GET {url}/health (outside the breaker: a probe must not trip it); DetectorUnavailable when down."""
        try:
            response = self._http.get(f"{self.base_url}/health", timeout=self.settings.yolo_health_timeout_s)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DetectorUnavailable(f"YOLO service health check failed: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise DetectorUnavailable("YOLO service health check returned an unexpected body")
        return body

    @property
    def breaker_state(self) -> str:
        return self.breaker.current_state

    def _attempt(self, files: dict, form: dict, headers: dict) -> YoloResult:
        try:
            return self.breaker.call(self._post, files, form, headers)
        except pybreaker.CircuitBreakerError as exc:
            raise CircuitOpen(
                f"YOLO service circuit is open after {self.settings.yolo_breaker_fail_max} consecutive failures; "
                f"not calling it for up to {self.settings.yolo_breaker_reset_timeout_s:g} s"
            ) from exc

    def _post(self, files: dict, form: dict, headers: dict) -> YoloResult:
        """One HTTP attempt; every transient outcome raises, so the breaker counts it."""
        try:
            response = self._http.post(f"{self.base_url}/detect", files=files, data=form, headers=headers)
        except httpx.TimeoutException as exc:
            raise DetectorTimeout(f"YOLO service timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise DetectorUnavailable(f"YOLO service unreachable ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 429:
            raise DetectorBusy(
                f"YOLO service rate limit (HTTP 429): {_detail(response)}",
                retry_after_s=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise DetectorUnavailable(f"YOLO service error (HTTP {status}): {_detail(response)}")
        if 400 <= status < 500:
            raise DetectorRejected(f"YOLO service rejected the image (HTTP {status}): {_detail(response)}")
        if status != 200:
            raise DetectorUnavailable(f"YOLO service answered HTTP {status}, expected 200")
        return _parse(response)

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter (a 429 is never retried here, so never waited for)."""
        s = self.settings
        backoff = min(s.yolo_backoff_initial_s * (2 ** (state.attempt_number - 1)), s.yolo_backoff_max_s)
        return backoff + random.uniform(0, s.yolo_backoff_jitter_s)


def _is_retryable(exc: BaseException) -> bool:
    # An open breaker is the answer already: retrying it would only wait for nothing. A busy host asked us to
    # slow down: retrying within seconds is the opposite (detect puts the message back for later instead).
    return isinstance(exc, DetectorUnavailable) and not isinstance(exc, CircuitOpen | DetectorBusy)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.info("retrying YOLO call", extra={"attempt": state.attempt_number, "error": str(exc)})


def _parse(response: httpx.Response) -> YoloResult:
    """Validate a 200 body; anything off-contract is a YOLO fault (transient), never a crash."""
    try:
        body = response.json()
    except ValueError as exc:
        raise DetectorUnavailable("YOLO service returned a body that is not valid JSON") from exc
    if not isinstance(body, dict):
        raise DetectorUnavailable("YOLO service returned JSON that is not an object")
    encoded = body.pop("processed_image_base64", None)
    try:
        result = YoloResult.model_validate(body)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})[:5]
        raise DetectorUnavailable(f"YOLO service response breaks the contract ({', '.join(fields)})") from exc
    image = None
    if isinstance(encoded, str) and encoded:
        try:
            image = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            # The detections are what matter; the pipeline draws the masks itself when this is missing.
            logger.warning("YOLO processed_image_base64 is not valid base64; ignoring it")
    return result.model_copy(update={"processed_image": image}) if image else result


@functools.cache
def get_yolo_client() -> YoloClient:
    """The YOLO client of this execution environment (its breaker state lives as long as the environment)."""
    return YoloClient()


def reset_yolo_client() -> None:
    """Forget the cached client (tests that change YOLO_* settings)."""
    if get_yolo_client.cache_info().currsize:
        get_yolo_client().close()
    get_yolo_client.cache_clear()
