"""Liveness and readiness: the database is fatal; YOLO, S3 and SQS only degrade the answer.

Readiness names the YOLO host the functions call (outside production; never its userinfo or query) and passes on
what its /health says about its model and version, so `make dev` against another host shows which one answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sentrix.config import get_settings

router = APIRouter(prefix="/api/v1", tags=["health"])


def _timed(check: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        extra = check() or {}
        result = {"status": "ok", **extra}
    except Exception as exc:
        result = {"status": "error", "error": type(exc).__name__}
    result["response_time_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict[str, Any]:
    """Reach the database and read its migration revision."""
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"schema_revision": revision}


# What a YOLO host's /health may tell about itself that readiness passes on (scalars only, strings cut short):
# the stand-in says service/version/test_double, GPU hosts commonly model/model_loaded/device.
YOLO_REPORTED_KEYS = (
    "service",
    "version",
    "model",
    "model_name",
    "model_version",
    "model_loaded",
    "model_available",
    "device",
    "test_double",
)


def check_yolo() -> dict[str, Any]:
    """Ask the YOLO host for its health and what it reports about itself."""
    import httpx

    response = httpx.get(f"{get_settings().yolo_service_url.rstrip('/')}/health", timeout=2.0)
    response.raise_for_status()
    body = response.json()
    return {"service_status": body.get("status"), "reported": yolo_reported(body)}


def yolo_reported(body: dict[str, Any]) -> dict[str, Any]:
    """The model and version facts of a /health body; nothing else of it (it is the host's text, not ours)."""
    reported: dict[str, Any] = {}
    for key in YOLO_REPORTED_KEYS:
        value = body.get(key)
        if isinstance(value, bool | int | float):
            reported[key] = value
        elif isinstance(value, str) and value:
            reported[key] = value[:80]
    return reported


def yolo_host() -> dict[str, Any]:
    """Which YOLO host the functions call, without userinfo or query; production keeps its host to itself
    (readiness is public, and the GPU host is not for everyone to find)."""
    from sentrix.urls import shown

    settings = get_settings()
    return {} if settings.is_production else {"url": shown(settings.yolo_service_url)}


def check_storage() -> None:
    """Reach the images bucket."""
    from sentrix.adapters.storage import S3ImageStore

    S3ImageStore().ping()


def check_queue() -> None:
    """Reach the detect queue."""
    from sentrix.adapters.queue import SqsWorkQueue

    SqsWorkQueue().ping()


@router.get("/health", summary="Liveness")
def health() -> dict[str, Any]:
    settings = get_settings()
    return {
        "status": "healthy",
        "service": settings.service_name,
        "version": settings.version,
        "timestamp": datetime.now(UTC).isoformat(),
    }


@router.get(
    "/health/ready",
    summary="Readiness: database fatal; YOLO, S3 and SQS degraded",
    responses={503: {"description": "Not ready: the database is down (the same body, status not_ready)"}},
)
def ready() -> JSONResponse:
    settings = get_settings()
    checks = {
        "database": _timed(check_database),
        "yolo_service": {**yolo_host(), **_timed(check_yolo)},
        "storage": _timed(check_storage),
        "queue": _timed(check_queue),
    }
    if checks["database"]["status"] != "ok":
        status, code = "not_ready", 503
    elif any(check["status"] != "ok" for check in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "ready", 200
    body = {
        "status": status,
        "service": settings.service_name,
        "version": settings.version,
        "timestamp": datetime.now(UTC).isoformat(),
        "checks": checks,
    }
    return JSONResponse(status_code=code, content=body)
