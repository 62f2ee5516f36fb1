"""HTTP app of the YOLO stand-in — a TEST DOUBLE of the external YOLO service, NOT the model.

Routes: POST /detect and GET /health (the contract), GET /models, and the test-only admin API
GET|PUT /_admin/faults, GET /_admin/stats, GET /_admin/received, POST /_admin/reset, POST /_admin/clock.
Faults and the rate limit only ever touch /detect.

Profiles (YOLO_STANDIN_PROFILE, yolo_standin.profiles): `default` answers tidily; `original` answers like the
original service, rate limit included (YOLO_STANDIN_RATE_LIMIT per YOLO_STANDIN_RATE_WINDOW_S and client IP).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yolo_standin import MODEL_USED, SERVICE_NAME, TEST_DOUBLE_HEADER, __version__
from yolo_standin.detector import SUPPORTED_EXTENSIONS, ImageRejected, analyse
from yolo_standin.faults import NO_FAULT, FaultConfig, FaultInjector, parse_fault_env
from yolo_standin.profiles import ORIGINAL, ORIGINAL_RATE_LIMIT, RATE_WINDOW_S, profile_named
from yolo_standin.ratelimit import Clock, FixedWindowLimiter

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MULTIPART_SLACK_BYTES = 1024 * 1024
FAULT_HEADER = "X-Injected-Fault"
INJECTED = "injected fault (yolo-standin test double)"


def _route_group(path: str) -> str:
    if path == "/detect":
        return "detect"
    if path == "/health":
        return "health"
    return "admin" if path.startswith("/_admin") else "other"


class TestDoubleMiddleware:
    """Marks every response as coming from the test double, echoes X-Request-ID, counts requests."""

    def __init__(self, app: ASGIApp, injector: FaultInjector, max_bytes: int) -> None:
        """Wrap an ASGI app."""
        self.app = app
        self.injector = injector
        self.body_limit = max_bytes + MULTIPART_SLACK_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        group = _route_group(scope["path"])
        self.injector.count("requests", group)
        request_id = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[TEST_DOUBLE_HEADER[0]] = TEST_DOUBLE_HEADER[1]
                if request_id is not None:
                    headers["X-Request-ID"] = request_id.decode("latin-1")
                if group == "detect":
                    self.injector.count("detect_status_codes", str(message["status"]))
            await send(message)

        if group == "detect" and self._declared_length(scope) > self.body_limit:
            # Refuse a grossly oversized upload before it is spooled to disk; uploads near the
            # cap (or without Content-Length) are measured by the handler instead.
            self.injector.count("outcomes", "rejected")
            too_large = _error(413, f"File too large. Maximum size: {self.body_limit - MULTIPART_SLACK_BYTES} bytes")
            await too_large(scope, receive, send_marked)
            return
        await self.app(scope, receive, send_marked)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        raw = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        return int(raw) if raw.isdigit() else 0


def _error(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)


def _malformed(variant: str) -> Response:
    headers = {FAULT_HEADER: f"malformed-{variant.replace('_', '-')}"}
    if variant == "invalid_json":
        # A body cut off mid-way, as a proxy dropping the connection would leave it.
        body = f'{{"analysis_id": "{uuid.uuid4()}", "status": "completed", "detections": [{{"class_'
        return Response(body, status_code=200, media_type="application/json", headers=headers)
    return JSONResponse({"analysis_id": str(uuid.uuid4()), "status": "completed"}, headers=headers)


async def _pause(seconds: float, stopping: Callable[[], bool]) -> bool:
    """Sleep, waking early if the server is stopping; True if the whole pause elapsed."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if stopping():
            return False
        await asyncio.sleep(min(remaining, 0.1))
    return True


def _shutting_down() -> JSONResponse:
    return _error(503, "yolo-standin is shutting down", Connection="close")


