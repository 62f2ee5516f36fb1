"""The app factory: error envelope for every kind of failure, request ids, CORS allow-list."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from sentrix.config import Settings
from sentrix.errors import Forbidden, NotFound, RateLimited
from sentrix.http.app import create_app, lambda_handler
from tests.builders import LambdaContext, api_event

router = APIRouter(prefix="/api/v1")


class Body(BaseModel):
    threshold: float = Field(ge=0.1, le=1.0)


@router.get("/missing")
def missing() -> None:
    raise NotFound("Analysis not found")


@router.get("/forbidden")
def forbidden() -> None:
    raise Forbidden("Not enough permissions")


@router.get("/slow-down")
def slow_down() -> None:
    raise RateLimited("Too many uploads", retry_after=42)


@router.get("/teapot")
def teapot() -> None:
    raise HTTPException(status_code=418, detail="I'm a teapot")


@router.post("/validate")
def validate(body: Body) -> dict:
    return {"threshold": body.threshold}


@router.get("/crash")
def crash() -> None:
    raise RuntimeError("database password is hunter2")


@router.get("/ok")
def ok() -> dict:
    return {"token": "a bearer token"}


@router.get("/cacheable")
def cacheable() -> Response:
    return Response(b"tile", media_type="application/octet-stream", headers={"Cache-Control": "public, max-age=300"})


def invoke(settings: Settings, event: dict) -> tuple[int, dict, dict]:
    handler = lambda_handler(create_app("test", [router], settings=settings))
    response = handler(event, LambdaContext("test", 30))
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = values[-1]
    is_json = headers.get("content-type", "").startswith("application/json")
    return response["statusCode"], headers, json.loads(response["body"]) if is_json else {}


@pytest.fixture
def dev_settings() -> Settings:
    return Settings(environment="development", cors_origins="https://app.sentrix.example")


def assert_envelope(body: dict, status: int, code: str) -> dict:
    error = body["error"]
    assert set(error) >= {"id", "code", "message", "type", "timestamp"}
    uuid.UUID(error["id"])
    assert error["code"] == code
    assert error["status"] == status
    return error


@pytest.mark.parametrize(
    ("path", "status", "code", "message"),
    [
        ("/api/v1/missing", 404, "not_found", "Analysis not found"),
        ("/api/v1/forbidden", 403, "forbidden", "Not enough permissions"),
        ("/api/v1/teapot", 418, "http_error", "I'm a teapot"),
        ("/api/v1/no-such-route", 404, "not_found", "Not Found"),
    ],
)
def test_typed_and_http_errors_use_the_envelope(dev_settings, path, status, code, message):
    status_code, _, body = invoke(dev_settings, api_event("GET", path))
    assert status_code == status
    assert assert_envelope(body, status, code)["message"] == message


def test_rate_limited_carries_retry_after(dev_settings):
    status, headers, body = invoke(dev_settings, api_event("GET", "/api/v1/slow-down"))
    assert status == 429
    assert headers["retry-after"] == "42"
    assert assert_envelope(body, 429, "rate_limited")["details"] == {"retry_after": 42}


def test_validation_errors_are_422_with_details_and_no_echoed_input(dev_settings):
    event = api_event("POST", "/api/v1/validate", body={"threshold": 7})
    status, _, body = invoke(dev_settings, event)
    assert status == 422
    error = assert_envelope(body, 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "threshold"]
    assert "input" not in error["details"][0]


def test_unhandled_errors_are_masked_in_production():
    production = Settings(environment="production")
    status, headers, body = invoke(production, api_event("GET", "/api/v1/crash"))
    assert status == 500
    error = assert_envelope(body, 500, "internal_error")
    assert "hunter2" not in json.dumps(body)
    assert "traceback" not in error
    assert error["id"] in error["message"] or "support" in error["message"]
    assert headers["x-request-id"]


def test_a_deployed_development_stage_shows_no_internal_detail(dev_settings):
    # Given the environment every non-prod stage is deployed with (infra/template.yaml), without the local switch
    status, _, body = invoke(dev_settings, api_event("GET", "/api/v1/crash"))
    # Then a 500 says only that it happened, and under which id
    assert status == 500
    error = assert_envelope(body, 500, "internal_error")
    assert "traceback" not in error
    assert "hunter2" not in json.dumps(body) and "RuntimeError" not in json.dumps(body)
    assert "support" in error["message"]


def test_only_the_local_switch_makes_unhandled_errors_explain_themselves():
    local = Settings(environment="development", SENTRIX_DEBUG_ERRORS="1")
    status, _, body = invoke(local, api_event("GET", "/api/v1/crash"))
    assert status == 500
    assert body["error"]["message"].startswith("RuntimeError:")
    assert body["error"]["traceback"]


def test_the_local_switch_is_ignored_in_production():
    status, _, body = invoke(
        Settings(environment="production", SENTRIX_DEBUG_ERRORS="1"), api_event("GET", "/api/v1/crash")
    )
    assert status == 500
    assert "traceback" not in body["error"] and "hunter2" not in json.dumps(body)


def test_request_id_is_echoed_when_well_formed(dev_settings):
    event = api_event("GET", "/api/v1/missing", headers={"X-Request-ID": "client-req-123"})
    _, headers, _ = invoke(dev_settings, event)
    assert headers["x-request-id"] == "client-req-123"


@pytest.mark.parametrize("hostile", ["a" * 500, "bad\r\nSet-Cookie: x=1", "spaces are not allowed"])
def test_hostile_request_ids_are_replaced(dev_settings, hostile):
    event = api_event("GET", "/api/v1/missing", headers={"X-Request-ID": hostile})
    _, headers, _ = invoke(dev_settings, event)
    assert headers["x-request-id"] != hostile
    uuid.UUID(headers["x-request-id"])


def test_request_id_is_generated_when_absent(dev_settings):
    _, headers, _ = invoke(dev_settings, api_event("GET", "/api/v1/missing"))
    uuid.UUID(headers["x-request-id"])


def test_cors_allows_listed_origins_only(dev_settings):
    preflight = {"Origin": "https://app.sentrix.example", "Access-Control-Request-Method": "POST"}
    status, headers, _ = invoke(dev_settings, api_event("OPTIONS", "/api/v1/validate", headers=preflight))
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.sentrix.example"

    evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    status, headers, _ = invoke(dev_settings, api_event("OPTIONS", "/api/v1/validate", headers=evil))
    assert status == 400
    assert "access-control-allow-origin" not in headers


def test_cors_origins_accept_json_and_comma_lists():
    assert Settings(cors_origins='["https://a.example", "https://b.example"]').cors_origins == [
        "https://a.example",
        "https://b.example",
    ]
    assert Settings(cors_origins="https://a.example, https://b.example").cors_origins == [
        "https://a.example",
        "https://b.example",
    ]


# --- security headers (sentrix.http.headers) -----------------------------------------------------------
HSTS = "max-age=31536000; includeSubDomains"
PREFLIGHT = {"Origin": "https://app.sentrix.example", "Access-Control-Request-Method": "POST"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/api/v1/ok", {}, 200),
        ("GET", "/api/v1/missing", {}, 404),
        ("GET", "/api/v1/no-such-route", {}, 404),
        ("POST", "/api/v1/validate", {}, 422),
        ("GET", "/api/v1/slow-down", {}, 429),
        ("GET", "/api/v1/crash", {}, 500),
        ("OPTIONS", "/api/v1/validate", PREFLIGHT, 200),
    ],
    ids=["ok", "typed-error", "unknown-route", "invalid", "rate-limited", "crash", "preflight"],
)
def test_every_response_is_nosniff_hsts_and_not_stored(dev_settings, method, path, headers, status):
    # Given any answer the app can give, success, refusal, crash or preflight
    got, response_headers, _ = invoke(dev_settings, api_event(method, path, headers=headers, body={}))
    # Then it forbids sniffing, pins HTTPS and is not stored by any cache
    assert got == status
    assert response_headers["x-content-type-options"] == "nosniff"
    assert response_headers["strict-transport-security"] == HSTS
    assert response_headers["cache-control"] == "no-store"


def test_a_route_that_decides_its_caching_keeps_it(dev_settings):
    status, headers, _ = invoke(dev_settings, api_event("GET", "/api/v1/cacheable"))
    assert status == 200
    assert headers["cache-control"] == "public, max-age=300"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"] == HSTS


def test_the_local_switch_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SENTRIX_DEBUG_ERRORS", "1")
    assert Settings(environment="development").shows_internal_errors
    monkeypatch.delenv("SENTRIX_DEBUG_ERRORS")
    assert not Settings(environment="development").shows_internal_errors


# --- every error carries CORS, the request id and the hardening headers --------------------------------
ALLOWED_ORIGIN = "https://app.sentrix.example"


def _browser_call(settings: Settings, method: str, path: str, origin: str, app=None) -> tuple[int, dict, dict]:
    event = api_event(method, path, headers={"Origin": origin, "X-Request-ID": "req-42"}, body={})
    handler = lambda_handler(app or create_app("test", [router], settings=settings))
    response = handler(event, LambdaContext("test", 30))
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(values)
    return response["statusCode"], headers, json.loads(response["body"])


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/crash", 500, "internal_error"),
        ("GET", "/api/v1/missing", 404, "not_found"),
        ("POST", "/api/v1/validate", 422, "validation_error"),
        ("DELETE", "/api/v1/ok", 405, "method_not_allowed"),
    ],
    ids=["unhandled", "typed", "invalid", "wrong-method"],
)
def test_an_error_for_an_allowed_origin_is_readable_by_the_browser(dev_settings, method, path, status, code):
    # Given a browser on the allowed origin, when the call fails (a crash included)
    got, headers, body = _browser_call(dev_settings, method, path, ALLOWED_ORIGIN)
    # Then the browser may read the answer: the envelope with its error id, the request id and the hardening
    assert got == status
    assert_envelope(body, status, code)
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert headers["access-control-allow-credentials"] == "true"
    assert "origin" in headers["vary"].lower()
    assert "x-request-id" in headers["access-control-expose-headers"].lower()
    assert headers["x-request-id"] == "req-42"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"] == HSTS
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/v1/crash", "/api/v1/missing"])
def test_an_error_for_another_origin_grants_it_nothing(dev_settings, path):
    got, headers, body = _browser_call(dev_settings, "GET", path, "https://evil.example")
    assert got in (500, 404)
    assert "access-control-allow-origin" not in headers
    assert headers["x-request-id"] == "req-42"
    assert headers["x-content-type-options"] == "nosniff"
    uuid.UUID(body["error"]["id"])


def test_an_unhandled_error_is_logged_once_with_its_error_id(dev_settings, caplog):
    # The answer is made inside the app; nothing re-raises it to be logged again as "Exception in ASGI application"
    with caplog.at_level("ERROR"):
        _, _, body = _browser_call(dev_settings, "GET", "/api/v1/crash", ALLOWED_ORIGIN)
    records = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in records] == ["unhandled error"]
    assert records[0].error_id == body["error"]["id"]


class _BrokenMiddleware:
    """A middleware that fails before the app answers (outside CORS: added after the factory's own)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/ok"):
            raise RuntimeError("middleware broke")
        await self.app(scope, receive, send)


@pytest.mark.parametrize(("origin", "granted"), [(ALLOWED_ORIGIN, True), ("https://evil.example", False)])
def test_an_error_raised_by_a_middleware_carries_cors_too(dev_settings, origin, granted):
    app = create_app("test", [router], settings=dev_settings)
    app.add_middleware(_BrokenMiddleware)
    got, headers, body = _browser_call(dev_settings, "GET", "/api/v1/ok", origin, app=app)
    assert got == 500
    assert_envelope(body, 500, "internal_error")
    assert (headers.get("access-control-allow-origin") == ALLOWED_ORIGIN) is granted
    assert "origin" in headers["vary"].lower()
    assert headers["x-content-type-options"] == "nosniff"
