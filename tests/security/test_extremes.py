"""Calendar and integer extremes are 422 in the envelope, never a 500 — and a 500 never shows internal detail.

`since=0001-01-01T00:00:00+14:00` (year 0 in UTC), `date_to=9999-12-31` (its exclusive end is 10000-01-01) and
`offset=10000000000000000000` (past PostgreSQL's bigint) were 500s, and the `development` environment every
non-prod stage is deployed with answered them with a traceback. The routes attacked are read from the OpenAPI
document (docs/openapi.json, kept current by tests/contract): every query or path parameter that is a date, an
instant or an integer, on every route, so a new one is attacked without being listed here.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from tests.security.support import ENVELOPE_KEYS, db_snapshot, refused

pytestmark = pytest.mark.integration

DOCUMENT = json.loads((Path(__file__).parents[2] / "docs/openapi.json").read_text(encoding="utf-8"))
DATE_PARAMETERS = {"date_from", "date_to", "since", "until", "from", "to"}  # from/to: GET /visits, /indices
HOSTILE_DATES = [
    "0001-01-01T00:00:00+14:00",  # year 0 once converted to UTC
    "9999-12-31T23:59:59-12:00",  # year 10000 in UTC
    "9999-12-31",  # a whole day whose exclusive end is 10000-01-01
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01",
    "10000-01-01",
    "0000-12-31",
    "-0001-01-01",
    "253402300800",  # a Unix timestamp in year 10000
    "1e19",
]
HOSTILE_INTEGERS = [
    "10000000000000000000",  # 1e19: past bigint
    "9223372036854775808",  # bigint's max + 1
    "-9223372036854775809",
    "99999999999999999999999999999999",
    "1e19",
    "-1",
]
PUBLIC_TILE = {"z": "12", "x": "1354", "y": "2300"}


def _is_integer(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(s.get("type") == "integer" for s in schema.get("anyOf", []))


def attacked_parameters() -> list[tuple[str, str, str, bool]]:
    """(path, where, name, public) of every date/instant or integer parameter of every GET route."""
    found = []
    for path, operations in DOCUMENT["paths"].items():
        operation = operations.get("get")
        if not operation:
            continue
        public = not operation.get("security")
        for parameter in operation.get("parameters", []):
            if parameter["in"] not in ("query", "path"):
                continue
            if parameter["name"] in DATE_PARAMETERS or _is_integer(parameter.get("schema", {})):
                found.append((path.removeprefix("/api/v1"), parameter["in"], parameter["name"], public))
    return found


ATTACKED = attacked_parameters()


def test_the_attacked_parameters_include_the_reported_ones():
    # The routes of the external review's findings are among those read from the document
    names = {(path, name) for path, _, name, _ in ATTACKED}
    assert {
        ("/users", "offset"),
        ("/map-stats", "since"),
        ("/heatmap-data", "since"),
        ("/analyses", "date_to"),
    } <= names
    assert {("/analyses", "until"), ("/exports/detections.csv", "limit"), ("/map/tiles/{z}/{x}/{y}.mvt", "z")} <= names


def _request(path: str, where: str, name: str, value: str) -> tuple[str, dict[str, str]]:
    fill = {**PUBLIC_TILE, **({name: value} if where == "path" else {})}
    for key, replacement in fill.items():
        path = path.replace("{" + key + "}", replacement)
    return path, ({name: value} if where == "query" else {})


def _assert_refused(response, label: str) -> None:
    assert response.status_code in (400, 422), (label, response.status_code, response.text[:300])
    error = refused(response, response.status_code, response.json()["error"]["code"])
    assert (error["status"], error["code"]) in {(422, "validation_error"), (400, "bad_request")}, label
    assert "traceback" not in response.text and "Traceback" not in response.text, label


@pytest.mark.parametrize(("path", "where", "name", "public"), ATTACKED, ids=[f"{p} {n}" for p, _, n, _ in ATTACKED])
def test_extreme_dates_and_integers_are_refused_in_the_envelope(shared_api, shared_world, path, where, name, public):
    # Given every caller the route serves: an admin (who may read everything) and, on public routes, a stranger
    callers = [shared_world.headers("admin"), *([{}] if public else [])]
    if path.startswith("/detections/pending"):
        callers = [shared_world.headers("expert")]
    values = HOSTILE_DATES if name in DATE_PARAMETERS else HOSTILE_INTEGERS
    before = db_snapshot()
    for headers in callers:
        for value in values:
            # When the parameter carries an extreme
            url, params = _request(path, where, name, value)
            response = shared_api.get(url, params=params, headers=headers)
            # Then the answer is a refusal in the envelope, never a 500, never a traceback
            _assert_refused(response, f"{path} {name}={value!r} as {'admin' if headers else 'anonymous'}")
    assert db_snapshot() == before


@pytest.mark.parametrize("value", HOSTILE_DATES)
@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("where", ["filters", "top level"])
def test_extreme_dates_in_a_report_request_body_are_refused(shared_api, shared_world, where, field, value):
    before = db_snapshot()
    body = {
        "type": "summary",
        "format": "json",
        **({"filters": {field: value}} if where == "filters" else {field: value}),
    }
    response = shared_api.post("/reports/generate", json=body, headers=shared_world.headers("bob"))
    _assert_refused(response, f"{field}={value!r}")
    assert db_snapshot() == before


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-12:00"])
def test_a_forged_export_cursor_with_an_extreme_instant_is_refused(shared_api, shared_world, moment):
    raw = json.dumps([moment, str(shared_world.detection_ids[0])]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for path in ("/exports/detections.geojson", "/exports/detections.csv"):
        response = shared_api.get(path, params={"cursor": cursor}, headers=shared_world.headers("bob"))
        error = refused(response, 422, "validation_error")
        assert error["details"]["cursor"] == cursor


def test_dates_just_inside_the_range_are_answered(shared_api, shared_world):
    # The bounds are documented (docs/report.md): the first and last whole days inside them still work
    params = {"date_from": "0001-01-02", "date_to": "9999-12-29"}
    assert shared_api.get("/map-stats", params=params).status_code == 200
    assert shared_api.get("/analyses", params=params, headers=shared_world.headers("bob")).status_code == 200


# --------------------------------------------------------------------------------------------------
# A forced internal error in the environment deployed stages run with: no traceback, no SQL
# --------------------------------------------------------------------------------------------------
def _fresh_report_handler() -> Any:
    """The report function's real handler module executed anew, so its app reads the current settings."""
    spec = importlib.util.find_spec("sentrix_report.api")
    module = importlib.util.module_from_spec(spec)  # not put in sys.modules: other suites keep theirs
    spec.loader.exec_module(module)
    return module.handler


