"""docs/openapi.json is the merged document of the functions' apps, up to date, with exactly the template's routes."""

from __future__ import annotations

import re

import pytest

from sentrix_local.openapi import BEARER, DOCUMENT_PATH, build_document, gateway_path_serves, render
from sentrix_local.template import stack_spec

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def document() -> dict:
    return build_document()


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_committed_document_is_up_to_date(document: dict) -> None:
    # Given the document generated now from the template and the apps / Then docs/openapi.json is exactly it
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render(document), "stale: run `make openapi`"


def test_every_template_route_is_in_the_document_and_nothing_else(document: dict) -> None:
    routes = [r for r in stack_spec().routes if r.method != "OPTIONS"]  # preflights: CORS, not operations
    documented = operations(document)

    missing = [
        f"{r.method} {r.path}"
        for r in routes
        if not any(m == r.method and gateway_path_serves(r.path, p) for m, p in documented)
    ]
    extra = [
        f"{m} {p}" for m, p in documented if not any(m == r.method and gateway_path_serves(r.path, p) for r in routes)
    ]

    assert missing == [] and extra == []
    assert len(documented) == len(routes)


def test_authorized_routes_carry_the_bearer_scheme_and_public_ones_do_not(document: dict) -> None:
    documented = operations(document)
    for route in (r for r in stack_spec().routes if r.method != "OPTIONS"):
        operation = next(
            op for (m, p), op in documented.items() if m == route.method and gateway_path_serves(route.path, p)
        )
        if route.authorized:
            assert operation["security"] == [{BEARER: []}], route
            assert {"401", "403"} <= set(operation["responses"]), route
        else:
            # A public route may still answer 401 itself (wrong password, bad refresh token): never the gateway's
            assert "security" not in operation, route
            assert "AuthorizationRefusal" not in str(operation["responses"]), route
    assert document["components"]["securitySchemes"][BEARER] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token from POST /api/v1/login, /register or /refresh",
    }


def test_every_error_response_is_the_envelope(document: dict) -> None:
    # Given every 4xx/5xx response that declares a body / Then it is the envelope (or, for 401/403, the gateway's)
    wrong = []
    for (method, path), operation in operations(document).items():
        for status, response in operation["responses"].items():
            if not re.fullmatch(r"[45]\d\d", status) or "content" not in response:
                continue
            ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            gateway_may_refuse = "security" in operation and status in ("401", "403")
            expected = "AuthorizationRefusal" if gateway_may_refuse else "ErrorEnvelope"
            if ref != expected:
                wrong.append(f"{method} {path} {status}: {ref}")
    assert wrong == []
    assert document["components"]["schemas"]["ErrorEnvelope"]["required"] == ["error"]
    assert set(document["components"]["schemas"]["ErrorDetail"]["required"]) == {
        "id",
        "code",
        "message",
        "type",
        "timestamp",
    }


def test_the_document_is_openapi_3_1_with_the_tile_route_as_clients_call_it(document: dict) -> None:
    assert document["openapi"].startswith("3.1")
    assert ("GET", "/api/v1/map/tiles/{z}/{x}/{y}.mvt") in operations(document)
    assert "HTTPValidationError" not in document["components"]["schemas"]
