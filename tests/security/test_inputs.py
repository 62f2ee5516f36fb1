"""Hostile input: SQL meta characters in every filter, oversized and deeply nested JSON.

Nothing here may answer 5xx, leak another user's rows, or change the database.
"""

from __future__ import annotations

import json
import uuid

import pytest

from sentrix_local.template import stack_spec
from tests.security.support import db_snapshot, gateway_refused, refused

pytestmark = pytest.mark.integration

# --------------------------------------------------------------------------------------------------
# SQL meta characters in every filter: a 4xx in the envelope or a correct (empty for Bob) answer
# --------------------------------------------------------------------------------------------------
SQL_META = [
    "' OR '1'='1",
    "1; DROP TABLE analyses;--",
    "' UNION SELECT id, email FROM users--",
    "%(user_id)s :scope_owner %%",  # pg8000's and SQLAlchemy's placeholder syntaxes
    "1e999",
    "\x00",
]

# (path, parameters, who): every query filter of every list/report/export/map route, asked by Bob (no data of
# his own: any row in an answer would be Alice's) — or by the expert for the expert-only queue.
FILTERS = [
    ("/analyses", ["status", "risk_level", "date_from", "date_to", "since", "until", "has_gps", "validated_only",
                   "bbox", "near", "radius_m", "user_id", "limit", "offset"], "bob"),
    ("/detections/pending", ["status", "risk_level", "bbox", "limit", "offset"], "expert"),
    ("/detections/expired", ["breeding_site_type", "limit", "offset"], "bob"),
    ("/detections/expiring-soon", ["days_threshold", "limit", "offset"], "bob"),
    ("/heatmap-data", ["risk_level", "since", "bbox", "include_expired", "verdict", "limit"], "bob"),
    ("/heatmap-data", ["risk_level", "since", "bbox", "include_expired", "verdict", "limit"], None),
    ("/map-stats", ["since", "date_from", "date_to", "risk_level", "bbox", "verdict", "include_expired"], "bob"),
    ("/map/hotspots", ["bbox", "eps_m", "min_points", "since", "include_expired", "verdict", "user_id", "limit",
                       "gistar", "cell_m"], "bob"),
    ("/exports/detections.geojson", ["date_from", "date_to", "risk_level", "has_gps", "bbox", "user_id",
                                     "include_expired", "verdict", "cursor", "limit"], "bob"),
    ("/exports/detections.csv", ["date_from", "date_to", "risk_level", "has_gps", "bbox", "user_id",
                                 "include_expired", "verdict", "cursor", "limit"], "bob"),
    ("/reports/statistics", ["user_id", "since", "bbox", "verdict", "include_expired"], "bob"),
    ("/reports/risk-distribution", ["user_id"], "bob"),
    ("/reports/monthly-analyses", ["months", "user_id"], "bob"),
    ("/reports/recent-activity", ["limit", "user_id"], "bob"),
    ("/reports/validation-stats", ["user_id"], "bob"),
    # Experts only (users are 403): the dates are refused; `territory` is a bound value, tested in
    # tests/integration/report/test_remediation.py (an expert's answer to it is no error but an empty list)
    ("/reports/remediation", ["date_from", "date_to"], "expert"),
    # Its weekly figures likewise (`territory` is a bound value: 404 for any payload, test_bulletin.py)
    ("/reports/statistics/weekly", ["weeks", "until"], "expert"),
    # Alerts (users are 403): the expert's filters are refused or bound (an unknown territory: no alert)
    ("/alerts", ["level", "status", "since", "limit", "offset"], "expert"),
    ("/alerts/levels", ["level", "limit", "offset"], "bob"),
    ("/map/tiles/12/1354/2300.mvt", ["since", "risk_level", "include_expired", "verdict"], "bob"),
    ("/analyses/{analysis}/export", ["format", "lang", "include_detections", "include_images"], "alice"),
    ("/analyses/{analysis}/report", ["lang"], "alice"),
    ("/analyses/{analysis}/detections", ["limit", "offset"], "alice"),
    ("/users/me/activities", ["limit"], "bob"),
    ("/users", ["limit", "offset", "role", "is_active", "q"], "admin"),
]  # fmt: skip
FILTER_IDS = [f"{p} as {who or 'anonymous'}" for p, _, who in FILTERS]
# For Alice, the expert and the admin a 2xx is harmless only here: the admin's free-text user search takes the
# payload as text to look for, and no user's email or name holds it (docs/auth.md: a page and its real total).
HARMLESS_FOR_PRIVILEGED = {
    ("/users", "q"): (200, {"users": [], "total": 0, "limit": 20, "offset": 0, "has_next": False}),
}