async def _injected(
    outcome: str, config: FaultConfig, injector: FaultInjector, stopping: Callable[[], bool]
) -> Response | None:
    """The response of an injected fault, or None when the request should then proceed (timeout)."""
    injector.count("outcomes", f"injected_{outcome}")
    if outcome == "error":
        return _error(500, f"Error processing image: {INJECTED}", **{FAULT_HEADER: "error"})
    if outcome == "bad_request":
        return _error(400, f"Image processing failed: {INJECTED}", **{FAULT_HEADER: "bad-request"})
    if outcome == "rate_limit":
        # The real service's limiter (slowapi) answers with this body, not FastAPI's {"detail": ...}.
        headers = {FAULT_HEADER: "rate-limit"}
        if config.retry_after_s is not None:
            headers["Retry-After"] = str(config.retry_after_s)
        return JSONResponse({"error": "Rate limit exceeded: 10 per 1 minute"}, status_code=429, headers=headers)
    if outcome == "malformed":
        variant = injector.malformed_variant(config.malformed_kind)
        injector.count("outcomes", f"injected_malformed_{variant}")
        return _malformed(variant)
    # timeout: stall long enough for the caller to give up, then answer normally if anyone listens.
    # A stop cuts the stall short, so SIGTERM never waits for an injected 30 s sleep.
    return None if await _pause(config.timeout_sleep_s, stopping) else _shutting_down()


def _limiter(profile: str, rate_limit: int | None, window_s: float | None, clock: Clock | None) -> FixedWindowLimiter:
    """The per-IP limit: YOLO_STANDIN_RATE_LIMIT (default: the original's 10 in `original`, off in `default`)."""
    if rate_limit is None:
        raw = os.environ.get("YOLO_STANDIN_RATE_LIMIT", "").strip()
        rate_limit = int(raw) if raw else (ORIGINAL_RATE_LIMIT if profile == ORIGINAL else 0)
    if window_s is None:
        window_s = float(os.environ.get("YOLO_STANDIN_RATE_WINDOW_S") or RATE_WINDOW_S)
    if clock is None:
        clock = Clock(os.environ.get("YOLO_STANDIN_CLOCK", "").strip().lower() or "real")
    return FixedWindowLimiter(rate_limit, window_s, clock)


