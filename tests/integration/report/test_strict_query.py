"""Every route of the report function answers 422 to a query parameter it does not declare: a typo in a
filter (`?validation_status=`, `?active_only_typo=`) must never answer 200, unfiltered."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from tests.integration.report.conftest import call

pytestmark = pytest.mark.integration

# (path, a declared parameter and a value the route accepts)
ROUTES = [
    ("/api/v1/heatmap-data", {"include_expired": "true"}),
    ("/api/v1/map-stats", {"bbox": "-65.3,-26.9,-65.1,-26.7"}),
    ("/api/v1/map/tiles/12/1354/2300.mvt", {"include_expired": "true"}),
    ("/api/v1/map/hotspots", {"min_points": "2"}),
    ("/api/v1/reports/statistics", {}),
    ("/api/v1/exports/detections.geojson", {"include_expired": "true", "limit": "5"}),
    ("/api/v1/exports/detections.csv", {"has_gps": "true"}),
]
IDS = [path for path, _ in ROUTES]


@pytest.mark.parametrize(("path", "declared"), ROUTES, ids=IDS)
@pytest.mark.parametrize("unknown", ["validation_status", "active_only_typo"])
def test_an_unknown_parameter_is_a_422_that_names_it(expert, path, declared, unknown):
    response = call("GET", path, caller=expert, query={**declared, unknown: "1"})
    error = response.json()["error"]
    assert (response.status, error["code"]) == (422, "validation_error")
    assert error["details"]["unknown"] == [unknown] and unknown in error["message"]
    assert set(declared) <= set(error["details"]["allowed"])


@pytest.mark.parametrize(("path", "declared"), ROUTES, ids=IDS)
def test_declared_parameters_still_answer_200(expert, path, declared):
    assert call("GET", path, caller=expert, query=declared).status == 200


def test_anonymous_callers_of_public_maps_are_held_to_the_same_rule(db):
    assert call("GET", "/api/v1/heatmap-data", query={"validation_status": "validated_positive"}).status == 422
    assert call("GET", "/api/v1/heatmap-data", query={"include_expired": "true"}).status == 200


def test_a_repeated_single_value_parameter_is_a_422(expert):
    from sentrix_report.api import handler
    from tests.builders import LambdaContext, api_event

    event = api_event("GET", "/api/v1/map/hotspots", authorizer=expert.authorizer)
    event["multiValueQueryStringParameters"] = {"limit": ["1", "50"]}
    event["queryStringParameters"] = {"limit": "50"}
    raw = handler(event, LambdaContext("ReportFunction", 29))
    assert raw["statusCode"] == 422 and '"repeated":["limit"]' in raw["body"].replace(" ", "")


def _routes(routes):
    """The app's API routes, through the routers it includes (FastAPI keeps them as included routers)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def _concrete(route: APIRoute) -> str:
    """The route's path with every path parameter filled by a value of its type."""
    kinds = {p.name: p.field_info.annotation for p in route.dependant.path_params}

    def value(match: re.Match) -> str:
        name = match.group(1).split(":")[0]
        kind = kinds.get(name)
        return str(uuid.uuid4()) if kind is uuid.UUID else "1" if kind is int else "x"

    return re.sub(r"\{([^}]+)\}", value, route.path)


def test_every_get_route_of_the_report_app_refuses_an_unknown_parameter(expert):
    from sentrix_report.api import app

    gets = [r for r in _routes(app.routes) if "GET" in r.methods]
    assert len(gets) >= 15  # the walk reaches into the included routers
    for route in gets:
        response = call("GET", _concrete(route), caller=expert, query={"no_such_parameter": "1"})
        assert response.status == 422, (route.path, response.status, response.body[:200])
        assert response.json()["error"]["details"]["unknown"] == ["no_such_parameter"], route.path


def test_the_first_waves_active_only_still_means_what_it_said(expert):
    from sentrix.db.engine import session_scope
    from tests.support.seed import D, make_analysis, utc_now

    with session_scope() as s:
        make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2,
                      detections=[D(0), D(3, expires_at=utc_now() - timedelta(hours=1))])  # fmt: skip

    def total(**query):
        response = call("GET", "/api/v1/map-stats", caller=expert, query=query)
        return response.json()["total_detections"] if response.status == 200 else response.status

    assert total() == total(active_only="true") == total(include_expired="false") == 1
    assert total(active_only="false") == total(include_expired="true") == 2
    assert total(active_only="false", include_expired="false") == 422  # contradictory