@pytest.mark.parametrize(("path", "params", "who"), FILTERS, ids=FILTER_IDS)
def test_sql_meta_characters_in_filters_are_refused_or_harmless(shared_api, shared_world, path, params, who):
    headers = shared_world.headers(who) if who else {}
    path = path.replace("{analysis}", str(shared_world.analysis_id))
    alice_rows = [str(shared_world.analysis_id), *(str(d) for d in shared_world.detection_ids)]
    before = db_snapshot()
    for param in params:
        for payload in SQL_META:
            response = shared_api.get(path, params={param: payload}, headers=headers)
            label = f"{param}={payload!r}"
            assert response.status_code < 500, (label, response.text[:300])
            if response.status_code >= 400:
                error = refused(response, response.status_code, response.json()["error"]["code"])
                assert (error["status"], error["code"]) in {(422, "validation_error"), (400, "bad_request")}, label
                assert "traceback" not in response.text, label
            elif who in ("bob", None):
                assert not any(row in response.text for row in alice_rows), label
            else:
                # The callers who may see rows: only the answers listed are harmless, each exactly.
                assert (path, param) in HARMLESS_FOR_PRIVILEGED, (label, response.status_code, response.text[:300])
                assert (response.status_code, response.json()) == HARMLESS_FOR_PRIVILEGED[(path, param)], label
    assert db_snapshot() == before


def test_sql_meta_characters_in_path_ids_are_not_found(shared_api, shared_world):
    for payload in SQL_META[:5]:
        for template in ("/analyses/{}", "/analyses/{}/detections", "/detections/{}/validity", "/analyses/{}/report"):
            response = shared_api.get(template.format(payload.replace("/", "%2F")), headers=shared_world.headers("bob"))
            if response.json()["error"]["type"] == "gateway":
                gateway_refused(response, 404, "not_found")  # a payload with '/' no longer matches the route
            else:
                refused(response, 404, "not_found")


def test_sql_meta_characters_in_json_filters_are_refused(shared_api, shared_world):
    for payload in SQL_META:
        body = {"type": "summary", "format": "json", "filters": {"risk_level": payload, "bbox": payload}}
        response = shared_api.post("/reports/generate", json=body, headers=shared_world.headers("bob"))
        refused(response, 422, "validation_error")


# --------------------------------------------------------------------------------------------------
# Oversized and deeply nested JSON
# --------------------------------------------------------------------------------------------------
# Every route with a JSON body; multipart routes are listed apart, and a new body-taking route must be added.
JSON_ROUTES = {
    ("POST", "/api/v1/register"): None,
    ("POST", "/api/v1/login"): None,
    ("POST", "/api/v1/refresh"): None,
    ("POST", "/api/v1/logout"): "bob",
    ("PUT", "/api/v1/me"): "bob",
    ("POST", "/api/v1/change-password"): "bob",
    ("PUT", "/api/v1/users/me/settings"): "bob",
    ("PATCH", "/api/v1/users/{id}"): "admin",
    ("PUT", "/api/v1/users/{id}/territories"): "admin",
    ("POST", "/api/v1/analyses/uploads"): "bob",
    ("POST", "/api/v1/analyses/batch"): "bob",
    ("POST", "/api/v1/detections/{id}/validate"): "expert",
    ("POST", "/api/v1/detections/batch-validate"): "expert",
    ("POST", "/api/v1/detections/extend-validity"): "expert",
    ("POST", "/api/v1/detections/{id}/revalidate"): "expert",
    ("POST", "/api/v1/reports/generate"): "bob",
    ("POST", "/api/v1/sites/{id}/actions"): "expert",
    ("POST", "/api/v1/territories"): "admin",
    ("POST", "/api/v1/visits"): "expert",
    ("POST", "/api/v1/subscriptions"): "admin",
}
MULTIPART_OR_BODYLESS = {
    ("POST", "/api/v1/analyses"),
    ("POST", "/api/v1/analyses/public"),
    ("POST", "/api/v1/analyses/{id}/retry"),
    ("POST", "/api/v1/territories/uploads"),
}


def test_every_route_with_a_body_is_attacked_below():
    with_body = {(r.method, r.path) for r in stack_spec().routes if r.method in ("POST", "PUT", "PATCH")}
    assert with_body == set(JSON_ROUTES) | MULTIPART_OR_BODYLESS


def _path(template: str, world) -> str:
    target = world.bob.id if "/users/" in template else world.detection_ids[0]
    if "/sites/" in template:
        target = world.site_ids[0]
    return template.removeprefix("/api/v1").replace("{id}", str(target))