@pytest.mark.parametrize("switch", [None, "0"])
def test_development_stage_without_the_local_switch_shows_no_sql_or_traceback(monkeypatch, switch):
    from sqlalchemy.exc import ProgrammingError

    from sentrix.config import get_settings
    from sentrix_report.routes import maps
    from tests.builders import LambdaContext, api_event

    # Given the report function as a non-prod stage deploys it (ENVIRONMENT=development, no SENTRIX_DEBUG_ERRORS)
    monkeypatch.setenv("ENVIRONMENT", "development")
    if switch is None:
        monkeypatch.delenv("SENTRIX_DEBUG_ERRORS", raising=False)
    else:
        monkeypatch.setenv("SENTRIX_DEBUG_ERRORS", switch)
    get_settings.cache_clear()
    try:
        handler = _fresh_report_handler()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    def failing_query(*args: Any, **kwargs: Any) -> None:
        raise ProgrammingError("SELECT password_hash FROM users WHERE id = %(id)s", {"id": 1}, Exception("boom"))

    monkeypatch.setattr(maps, "map_statistics", failing_query)
    # When a query fails in a way no typed error covers
    response = handler(api_event("GET", "/api/v1/map-stats"), LambdaContext("report", 29))
    # Then the answer is the envelope's 500 with its id only
    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["error"]["code"] == "internal_error"
    assert set(body["error"]) <= {*ENVELOPE_KEYS, "title"}  # no `traceback`, no `details`
    for leak in ("traceback", "Traceback", "SELECT", "password_hash", "ProgrammingError", "boom"):
        assert leak not in response["body"], leak
