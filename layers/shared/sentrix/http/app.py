"""The app factory every HTTP function uses: FastAPI, envelope, request id, CORS, security headers; Mangum."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from mangum import Mangum

from sentrix.config import Settings, get_settings
from sentrix.db import budget
from sentrix.http import compat as _fastapi_compat  # noqa: F401 - before any route: no pydantic.v1 import
from sentrix.http.envelope import (
    COMMON_ERROR_RESPONSES,
    REQUEST_ID_HEADER,
    UnhandledErrorMiddleware,
    error_responses,
    install_error_handlers,
)
from sentrix.http.headers import SecurityHeadersMiddleware
from sentrix.http.query import reject_unknown_query_params
from sentrix.observability import logger, metrics

API_PREFIX = "/api/v1"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BODY_PARSE_ERROR = error_responses(400, s400="The request body could not be parsed")[400]


class RequestIdMiddleware:
    """Echo a well-formed X-Request-ID or mint one; expose it to handlers and the logger."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        # A hostile id (newlines, megabytes) would end up in logs and headers: replace it.
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        logger.set_correlation_id(request_id)
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message["headers"] = [*headers, header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(
    title: str,
    routers: Iterable[APIRouter],
    *,
    settings: Settings | None = None,
    description: str = "",
    strict_query: bool = False,
) -> FastAPI:
    """Build a FastAPI app for one function, with the shared envelope, request id and CORS.

    With `strict_query`, every route answers 422 to a query parameter it does not declare (sentrix.http.query).
    """
    settings = settings or get_settings()
    app = FastAPI(
        title=title,
        version=settings.version,
        description=description,
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url="/openapi.json",
    )
    unhandled = install_error_handlers(app, show_internal=settings.shows_internal_errors)
    for router in routers:
        for route in router.routes:
            # FastAPI answers 400 itself when it cannot parse a declared body (e.g. a broken form encoding).
            if isinstance(route, APIRoute) and route.body_field is not None:
                route.responses.setdefault(400, BODY_PARSE_ERROR)
        # Routes declare their own errors on top (`error_responses`); theirs win where both name a status.
        strict = [Depends(reject_unknown_query_params)] if strict_query else None
        app.include_router(router, responses=COMMON_ERROR_RESPONSES, dependencies=strict)
    # Innermost of ours: an unhandled error becomes the 500 envelope before CORS, request id and security
    # headers, so it carries them like any other answer (a browser then shows the error id, not a CORS failure).
    app.add_middleware(UnhandledErrorMiddleware, handler=unhandled)
    if settings.cors_origins:
        cors_options: dict[str, Any] = {
            "allow_origins": settings.cors_origins,
            "allow_credentials": True,
            "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            "allow_headers": ["Authorization", "Content-Type", REQUEST_ID_HEADER, "Idempotency-Key"],
            "expose_headers": [REQUEST_ID_HEADER, "Retry-After", "Content-Disposition"],
            "max_age": 600,
        }
        app.add_middleware(CORSMiddleware, **cors_options)
        # The same options for an error raised outside this middleware (sentrix.http.envelope).
        app.state.cors_options = cors_options
    app.add_middleware(RequestIdMiddleware)
    # Outermost of ours, so CORS answers and request-id errors carry the headers too.
    app.add_middleware(SecurityHeadersMiddleware)
    return app


_thread_state = threading.local()


def _ensure_event_loop() -> None:
    # Mangum runs the app on the thread's current loop; Lambda's main thread has none set, and any
    # other thread (the local gateway's workers) has none at all.
    if getattr(_thread_state, "loop", None) is None:
        _thread_state.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_thread_state.loop)


async def _run_inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _run_sync_code_inline() -> None:
    """Run sync endpoints and dependencies on the event loop's thread instead of a worker thread.

    A Lambda environment serves one request at a time, so the thread pool buys no concurrency; each hop
    cost a thread start and two context switches, several per request (a third of a warm read's time).
    """
    import fastapi.dependencies.utils
    import fastapi.routing

    fastapi.routing.run_in_threadpool = _run_inline
    fastapi.dependencies.utils.run_in_threadpool = _run_inline


def lambda_handler(app: FastAPI, *, extra_text_types: Iterable[str] = ()) -> Callable[[dict, Any], dict]:
    """Wrap an app for API Gateway (REST proxy events) with the shared logging and metrics decorators.

    Mangum base64-encodes every body whose type it does not know as text, and API Gateway decodes only the
    BinaryMediaTypes; `extra_text_types` names text types Mangum does not know (e.g. application/geo+json).
    """
    from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

    _run_sync_code_inline()
    adapter = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, *extra_text_types])

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict, context: Any) -> dict:
        _ensure_event_loop()
        # Statements never outlive the invocation (sentrix.db.budget); a route dependency names its class.
        token = budget.start(context)
        try:
            return adapter(event, context)
        finally:
            budget.end(token)

    return handler
