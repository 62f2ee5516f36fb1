"""CORS: only the configured browser origins are ever echoed in Access-Control-Allow-Origin.

API Gateway answers preflights itself with "*" and no credentials (infra/template.yaml explains why); the functions
decide the real answer. So the functions here are loaded with `CORS_ORIGINS` set, as the stack deploys them, and
called through the gateway from an allowed origin, a disallowed one and look-alikes. Preflights are sent to the
function as the proxy event API Gateway would pass on (the local gateway has no OPTIONS mock routes).
"""

from __future__ import annotations

import importlib.util
import os
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


def test_api_gateways_own_preflight_never_allows_credentials():
    # "*" is only safe because it never comes with credentials: browsers then send no cookies, and the
    # functions (above) decide which origins may read a response.
    apis = [r for r in load_template()["Resources"].values() if r.get("Type") == "AWS::Serverless::Api"]
    for api in apis:
        cors = api["Properties"].get("Cors") or {}
        assert "AllowCredentials" not in cors
        assert api["Properties"]["Auth"]["AddDefaultAuthorizerToCorsPreflight"] is False
