"""CORS: only the configured browser origins are ever echoed in Access-Control-Allow-Origin.

Preflights reach the functions (an OPTIONS event without authorizer on every path: SAM's Cors mock cannot run under
BinaryMediaTypes "*/*", infra/template.yaml explains), and their CORSMiddleware decides every answer. So the
functions here are loaded with `CORS_ORIGINS` set, as the stack deploys them, and called through the gateway from an
allowed origin, a disallowed one and look-alikes.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sentrix_local.gateway import Gateway, proxy_event, serve
from sentrix_local.invoke import LocalFunction
from sentrix_local.processes import free_port
from sentrix_local.template import load_template, stack_spec
from tests.security.conftest import HTTP_FUNCTIONS

pytestmark = pytest.mark.integration

ALLOWED = "https://app.sentrix.example"
LOOKALIKES = [
    "https://evil.example",
    "https://app.sentrix.example.evil.example",
    "https://evil-app.sentrix.example",
    "http://app.sentrix.example",
    "https://app.sentrix.example:8443",
    "null",
]


class FreshFunction(LocalFunction):
    """A function whose handler module is executed anew (its own app object) under the current settings."""

    def _load(self) -> Callable[[dict, Any], Any]:
        if self._handler is None:
            if str(self.spec.code_dir) not in sys.path:
                sys.path.insert(0, str(self.spec.code_dir))
            module_name, _, attribute = self.spec.handler.rpartition(".")
            spec = importlib.util.find_spec(module_name)
            module = importlib.util.module_from_spec(spec)  # not put in sys.modules: other suites keep theirs
            spec.loader.exec_module(module)
            self._handler = getattr(module, attribute)
        return self._handler


@pytest.fixture(scope="module")
def cors(security_gateway) -> Iterator[dict[str, Any]]:
    """A second gateway whose functions were built with CORS_ORIGINS set (settings are read at app creation)."""
    from sentrix.config import get_settings

    spec = stack_spec()
    os.environ["CORS_ORIGINS"] = ALLOWED
    get_settings.cache_clear()
    try:
        functions = {
            name: (LocalFunction if name == spec.authorizer_function else FreshFunction)(spec.functions[name])
            for name in HTTP_FUNCTIONS
        }
        for function in functions.values():
            function._load()
    finally:
        os.environ.pop("CORS_ORIGINS")
        get_settings.cache_clear()
    port = free_port()
    server = serve(Gateway(spec, functions), "127.0.0.1", port)
    try:
        yield {"url": f"http://127.0.0.1:{port}/api/v1", "functions": functions}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def client(cors) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cors["url"], timeout=30) as http:
        yield http


def calls(world) -> list[tuple[str, str, dict[str, Any]]]:
    bob = world.headers("bob")
    return [
        ("GET", "/analyses", {"headers": bob}),
        ("GET", f"/analyses/{uuid.uuid4()}", {"headers": bob}),  # an error answer
        ("POST", "/analyses/uploads", {"headers": bob, "json": {"filename": "x.exe"}}),
        ("GET", "/me", {"headers": bob}),
        ("GET", "/reports/statistics", {"headers": bob}),
        ("GET", "/heatmap-data", {}),  # public
    ]


def test_the_allowed_origin_is_echoed_with_credentials_and_vary(client, shared_world):
    for method, path, options in calls(shared_world):
        response = client.request(
            method, path, **{**options, "headers": {**options.get("headers", {}), "Origin": ALLOWED}}
        )
        assert response.status_code < 500, (path, response.text)
        assert response.headers.get("access-control-allow-origin") == ALLOWED, path
        assert response.headers.get("access-control-allow-credentials") == "true", path
        assert "origin" in response.headers.get("vary", "").lower(), path  # caches keep origins apart
        assert "x-request-id" in response.headers.get("access-control-expose-headers", "").lower(), path


@pytest.mark.parametrize("origin", LOOKALIKES)
def test_other_origins_are_never_allowed_to_read_a_response(client, shared_world, origin):
    # Starlette still adds its constant allow-credentials/expose-headers; without Allow-Origin they grant nothing.
    for method, path, options in calls(shared_world):
        response = client.request(
            method, path, **{**options, "headers": {**options.get("headers", {}), "Origin": origin}}
        )
        assert response.status_code < 500, (path, response.text)
        assert "access-control-allow-origin" not in response.headers, (origin, path)


def _preflight(cors: dict[str, Any], origin: str, function: str = "UploadFunction") -> dict[str, Any]:
    event = proxy_event(
        "OPTIONS",
        "/api/v1/analyses/{id}",
        f"/api/v1/analyses/{uuid.uuid4()}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        path_parameters={"id": "x"},
    )
    return cors["functions"][function].invoke(event)


@pytest.mark.parametrize("function", ["UploadFunction", "ReportFunction", "AuthFunction"])
def test_a_preflight_from_the_allowed_origin_is_granted(cors, function):
    answer = _preflight(cors, ALLOWED, function)
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    assert answer["statusCode"] == 200
    assert headers["access-control-allow-origin"] == ALLOWED
    assert "DELETE" in headers["access-control-allow-methods"]


@pytest.mark.parametrize("origin", LOOKALIKES)
def test_a_preflight_from_another_origin_is_refused_without_cors_headers(cors, origin):
    answer = _preflight(cors, origin)
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    assert answer["statusCode"] == 400
    assert "access-control-allow-origin" not in headers


def _declared_paths() -> dict[str, str]:
    """Each routed path of the template (relative to /api/v1, parameters filled in) with one of its methods."""
    paths: dict[str, str] = {}
    for route in stack_spec().routes:
        if route.method != "OPTIONS":
            concrete = re.sub(r"\{[^}]+\}", "1", route.path.removeprefix("/api/v1"))
            paths.setdefault(concrete, route.method)
    return paths


PREFLIGHT_HEADERS = "authorization,content-type,x-request-id,idempotency-key"


def test_every_declared_path_grants_the_allowed_origins_preflight_over_http(client):
    for path, method in _declared_paths().items():
        # Given a browser preflight (no token: browsers never send one) for a route of that path
        response = client.options(path, headers={
            "Origin": ALLOWED, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": PREFLIGHT_HEADERS})  # fmt: skip
        # Then it is granted for that origin only, with every header our clients send
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
        assert response.headers["access-control-allow-origin"] == ALLOWED, path
        assert method in response.headers["access-control-allow-methods"], path
        allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
        assert set(PREFLIGHT_HEADERS.split(",")) <= allowed, path
        assert response.headers["access-control-max-age"] == "600"


@pytest.mark.parametrize("origin", LOOKALIKES)
def test_a_preflight_from_another_origin_gets_no_grant_over_http(client, origin):
    response = client.options("/analyses", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_preflight_for_an_undeclared_path_is_the_gateways_404(client):
    response = client.options("/no-such-route", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_api_gateways_own_preflight_never_allows_credentials():
    # "*" is only safe because it never comes with credentials: browsers then send no cookies, and the
    # functions (above) decide which origins may read a response.
    apis = [r for r in load_template()["Resources"].values() if r.get("Type") == "AWS::Serverless::Api"]
    for api in apis:
        cors = api["Properties"].get("Cors") or {}
        assert "AllowCredentials" not in cors
        assert api["Properties"]["Auth"]["AddDefaultAuthorizerToCorsPreflight"] is False


# --- errors: a browser on the allowed origin can read every failure, a crash included ------------------------
def _crash(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("an unexpected failure inside the report function")


@pytest.fixture
def crashing_heatmap(monkeypatch) -> None:
    """The public heatmap route fails unexpectedly inside the running function (its logic raises)."""
    from sentrix_report.routes import maps

    monkeypatch.setattr(maps, "heatmap_data", _crash)


ERRORS = [
    pytest.param("/heatmap-data", 500, "internal_error", id="unhandled"),
    pytest.param("/heatmap-data?limit=0", 422, "validation_error", id="invalid"),
]


@pytest.mark.parametrize(("path", "status", "code"), ERRORS)
def test_an_error_for_the_allowed_origin_carries_cors_and_the_error_id(client, crashing_heatmap, path, status, code):
    # Given a browser on the allowed origin, when the function fails, even with an error nothing handled
    response = client.get(path, headers={"Origin": ALLOWED, "X-Request-ID": "browser-req-1"})
    # Then the browser may read the envelope and its id, and the answer is hardened like any other
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    uuid.UUID(error["id"])
    assert "unexpected failure" not in response.text
    assert response.headers.get("access-control-allow-origin") == ALLOWED
    assert response.headers.get("access-control-allow-credentials") == "true"
    assert "origin" in response.headers.get("vary", "").lower()
    assert "x-request-id" in response.headers.get("access-control-expose-headers", "").lower()
    assert response.headers["x-request-id"] == "browser-req-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("path", "status", "code"), ERRORS)
def test_an_error_for_another_origin_grants_it_nothing(client, crashing_heatmap, path, status, code):
    response = client.get(path, headers={"Origin": "https://evil.example"})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get("x-request-id")
