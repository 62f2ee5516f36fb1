"""The template, the functions' FastAPI apps and the local stack describe the same routes.

API Gateway only forwards what the template declares, and a function only answers what its app routes: a
route on one side only is either unreachable in the cloud or a 404 from the function. So both directions are
checked per function, then every declared route is sent to its app to show it reaches a handler.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sentrix.http.health import router as health_router
from sentrix_local.processes import free_port
from sentrix_local.template import stack_spec
from tests.builders import LambdaContext
from tests.conftest import reset_caches
from tests.infra.template_model import DELETE, Template, api_events, apply, as_list, props
from tests.infra.template_model import functions as template_functions

Route = tuple[str, str]  # (METHOD, path with every {parameter} written as {})
# Routes the shared package gives every app (liveness/readiness): declared once, for one function.
SHARED_ROUTES = {(method, path) for route in health_router.routes for method in route.methods for path in [route.path]}
ROUTING_MISS = "Not Found"  # the message of Starlette's own 404, in our envelope


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def gateway_matches(gateway: Route, app: Route) -> bool:
    """Would a request API Gateway forwards for `gateway` reach the app's `app` route?

    API Gateway takes path parameters only as whole segments, so the template writes the tile route as
    .../{y} where the app (and DESIGN.md) say .../{y}.mvt: a gateway {} segment carries any segment value,
    which the app matches when its own segment holds a parameter.
    """
    (gateway_method, gateway_path), (app_method, app_path) = gateway, app
    gateway_segments, app_segments = gateway_path.split("/"), app_path.split("/")
    return (
        gateway_method == app_method
        and len(gateway_segments) == len(app_segments)
        and all(g == a or (g == "{}" and "{}" in a) for g, a in zip(gateway_segments, app_segments, strict=True))
    )


def unmatched(routes: set[Route], others: set[Route], *, routes_are_gateway: bool) -> list[Route]:
    return sorted(
        route
        for route in routes
        if not any(
            gateway_matches(route, other) if routes_are_gateway else gateway_matches(other, route) for other in others
        )
    )


def template_routes(template: Template) -> dict[str, set[Route]]:
    routes: dict[str, set[Route]] = {}
    for function, _, p in api_events(template):
        if p["Method"].upper() == "OPTIONS":
            continue  # preflights: answered by every app's CORSMiddleware before routing
        routes.setdefault(function, set()).add((p["Method"].upper(), normalized(p["Path"])))
    return routes


def app_routes(app: FastAPI) -> set[Route]:
    """Every operation of the app's OpenAPI document (docs, redoc and the document itself are not in it)."""
    return {
        (method.upper(), normalized(path))
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method.upper() not in {"HEAD", "OPTIONS"}
    }


@pytest.fixture(scope="module")
def apps(template: Template) -> dict[str, FastAPI]:
    """The FastAPI app of every function with Api events, imported from its handler's module."""
    found = {}
    for function in template_routes(template):
        module = props(template_functions(template)[function])["Handler"].rsplit(".", 1)[0]
        found[function] = importlib.import_module(module).app
    return found


def test_every_api_function_has_a_fastapi_app(template: Template, apps: dict[str, FastAPI]) -> None:
    assert set(apps) == set(template_routes(template))
    assert all(isinstance(app, FastAPI) for app in apps.values())


def unrouted_template_routes(template: Template, apps: dict[str, FastAPI]) -> dict[str, list[Route]]:
    """Per function, the declared routes its app has no route for (API Gateway would forward them to a 404)."""
    found = {
        function: unmatched(
            declared, app_routes(apps[function]) if function in apps else set(), routes_are_gateway=True
        )
        for function, declared in template_routes(template).items()
    }
    return {function: routes for function, routes in found.items() if routes}


def undeclared_app_routes(template: Template, apps: dict[str, FastAPI]) -> dict[str, list[Route]]:
    """Per function, the app routes API Gateway never forwards to it (shared health routes: once is enough)."""
    declared = template_routes(template)
    everywhere = set().union(*declared.values())
    shared = {(method, normalized(path)) for method, path in SHARED_ROUTES}
    found = {
        function: [
            route
            for route in unmatched(app_routes(app), declared.get(function, set()), routes_are_gateway=False)
            if not (route in shared and not unmatched({route}, everywhere, routes_are_gateway=False))
        ]
        for function, app in apps.items()
    }
    return {function: routes for function, routes in found.items() if routes}


def test_every_template_route_is_routed_by_its_functions_app(template: Template, apps: dict[str, FastAPI]) -> None:
    # Given each function's declared routes and its app's routes / Then API Gateway forwards nothing to a 404
    assert unrouted_template_routes(template, apps) == {}


def test_every_app_route_is_declared_in_the_template(template: Template, apps: dict[str, FastAPI]) -> None:
    # Given each app's routes / Then every handler is reachable through API Gateway
    assert undeclared_app_routes(template, apps) == {}