def create_app(
    faults: FaultConfig | None = None,
    max_bytes: int | None = None,
    stopping: Callable[[], bool] = lambda: False,
    *,
    profile: str | None = None,
    rate_limit: int | None = None,
    rate_window_s: float | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the stand-in; faults default to env YOLO_STANDIN_FAULTS, the cap to YOLO_STANDIN_MAX_BYTES, the
    profile to YOLO_STANDIN_PROFILE, the rate limit to YOLO_STANDIN_RATE_LIMIT / _RATE_WINDOW_S / _CLOCK.

    `stopping` tells injected delays that the server is shutting down (e.g. uvicorn's should_exit).
    """
    if faults is None:
        faults = parse_fault_env(os.environ.get("YOLO_STANDIN_FAULTS"))
    if max_bytes is None:
        max_bytes = int(os.environ.get("YOLO_STANDIN_MAX_BYTES") or DEFAULT_MAX_BYTES)
    if max_bytes <= 0:
        raise ValueError("YOLO_STANDIN_MAX_BYTES must be a positive number of bytes")
    profile = profile_named(os.environ.get("YOLO_STANDIN_PROFILE") if profile is None else profile)
    limiter = _limiter(profile, rate_limit, rate_window_s, clock)
    injector = FaultInjector(faults)
    app = FastAPI(
        title="YOLO stand-in (TEST DOUBLE, not the model)",
        version=__version__,
        description="Speaks the YOLO service contract with synthetic, deterministic detections.",
    )
    app.state.injector = injector
    app.state.max_bytes = max_bytes
    app.state.stopping = stopping
    app.state.profile = profile
    app.state.limiter = limiter
    app.add_middleware(TestDoubleMiddleware, injector=injector, max_bytes=max_bytes)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Always healthy; says loudly that this is a test double."""
        return {
            "status": "healthy",
            "service": SERVICE_NAME,
            "test_double": True,
            "note": "TEST DOUBLE of the YOLO detection service: detections are synthetic, not from a model",
            "profile": profile,
            "rate_limit": limiter.describe() if limiter.enabled else None,
            "version": __version__,
            "timestamp": datetime.now(UTC).isoformat(),
        }

    @app.get("/models")
    async def models() -> dict[str, Any]:
        """No model files: this is a test double."""
        return {"available_models": [], "current_model": MODEL_USED}

    @app.post("/detect")
    async def detect(
        request: Request,
        file: Annotated[UploadFile, File()],
        confidence_threshold: Annotated[float, Form()] = 0.5,
        include_gps: Annotated[bool, Form()] = True,
    ) -> Response:
        """Synthetic detections for the uploaded image, in the exact shape of the real service."""
        started = time.perf_counter()
        if not limiter.hit(request.client.host if request.client else "unknown"):
            # slowapi's answer: its own body, no Retry-After (the original never configured headers).
            injector.count("outcomes", "rate_limited")
            return JSONResponse({"error": f"Rate limit exceeded: {limiter.describe()}"}, status_code=429)
        injector.receive(file.filename, await file.read())
        await file.seek(0)
        outcome, config = injector.draw()
        is_stopping = app.state.stopping
        if config.latency_ms and not await _pause(config.latency_ms / 1000, is_stopping):
            return _shutting_down()
        if outcome != NO_FAULT:
            response = await _injected(outcome, config, injector, is_stopping)
            if response is not None:
                return response
        rejection = _check_request(file, confidence_threshold, max_bytes)
        if rejection is None:
            data = await file.read()
            if len(data) > max_bytes:
                rejection = _error(413, f"File too large. Maximum size: {max_bytes} bytes")
        if rejection is not None:
            injector.count("outcomes", "rejected")
            return rejection
        try:
            result = await run_in_threadpool(analyse, data, confidence_threshold, include_gps, profile)
        except ImageRejected as exc:
            injector.count("outcomes", "rejected")
            return _error(400, str(exc))
        injector.count("outcomes", "ok")
        body = {
            "analysis_id": str(uuid.uuid4()),
            "status": "completed",
            "detections": result["detections"],
            "total_detections": result["total_detections"],
            "risk_assessment": result["risk_assessment"],
            "location": result["location"],
            "camera_info": result["camera_info"],
            "processing_time_ms": int((time.perf_counter() - started) * 1000),
            "model_used": MODEL_USED,
            "confidence_threshold": confidence_threshold,
            "processed_image_base64": result["processed_image_base64"],
        }
        return JSONResponse(body)

    @app.get("/_admin/faults")
    async def get_faults() -> dict[str, Any]:
        """The fault config in force."""
        return injector.config.model_dump()

    @app.put("/_admin/faults")
    async def put_faults(config: FaultConfig) -> dict[str, Any]:
        """Replace the whole fault config (omitted keys take their defaults); restarts the schedule."""
        injector.configure(config)
        return injector.config.model_dump()

    @app.get("/_admin/stats")
    async def get_stats() -> dict[str, Any]:
        """Request and outcome counters since start or the last reset."""
        return injector.stats()

    @app.get("/_admin/received")
    async def get_received() -> list[dict[str, Any]]:
        """Name, size and SHA-256 of every file /detect received since start or the last reset."""
        return injector.received()

    @app.post("/_admin/reset")
    async def reset() -> dict[str, Any]:
        """Zero the counters and go back to the startup fault config."""
        injector.reset()
        limiter.reset()
        return {"status": "reset", "faults": injector.config.model_dump()}

    @app.post("/_admin/clock")
    async def advance_clock(body: dict[str, float]) -> Response:
        """Move the rate limiter's clock forward: `{"advance_s": 60}` is a minute passing."""
        try:
            now = limiter.clock.advance(float(body.get("advance_s", 0.0)))
        except (TypeError, ValueError) as exc:
            return _error(400, str(exc))
        return JSONResponse({"now": now, "clock": limiter.clock.kind})

    return app


def _check_request(file: UploadFile, threshold: float, max_bytes: int) -> JSONResponse | None:
    """The 400/413 the real service gives before touching the pixels, or None if the request is fine."""
    if not file.filename:
        return _error(400, "No filename provided")
    extension = PurePath(file.filename).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        return _error(400, f"Unsupported format: {extension or file.filename}")
    if not 0.1 <= threshold <= 1.0:
        return _error(400, "confidence_threshold must be between 0.1 and 1.0")
    if file.size is not None and file.size > max_bytes:
        return _error(413, f"File too large. Maximum size: {max_bytes} bytes")
    return None
