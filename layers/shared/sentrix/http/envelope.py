"""The one error envelope every API response uses: {"error": {id, code, message, type, timestamp, details?}}."""

from __future__ import annotations

import math
import traceback
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from sentrix.errors import SentrixError
from sentrix.http.headers import security_headers
from sentrix.http.locale import request_language
from sentrix.i18n import CATALOGUE, DEFAULT_LANGUAGE, t
from sentrix.observability import logger

REQUEST_ID_HEADER = "X-Request-ID"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


def _json_safe(value: Any) -> Any:
    """Details echo the client's values; inf/NaN (e.g. `radius_m=1e999`) are not JSON, so they become text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


class ErrorDetail(BaseModel):
    """The body of every error: what clients and the OpenAPI document rely on."""

    model_config = ConfigDict(extra="allow")  # e.g. `traceback` on the local stack (SENTRIX_DEBUG_ERRORS)

    id: str
    code: str
    status: int | None = None  # API Gateway's own refusals (GatewayResponses) carry no status
    message: str
    title: str | None = None  # the per-code words in the stated language (sentrix.i18n, `error.*`)
    type: str
    timestamp: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the session has ended",
    403: "Signed in, but not allowed",
    404: "No such resource (or not yours)",
    409: "Conflicts with the resource's state",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation error",
    429: "Rate limited (see Retry-After)",
    503: "A dependency (database, storage, queue, detector) is unavailable",
    504: "A dependency was too slow",
}


def error_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for error statuses, each answered with the envelope.

    `descriptions` override the generic text, keyed `s404="..."`.
    """
    return {
        status: {"model": ErrorEnvelope, "description": descriptions.get(f"s{status}", _DESCRIPTIONS.get(status, ""))}
        for status in statuses
    }


# What any route may answer: its input fails validation, or the database is down.
COMMON_ERROR_RESPONSES = error_responses(422, 503)


def error_body(
    status: int, message: str, *, type_: str, code: str | None = None, details: Any = None
) -> dict[str, Any]:
    """Build the envelope; `code` is a stable machine-readable string, `type` the error family."""
    error: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "code": code or _HTTP_CODES.get(status, "http_error"),
        "status": status,
        "message": message,
        "type": type_,
        "timestamp": datetime.now(UTC).isoformat(),
    }
    if details is not None:
        error["details"] = _json_safe(jsonable_encoder(details))
    return {"error": error}


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """pydantic's errors without the raw input (it may echo a password or a huge body back), its context or URL."""
    return [{k: v for k, v in err.items() if k not in ("input", "ctx", "url")} for err in errors]


def _title(code: str, language: str) -> str:
    """The catalogue's words for an error code (an unknown code: the generic HTTP error's)."""
    key = f"error.{code}"
    return t(key if key in CATALOGUE[DEFAULT_LANGUAGE] else "error.http_error", language)


def item_error(exc: SentrixError, language: str | None) -> dict[str, Any]:
    """One item's error inside a batch answer, worded like the envelope's: in the stated `language` it gains
    `title` and a keyed message is the catalogue's; without one it is as raised."""
    error: dict[str, Any] = {"code": exc.code, "message": exc.message, "status": exc.status, "details": exc.details}
    if language:
        error["title"] = _title(exc.code, language)
        if exc.key:
            error["message"] = t(exc.key, language, **exc.values)
    return error


def _translate(request: Request, body: dict[str, Any], generic: bool) -> dict[str, Any]:
    """When the request states a language (`language`/`lang`, `Accept-Language`, or a route resolved the caller's
    locale), add `title`, the catalogue's words for the error's code, and replace a `generic` message (one with no
    detail of its own, e.g. "Validation error") by them. `code` never changes; specific messages of typed errors
    stay as raised; without a stated language the envelope is unchanged."""
    error = body["error"]
    stated = request_language(request)
    if not stated:
        return body
    error["title"] = _title(error["code"], stated)
    if generic:
        error["message"] = error["title"]
    return body


