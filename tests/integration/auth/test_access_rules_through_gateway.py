"""Roles and account state are enforced per request, even while the authorizer's answer is cached."""

from __future__ import annotations

import pytest

from tests.support.identity import bearer, create_user

pytestmark = pytest.mark.integration


def test_a_user_cannot_edit_their_own_role_email_or_active_flag(api):
    user = create_user()
    for field, value in (("role", "admin"), ("email", "new@example.org"), ("is_active", True)):
        response = api.put("/me", json={"display_name": "X", field: value}, headers=bearer(user))
        assert response.status_code == 422, field
        assert response.json()["error"]["type"] == "validation_error"
    me = api.get("/me", headers=bearer(user)).json()
    assert me["role"] == "user" and me["display_name"] is None  # nothing was applied


def test_a_user_edits_name_and_organization(api):
    user = create_user()
    response = api.put("/me", json={"display_name": "  Rosa  ", "organization": "Salud Pública"}, headers=bearer(user))
    assert response.status_code == 200
    assert response.json()["display_name"] == "Rosa" and response.json()["organization"] == "Salud Pública"


@pytest.mark.parametrize("role", ["user", "expert"])
def test_admin_routes_refuse_users_and_experts(api, role):
    caller, other = create_user(role=role), create_user()
    headers = bearer(caller)
    assert api.get("/users", headers=headers).status_code == 403
    assert api.patch(f"/users/{other.id}", json={"role": "admin"}, headers=headers).status_code == 403
    assert api.delete(f"/users/{other.id}", headers=headers).status_code == 403
    assert api.get("/me", headers=bearer(other)).json()["role"] == "user"


def test_deactivation_takes_effect_at_the_next_request(api):
    admin, user = create_user(role="admin"), create_user()
    headers = bearer(user)
    assert api.get("/me", headers=headers).status_code == 200  # authorizer answer now cached for 300 s
    assert api.patch(f"/users/{user.id}", json={"is_active": False}, headers=bearer(admin)).status_code == 200
    refused = api.get("/me", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "User account is deactivated"


def test_a_demotion_takes_effect_at_the_next_request(api):
    boss, deputy = create_user(role="admin"), create_user(role="admin")
    headers = bearer(deputy)  # its token still says "admin"
    assert api.get("/users", headers=headers).status_code == 200
    assert api.patch(f"/users/{deputy.id}", json={"role": "expert"}, headers=bearer(boss)).status_code == 200
    assert api.get("/users", headers=headers).status_code == 403


def test_an_admin_cannot_demote_deactivate_or_delete_themselves(api):
    admin = create_user(role="admin")
    headers = bearer(admin)
    assert api.patch(f"/users/{admin.id}", json={"role": "user"}, headers=headers).status_code == 400
    assert api.patch(f"/users/{admin.id}", json={"is_active": False}, headers=headers).status_code == 400
    assert api.delete(f"/users/{admin.id}", headers=headers).status_code == 400
    assert api.get("/me", headers=headers).json()["role"] == "admin"


def test_admin_lists_users_with_the_real_total_and_filters(api):
    admin = create_user(role="admin", email="boss@example.org")
    for i in range(5):
        create_user(email=f"vecino{i}@example.org")
    create_user(role="expert", email="entomologa@example.org", is_active=False)
    page = api.get("/users", params={"limit": 2, "offset": 0}, headers=bearer(admin)).json()
    assert page["total"] == 7 and len(page["users"]) == 2 and page["has_next"] is True
    last = api.get("/users", params={"limit": 2, "offset": 6}, headers=bearer(admin)).json()
    assert len(last["users"]) == 1 and last["has_next"] is False
    experts = api.get("/users", params={"role": "expert"}, headers=bearer(admin)).json()
    assert [u["email"] for u in experts["users"]] == ["entomologa@example.org"]
    inactive = api.get("/users", params={"is_active": "false"}, headers=bearer(admin)).json()
    assert inactive["total"] == 1
    found = api.get("/users", params={"q": "VECINO3"}, headers=bearer(admin)).json()
    assert [u["email"] for u in found["users"]] == ["vecino3@example.org"]


def test_admin_promotes_a_user_to_expert(api):
    admin, user = create_user(role="admin"), create_user()
    response = api.patch(f"/users/{user.id}", json={"role": "expert"}, headers=bearer(admin))
    assert response.status_code == 200 and response.json()["role"] == "expert"
    assert api.get("/me", headers=bearer(user)).json()["role"] == "expert"


def test_admin_update_validates_its_body_and_target(api):
    admin = create_user(role="admin")
    headers = bearer(admin)
    assert api.patch(f"/users/{admin.id}", json={}, headers=headers).status_code == 422
    assert api.patch(f"/users/{admin.id}", json={"email": "x@example.org"}, headers=headers).status_code == 422
    assert api.patch("/users/not-a-uuid", json={"role": "user"}, headers=headers).status_code == 404
    missing = "00000000-0000-4000-8000-000000000000"
    assert api.patch(f"/users/{missing}", json={"role": "user"}, headers=headers).status_code == 404


def test_a_user_clears_their_name_with_null(api):
    """PUT /me's `display_name` is `string | null` (docs/openapi.json, ProfileUpdate): null clears the name, and
    bad or odd input is never a 500."""
    user = create_user(display_name="Rosa")
    response = api.put("/me", json={"display_name": None, "organization": "Salud Pública"}, headers=bearer(user))
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] is None and response.json()["organization"] == "Salud Pública"
    assert api.get("/me", headers=bearer(user)).json()["display_name"] is None