def test_a_route_missing_from_the_template_is_reported(template: Template, apps: dict[str, FastAPI]) -> None:
    # Given a copy of the template without one of the report function's routes
    function, event, p = next((f, e, p) for f, e, p in api_events(template) if f == "ReportFunction")
    broken = apply(template, [(f"Resources.{function}.Properties.Events.{event}", DELETE)])

    # Then its app route is reported as undeclared, in the gateway's spelling
    reported = undeclared_app_routes(broken, apps)[function]
    assert [route for route in reported if gateway_matches((p["Method"].upper(), normalized(p["Path"])), route)]


def test_a_route_no_app_serves_is_reported(template: Template, apps: dict[str, FastAPI]) -> None:
    # Given a copy of the template routing a path the upload app does not have
    event = {
        "Type": "Api",
        "Properties": {"RestApiId": {"Ref": "SentrixApi"}, "Path": "/api/v1/nowhere/{id}", "Method": "GET"},
    }
    broken = apply(template, [("Resources.UploadFunction.Properties.Events.Nowhere", event)])

    # Then it is reported for that function
    assert unrouted_template_routes(broken, apps) == {"UploadFunction": [("GET", "/api/v1/nowhere/{}")]}


def test_gateway_segment_parameters_carry_suffixed_app_segments() -> None:
    # API Gateway's {y} takes "3.mvt", which the app's {y}.mvt matches; the reverse does not hold
    assert gateway_matches(("GET", "/t/{}/{}"), ("GET", "/t/{}/{}.mvt"))
    assert not gateway_matches(("GET", "/t/{}/{}.mvt"), ("GET", "/t/{}/{}"))
    assert not gateway_matches(("GET", "/t/{}"), ("POST", "/t/{}"))
    assert not gateway_matches(("GET", "/t/{}"), ("GET", "/t/x"))


@pytest.fixture
def offline_dependencies(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """S3, SQS and YOLO pointed at a closed local port: handlers fail fast, nothing leaves the machine."""
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    monkeypatch.setenv("YOLO_SERVICE_URL", closed)
    reset_caches()
    yield
    reset_caches()


def concrete(route: Route, app: FastAPI) -> str:
    """A path a client would send for a template route: the app's own pattern, every parameter "1"."""
    pattern = next((path for method, path in app_routes(app) if gateway_matches(route, (method, path))), route[1])
    return pattern.replace("{}", "1")


@pytest.mark.usefixtures("offline_dependencies")
def test_every_template_route_reaches_a_handler(template: Template, apps: dict[str, FastAPI]) -> None:
    # Given every declared route, sent to its function's app without credentials or body
    misses: list[str] = []
    for function, _, p in api_events(template):
        if p["Method"].upper() == "OPTIONS":
            continue  # a preflight is CORSMiddleware's: tests/security/test_cors.py sends one to every path
        client = TestClient(apps[function], raise_server_exceptions=False)
        route = (p["Method"].upper(), normalized(p["Path"]))
        response = client.request(route[0], concrete(route, apps[function]))
        body: dict[str, Any] = response.json() if "json" in response.headers.get("content-type", "") else {}
        message = (body.get("error") or {}).get("message")

        # Then the app's router found it: whatever the handler says (401, 422, 503...), not a routing miss
        if response.status_code == 405 or (response.status_code == 404 and message == ROUTING_MISS):
            misses.append(f"{function}: {p['Method']} {p['Path']} -> {response.status_code}")
    assert misses == []


def test_local_stack_serves_exactly_the_template_routes(template: Template) -> None:
    # Given the routes the local gateway builds from the template, with their authorizer setting
    local = {(r.function, r.method, r.path, r.authorized) for r in stack_spec().routes}

    # Then they are the template's Api events, protected unless marked Authorizer: NONE
    declared = {
        (fn, p["Method"].upper(), p["Path"], (p.get("Auth") or {}).get("Authorizer") != "NONE")
        for fn, _, p in api_events(template)
    }
    assert local == declared


def test_one_cached_authorizer_answer_covers_every_protected_route(template: Template) -> None:
    # Given a real token and the authorizer's answer for one protected route (API Gateway caches that answer
    # per Authorization header for ReauthorizeEvery seconds and applies it to whatever route comes next)
    from sentrix.tokens import issue_access_token
    from sentrix_auth.authorizer import handler as authorizer
    from tests.support.identity import ensure_signing_key

    ensure_signing_key()
    token = issue_access_token(user_id=uuid.uuid4(), role="user", email=None).token
    api = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1"
    protected = [p for _, _, p in api_events(template) if (p.get("Auth") or {}).get("Authorizer") != "NONE"]
    first = protected[0]
    event = {
        "type": "REQUEST",
        "methodArn": f"{api}/{first['Method'].upper()}{concrete_path(first['Path'])}",
        "headers": {"Authorization": f"Bearer {token}"},
    }
    statement = authorizer(event, LambdaContext("AuthorizerFunction", 10))["policyDocument"]["Statement"][0]

    # Then that Allow matches the method ARN of every protected route of the template
    uncovered = [
        f"{p['Method']} {p['Path']}"
        for p in protected
        if not any(
            fnmatch.fnmatchcase(f"{api}/{p['Method'].upper()}{concrete_path(p['Path'])}", resource)
            for resource in as_list(statement["Resource"])
        )
    ]
    assert statement["Effect"] == "Allow"
    assert uncovered == []


def concrete_path(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "1", path)