def _generic_http_message(status: int, message: str) -> bool:
    from http import HTTPStatus

    try:
        return message in (HTTPStatus(status).phrase, "HTTP error")
    except ValueError:
        return message == "HTTP error"


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _respond(request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
    # A 500 is sent by Starlette's outermost error middleware, past SecurityHeadersMiddleware: set them here too.
    headers = {**security_headers(), **(headers or {})}
    request_id = _request_id(request)
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    return JSONResponse(status_code=status, content=body, headers=headers)


def install_error_handlers(
    app: FastAPI, *, show_internal: bool = False
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """Map HTTPException, validation errors, our typed errors and anything unhandled to the envelope; returns the
    handler of unhandled errors (for UnhandledErrorMiddleware).

    An unhandled error answers a generic message with its error id (the log has the rest); only with
    `show_internal` (the local stack's SENTRIX_DEBUG_ERRORS, Settings.shows_internal_errors) does it carry the
    exception's text and traceback, which may hold SQL or values.
    """

    @app.exception_handler(SentrixError)
    async def _sentrix_error(request: Request, exc: SentrixError):
        # Rate limits and query timeouts (a 503) say when to come back.
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = error_body(exc.status, exc.message, type_=type(exc).__name__, code=exc.code, details=exc.details)
        _translate(request, body, generic=False)
        stated = request_language(request)
        if stated and exc.key:
            body["error"]["message"] = t(exc.key, stated, **exc.values)
        if exc.status >= 500:
            logger.warning("dependency error", extra={"error_id": body["error"]["id"], "code": exc.code})
        return _respond(request, exc.status, body, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        details = None if isinstance(exc.detail, str) else exc.detail
        body = error_body(exc.status_code, message, type_="http_error", details=details)
        _translate(request, body, generic=_generic_http_message(exc.status_code, message))
        return _respond(request, exc.status_code, body, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        body = error_body(422, "Validation error", type_="validation_error", details=validation_details(exc.errors()))
        _translate(request, body, generic=True)
        return _respond(request, 422, body)

    async def unhandled(request: Request, exc: Exception):
        body = error_body(500, "An internal error occurred.", type_="internal_error", code="internal_error")
        logger.exception("unhandled error", extra={"error_id": body["error"]["id"]})
        if not show_internal:
            body["error"]["message"] = "An internal error occurred. Please contact support with this error ID."
            _translate(request, body, generic=False)
            if request_language(request):
                body["error"]["message"] = t("error.internal_error_support", request_language(request))
        else:
            body["error"]["message"] = f"{type(exc).__name__}: {exc}"
            body["error"]["traceback"] = traceback.format_exception(exc)
        return _respond(request, 500, body)

    @app.exception_handler(Exception)
    async def _outside_the_middleware(request: Request, exc: Exception):
        # Only an error raised by a middleware outside CORS gets here (Starlette's ServerErrorMiddleware, the
        # outermost layer): a route's error is answered by UnhandledErrorMiddleware, inside CORS. This answer
        # passes no CORS middleware, so it is wrapped in one with the app's own options.
        response = await unhandled(request, exc)
        options = getattr(request.app.state, "cors_options", None)
        return CORSMiddleware(response, **options) if options else response

    return unhandled


class UnhandledErrorMiddleware:
    """Answer an exception no handler took with the 500 envelope *inside* CORS, request id and security headers.

    Starlette sends the `Exception` handler's answer from ServerErrorMiddleware, outside every middleware the app
    adds: a browser would see a CORS failure instead of the envelope and its error id. Placed innermost, this
    turns the exception into a response the other middlewares then dress like any other answer.
    """

    def __init__(self, app: Any, handler: Callable[[Request, Exception], Awaitable[Any]]) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            if started:  # too late for another answer: the outermost handler logs it
                raise
            response = await self.handler(Request(scope, receive), exc)
            await response(scope, receive, send)
