"""Response headers: answers carrying tokens or personal data are `no-store`; every answer is nosniff and HSTS.

Through the in-process gateway to the real handlers (sentrix.http.headers sets them once, for every function).
Map tiles decide their own caching (public for strangers, private for signed-in callers) and keep it.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.identity import DEFAULT_PASSWORD

pytestmark = pytest.mark.integration

HSTS = "max-age=31536000; includeSubDomains"
TILE = "/map/tiles/12/1354/2300.mvt"


def assert_hardened(response: httpx.Response, label: str, cache: str | None = "no-store") -> None:
    assert response.status_code < 500, (label, response.status_code, response.text[:200])
    assert response.headers.get("x-content-type-options") == "nosniff", label
    assert response.headers.get("strict-transport-security") == HSTS, label
    if cache is not None:
        assert response.headers.get("cache-control") == cache, (label, response.headers.get("cache-control"))


def test_token_answers_are_never_stored(api, world):
    # Given a stranger who registers, signs in and refreshes
    registered = api.post("/register", json={"email": "carol@example.org", "password": "a sturdy passphrase"})
    assert_hardened(registered, "register")
    login = api.post("/login", json={"email": world.bob.email, "password": DEFAULT_PASSWORD})
    assert_hardened(login, "login")
    assert "access_token" in login.text
    refreshed = api.post("/refresh", json={"refresh_token": login.json()["refresh_token"]})
    # Then no answer that carried a token may be kept by a browser or a proxy
    assert_hardened(refreshed, "refresh")
    assert "access_token" in refreshed.text
    # And a refused sign-in is no different
    assert_hardened(api.post("/login", json={"email": world.bob.email, "password": "wrong"}), "failed login")


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("bob", "/me"),
        ("bob", "/users/me/activities"),
        ("bob", "/users/me/settings"),
        ("admin", "/users"),
        ("alice", "/analyses"),
        ("alice", "/analyses/{analysis}"),
        ("alice", "/analyses/{analysis}/detections"),
        ("expert", "/detections/pending"),
        ("alice", "/detections/{detection}/validity"),
        ("alice", "/reports/statistics"),
        ("alice", "/reports/recent-activity"),
        ("alice", "/heatmap-data"),
        ("alice", "/map-stats"),
        ("alice", "/exports/detections.csv"),
        ("alice", "/exports/detections.geojson"),
        ("alice", "/analyses/{analysis}/report"),
        ("alice", "/analyses/{analysis}/export"),
        ("bob", "/analyses/{analysis}"),  # a refusal (not his) is not stored either
    ],
)
def test_personal_answers_and_files_are_never_stored(api, world, who, path):
    url = path.replace("{analysis}", str(world.analysis_id)).replace("{detection}", str(world.detection_ids[0]))
    response = api.get(url, headers=world.headers(who))
    assert_hardened(response, f"{path} as {who}")
    assert response.status_code == (404 if who == "bob" and "{analysis}" in path else 200), response.text[:200]


def test_public_map_answers_are_hardened_and_tiles_keep_their_caching(api, world):
    assert_hardened(api.get("/map-stats"), "anonymous map-stats")
    assert_hardened(api.get("/heatmap-data"), "anonymous heatmap")
    anonymous = api.get(TILE)
    assert_hardened(anonymous, "anonymous tile", cache=None)
    assert anonymous.headers["cache-control"].startswith("public, max-age=")
    signed_in = api.get(TILE, headers=world.headers("alice"))
    assert_hardened(signed_in, "signed-in tile", cache=None)
    assert signed_in.headers["cache-control"].startswith("private, max-age=")


def test_refusals_of_the_functions_are_hardened_too(api, world):
    assert_hardened(api.get("/analyses", params={"offset": "-1"}, headers=world.headers("bob")), "422")
    assert_hardened(api.get(f"/analyses/{world.detection_ids[0]}", headers=world.headers("bob")), "404")
    assert_hardened(api.get("/users", headers=world.headers("bob")), "403")


def test_the_gateways_own_refusals_carry_the_template_headers(api):
    # The local gateway renders infra/template.yaml's GatewayResponses (tests/infra/invariants_http.py pins their
    # headers; tests/security/test_gateway_answers.py compares each answer with its entry).
    for response in (api.get("/me"), api.get("/no-such-route")):
        assert response.status_code in (401, 404)
        assert_hardened(response, f"gateway {response.status_code}")
