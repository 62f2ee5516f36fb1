"""HTTP app of the inference host: POST /detect and GET /health of the YOLO contract (docs/detect.md).

Bounded concurrency instead of a per-IP limit (the host lives inside the VPC, its one client is detect):
`workers` photos are analysed at once, `queue_size` more may wait, and a request beyond both is answered
429 with Retry-After at once, so SQS's redelivery (not a growing backlog here) absorbs a burst.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sentrix.errors import InvalidImage
from sentrix.i18n import t
from yolo_host import SERVICE_NAME, __version__
from yolo_host.service import Detector

log = logging.getLogger("yolo_host")
MULTIPART_SLACK_BYTES = 1024 * 1024


class Admission:
    """Counts photos in progress or waiting; refuses one more beyond `capacity` instead of queueing it."""

    def __init__(self, capacity: int) -> None:
        """`capacity` = workers + queue size."""
        self.capacity = capacity
        self.in_flight = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        """Take a place if one is free."""
        with self._lock:
            if self.in_flight >= self.capacity:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        """Give a place back."""
        with self._lock:
            self.in_flight -= 1


def _request_id(request: Request) -> str:
    """The caller's X-Request-ID for the log, printable and short (a header must not forge log lines)."""
    raw = request.headers.get("x-request-id") or "-"
    return "".join(ch for ch in raw if ch.isprintable() and not ch.isspace())[:128] or "-"


def _error(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)


class BodyLimit:
    """Refuses a /detect body whose declared length is far over the cap before it is spooled to disk."""

    def __init__(self, app: ASGIApp, max_bytes: int, language: str) -> None:
        """Wrap the app."""
        self.app, self.max_bytes, self.language = app, max_bytes, language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, except an oversized declared upload to /detect."""
        if scope["type"] == "http" and scope["path"] == "/detect":
            declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
            if declared.isdigit() and int(declared) > self.max_bytes + MULTIPART_SLACK_BYTES:
                too_large = _error(413, t("err.yolo_host_too_large", self.language, limit=self.max_bytes))
                await too_large(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(detector: Detector, admission: Admission | None = None) -> FastAPI:
    """The app around a loaded model; `admission` may be passed (tests fill it to see the 429)."""
    settings, model = detector.settings, detector.model
    admission = admission or Admission(settings.workers + settings.queue_size)
    # The model runs `workers` photos at a time; decoding and polygons run beside it, one thread per admitted photo.
    model_pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="yolo-model")
    image_pool = ThreadPoolExecutor(max_workers=admission.capacity, thread_name_prefix="yolo-image")
    language = settings.language
    app = FastAPI(title="Sentrix YOLO inference host", version=__version__)
    app.state.detector, app.state.admission = detector, admission
    app.add_middleware(BodyLimit, max_bytes=settings.max_bytes, language=language)

    def shutdown() -> None:
        for pool in (model_pool, image_pool):
            pool.shutdown(wait=True, cancel_futures=True)

    app.router.on_shutdown.append(shutdown)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("detect %s: failed", _request_id(request))
        return _error(500, f"Error processing image: {type(exc).__name__}")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """The model (file, sha256, exporter version, classes), the execution provider and the queue."""
        return {
            "status": "healthy" if admission.in_flight < admission.capacity else "degraded",
            "service": SERVICE_NAME,
            "version": __version__,
            "model": {
                "name": model.file_name,
                "source": model.source,
                "sha256": model.sha256,
                "version": model.version,
                "classes": {str(k): v for k, v in model.names.items()},
                "input_size": list(model.input_size),
            },
            "execution_provider": model.provider,
            "queue": {"in_flight": admission.in_flight, "capacity": admission.capacity, "workers": settings.workers},
            "timestamp": datetime.now(UTC).isoformat(),
        }

    @app.post("/detect")
    async def detect(
        request: Request,
        file: Annotated[UploadFile, File()],
        confidence_threshold: Annotated[float, Form(ge=0.1, le=1.0)] = 0.5,
        include_gps: Annotated[bool, Form()] = True,
    ) -> JSONResponse:
        """The contract's answer for one photo."""
        started = time.perf_counter()
        request_id = _request_id(request)
        if not admission.try_enter():
            seconds = settings.retry_after_s
            busy = t("err.yolo_host_busy", language, in_flight=admission.in_flight, seconds=seconds)
            log.warning("detect %s: busy (%d in progress or waiting), 429", request_id, admission.in_flight)
            return _error(429, busy, **{"Retry-After": str(seconds)})
        try:
            data = await file.read()
            if len(data) > settings.max_bytes:
                return _error(413, t("err.yolo_host_too_large", language, limit=settings.max_bytes))
            loop = asyncio.get_running_loop()
            prepared = await loop.run_in_executor(image_pool, detector.prepare, data)
            outputs = await loop.run_in_executor(model_pool, detector.infer, prepared.tensor)
            result = await loop.run_in_executor(
                image_pool, detector.finish, prepared, outputs, confidence_threshold, include_gps
            )
        except InvalidImage as exc:
            return _error(400, exc.message)
        finally:
            admission.leave()
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        log.info("detect %s: %d detections in %d ms", request_id, result["total_detections"], elapsed_ms)
        return JSONResponse(
            {
                "analysis_id": str(uuid.uuid4()),
                "status": "completed",
                **result,
                "processing_time_ms": elapsed_ms,
                "model_used": model.file_name,
                "confidence_threshold": confidence_threshold,
                # detect draws the masks itself when no annotated image comes back (docs/detect.md).
                "processed_image_base64": None,
            }
        )

    return app