DEPTH = 50_000


@pytest.mark.parametrize(("method", "path"), list(JSON_ROUTES), ids=[f"{m} {p}" for m, p in JSON_ROUTES])
def test_deeply_nested_json_is_a_4xx(shared_api, shared_world, method, path):
    who = JSON_ROUTES[(method, path)]
    headers = {"Content-Type": "application/json", **(shared_world.headers(who) if who else {})}
    before = db_snapshot()
    for body in ("[" * DEPTH + "]" * DEPTH, '{"a":' * DEPTH + "1" + "}" * DEPTH):
        response = shared_api.request(method, _path(path, shared_world), content=body, headers=headers)
        error = refused(response, response.status_code, response.json().get("error", {}).get("code", "?"))
        assert (error["status"], error["code"]) in {(400, "bad_request"), (422, "validation_error")}, error
        assert len(response.content) < 20_000  # the body is not echoed back
    assert db_snapshot() == before


@pytest.mark.parametrize(("method", "path"), list(JSON_ROUTES), ids=[f"{m} {p}" for m, p in JSON_ROUTES])
def test_oversized_json_is_a_4xx_without_echo(shared_api, shared_world, method, path):
    who = JSON_ROUTES[(method, path)]
    headers = {"Content-Type": "application/json", **(shared_world.headers(who) if who else {})}
    # 4 MB of one string in a field every schema refuses (unknown, or far over any length limit).
    body = json.dumps({"filename": "x" * 4_000_000, "junk": "y" * 100})
    before = db_snapshot()
    response = shared_api.request(method, _path(path, shared_world), content=body, headers=headers)
    refused(response, 422, "validation_error")
    assert len(response.content) < 20_000
    assert db_snapshot() == before


def test_bodies_over_api_gateways_limit_never_reach_a_function(shared_api, shared_world):
    body = b'{"filename": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = shared_api.post("/analyses/uploads", content=body, headers={
        "Content-Type": "application/json", **shared_world.headers("bob")})  # fmt: skip
    gateway_refused(response, 413, "payload_too_large")


def test_many_items_in_one_body_are_refused_by_count(shared_api, shared_world):
    items = {"items": [{"filename": "a.png"}] * 10_000}
    refused(
        shared_api.post("/analyses/batch", json=items, headers=shared_world.headers("bob")), 422, "validation_error"
    )
    ids = [str(uuid.uuid4()) for _ in range(10_000)]
    body = {"detection_ids": ids, "validation_status": "validated_positive"}
    response = shared_api.post("/detections/batch-validate", json=body, headers=shared_world.headers("expert"))
    refused(response, 422, "validation_error")


# --------------------------------------------------------------------------------------------------
# NUL in free text: PostgreSQL cannot store it; these were 500s, now one 422 (sentrix.db.engine.raise_typed).
# File names drop control characters instead (sentrix_upload.logic.intake.stored_filename; see test_filenames.py).
# --------------------------------------------------------------------------------------------------
NUL_BODIES = [
    ("PUT", "/me", {"display_name": "a\x00b"}, "bob"),
    ("POST", "/detections/{d0}/validate", {"validation_status": "validated_positive", "validation_notes": "a\x00b"},
     "expert"),
    ("POST", "/detections/extend-validity", {"detection_id": "{d0}", "extension_days": 3, "reason": "a\x00b"},
     "expert"),
    ("POST", "/detections/{d1}/revalidate", {"validation_notes": "a\x00b"}, "expert"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "who"), NUL_BODIES, ids=[f"{m} {p}" for m, p, _, _ in NUL_BODIES])
def test_nul_in_free_text_is_a_422_and_changes_nothing(shared_api, shared_world, method, path, body, who):
    ids = {"{d0}": str(shared_world.detection_ids[0]), "{d1}": str(shared_world.detection_ids[1])}
    for placeholder, value in ids.items():
        path = path.replace(placeholder, value)
        body = json.loads(json.dumps(body).replace(placeholder, value))
    before = db_snapshot()

    response = shared_api.request(method, path, json=body, headers=shared_world.headers(who))

    error = refused(response, 422, "validation_error")
    assert error["message"] == "Text values may not contain NUL (\\u0000) characters"
    assert db_snapshot() == before


def test_nul_in_a_search_query_is_a_422(shared_api, shared_world):
    response = shared_api.get("/users", params={"q": "a\x00b"}, headers=shared_world.headers("admin"))
    refused(response, 422, "validation_error")
