"""Role escalation: users on expert and admin routes, roles smuggled in bodies, other users' data via user_id."""

from __future__ import annotations

import pytest

from tests.security.support import db_snapshot, refused, user_role

pytestmark = pytest.mark.integration

VERDICT = {"validation_status": "validated_positive"}

# (method, path, body) of every route reserved to experts (and admins); the detection id is filled in.
EXPERT_ROUTES = [
    ("GET", "/detections/pending", None),
    ("POST", "/detections/batch-validate", {"validations": [{"detection_id": "{detection}", **VERDICT}]}),
    ("POST", "/detections/extend-validity", {"detection_id": "{detection}", "extension_days": 30, "reason": "x"}),
    ("POST", "/detections/{detection}/validate", VERDICT),
    ("POST", "/detections/{detection}/revalidate", {"weather_condition": "RAINY"}),
]
ADMIN_ROUTES = [
    ("GET", "/users", None),
    ("PATCH", "/users/{self}", {"role": "admin"}),
    ("PATCH", "/users/{other}", {"role": "admin"}),
    ("DELETE", "/users/{other}", None),
    ("PUT", "/users/{other}/territories", {"territories": []}),
]


# Admin routes of the upload function, refused with their own words (docs/territories.md).
TERRITORY_ADMIN_ROUTES = [
    ("POST", "/territories", {"type": "FeatureCollection", "features": []}),
    ("POST", "/territories/uploads", None),
]


def _fill(value, world, me):
    if isinstance(value, str):
        return (
            value.replace("{detection}", str(world.detection_ids[0]))
            .replace("{self}", str(me.id))
            .replace("{other}", str(world.alice.id))
        )
    if isinstance(value, dict):
        return {k: _fill(v, world, me) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world, me) for v in value]
    return value


@pytest.mark.parametrize(("method", "path", "body"), EXPERT_ROUTES, ids=[f"{m} {p}" for m, p, _ in EXPERT_ROUTES])
def test_users_are_refused_on_expert_routes(shared_api, shared_world, method, path, body):
    me = shared_world.bob
    before = db_snapshot()
    response = shared_api.request(
        method, _fill(path, shared_world, me), json=_fill(body, shared_world, me), headers=shared_world.headers("bob")
    )
    assert refused(response, 403, "forbidden")["message"] == "Not enough permissions"
    assert db_snapshot() == before


@pytest.mark.parametrize("who", ["bob", "expert"])
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES])
def test_users_and_experts_are_refused_on_admin_routes(shared_api, shared_world, who, method, path, body):
    me = getattr(shared_world, who)
    before = db_snapshot()
    response = shared_api.request(
        method, _fill(path, shared_world, me), json=_fill(body, shared_world, me), headers=shared_world.headers(who)
    )
    assert refused(response, 403, "forbidden")["message"] == "Not enough permissions"
    assert db_snapshot() == before
    assert user_role(me.id) == me.role.value


# Every body a user can send about themselves or their uploads, with a role/ownership field smuggled in.
SMUGGLED = [
    ("PUT", "/me", {"display_name": "Bob", "role": "admin"}),
    ("PUT", "/me", {"display_name": "Bob", "is_active": True, "is_verified": True}),
    ("PUT", "/me", {"email": "admin@example.org"}),
    ("PUT", "/users/me/settings", {"language": "en", "role": "admin"}),
    ("POST", "/analyses/uploads", {"filename": "a.jpg", "user_id": "{other}"}),
    ("POST", "/analyses/uploads", {"filename": "a.jpg", "role": "admin"}),
    ("POST", "/analyses/uploads", {"filename": "a.jpg", "status": "completed"}),
    ("POST", "/reports/generate", {"type": "summary", "format": "json", "role": "admin"}),
    ("POST", "/logout", {"everywhere": False, "user_id": "{other}"}),
    ("POST", "/change-password", {"current_password": "x" * 10, "new_password": "y" * 12, "role": "admin"}),
]


@pytest.mark.parametrize(("method", "path", "body"), SMUGGLED, ids=[f"{m} {p} {sorted(b)}" for m, p, b in SMUGGLED])
def test_role_or_owner_fields_in_bodies_are_refused_not_ignored(shared_api, shared_world, method, path, body):
    me = shared_world.bob
    before = db_snapshot()
    response = shared_api.request(method, path, json=_fill(body, shared_world, me), headers=shared_world.headers("bob"))
    refused(response, 422, "validation_error")
    assert db_snapshot() == before
    assert user_role(me.id) == "user"


# user_id filters: a user asking for someone else's data is refused (403), never silently given it.
USER_ID_FILTERS = [
    "/analyses",
    "/reports/statistics",
    "/reports/risk-distribution",
    "/reports/monthly-analyses",
    "/reports/recent-activity",
    "/reports/validation-stats",
    "/exports/detections.geojson",
    "/exports/detections.csv",
    "/map/hotspots",
]


@pytest.mark.parametrize("path", USER_ID_FILTERS)
def test_a_user_cannot_filter_by_another_user_id(shared_api, shared_world, path):
    response = shared_api.get(path, params={"user_id": str(shared_world.alice.id)}, headers=shared_world.headers("bob"))
    refused(response, 403, "forbidden")
    own = shared_api.get(path, params={"user_id": str(shared_world.bob.id)}, headers=shared_world.headers("bob"))
    assert own.status_code == 200, own.text
    assert str(shared_world.analysis_id) not in own.text


def test_generated_reports_refuse_another_users_filter(shared_api, shared_world):
    body = {"type": "summary", "format": "json", "filters": {"user_id": str(shared_world.alice.id)}}
    refused(shared_api.post("/reports/generate", json=body, headers=shared_world.headers("bob")), 403, "forbidden")


def test_experts_may_filter_by_user_and_see_the_data(shared_api, shared_world):
    # The control of the refusals above: the filter works for those allowed to use it.
    response = shared_api.get(
        "/analyses", params={"user_id": str(shared_world.alice.id)}, headers=shared_world.headers("expert")
    )
    assert response.status_code == 200 and response.json()["total"] == 2


def test_register_cannot_choose_a_role(shared_api, shared_world):
    before = db_snapshot()
    response = shared_api.post(
        "/register", json={"email": "mallory@example.org", "password": "a sturdy passphrase", "role": "admin"}
    )
    refused(response, 422, "validation_error")
    assert db_snapshot() == before


def test_a_batch_item_cannot_claim_another_owner(shared_api, shared_world):
    # Last in the module: the accepted item creates an analysis for Bob.
    world = shared_world
    response = shared_api.post(
        "/analyses/batch",
        json={"items": [{"filename": "a.jpg", "user_id": str(world.alice.id)}, {"filename": "b.jpg"}]},
        headers=world.headers("bob"),
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["items"]
    assert first["ok"] is False and first["error"]["code"] == "validation_error" and first["error"]["status"] == 422
    assert second["ok"] is True
    assert f"incoming/{world.bob.id}/" in second["analysis"]["upload"]["key"]


@pytest.mark.parametrize("who", ["bob", "expert"])
@pytest.mark.parametrize(
    ("method", "path", "body"), TERRITORY_ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in TERRITORY_ADMIN_ROUTES]
)
def test_users_and_experts_may_not_import_territories(shared_api, shared_world, who, method, path, body):
    before = db_snapshot()
    headers = {**shared_world.headers(who), "Accept-Language": "en"}
    response = shared_api.request(method, path, json=body, headers=headers)
    assert refused(response, 403, "forbidden")["message"] == "Only admins can import territories"
    assert db_snapshot() == before
