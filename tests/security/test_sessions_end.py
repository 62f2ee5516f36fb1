"""Sessions end when they say so (issue 14, point 8), through the gateway with the real authorizer.

Access tokens name their session (`sid`, the sign-in's refresh-token family). Logging out of one session ends
that session's live access token on every function, at the very next request — even though API Gateway keeps
the authorizer's Allow for 300 s — while the user's other sessions go on. Reactivating a deactivated user
does not bring back tokens issued before the deactivation.
"""

from __future__ import annotations

import pytest

from sentrix.tokens import verify_access_token
from tests.security.support import auth, db_snapshot, refused, s3_snapshot
from tests.support.identity import DEFAULT_PASSWORD

pytestmark = pytest.mark.integration

SESSION_ENDED = "Session has ended; sign in again"


def login(api, user) -> dict:
    response = api.post("/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def protected_reads(world) -> list[str]:
    """One route per path the caller check takes: the upload function's plain and one-statement reads, and a
    report function route."""
    return ["/analyses", f"/analyses/{world.analysis_id}", "/reports/statistics", "/me"]


def test_access_tokens_name_their_session(api, world):
    session = login(api, world.alice)

    claims = verify_access_token(session["access_token"])
    refreshed = api.post("/refresh", json={"refresh_token": session["refresh_token"]}).json()

    assert claims.session_id is not None
    assert verify_access_token(refreshed["access_token"]).session_id == claims.session_id  # same sign-in
    assert verify_access_token(login(api, world.alice)["access_token"]).session_id != claims.session_id


def test_logout_ends_that_sessions_access_token_on_other_functions_and_only_that_one(api, world, aws, s3):
    ended, kept = login(api, world.alice), login(api, world.alice)
    for path in protected_reads(world):  # the authorizer's answers are now cached for both tokens
        assert api.get(path, headers=auth(ended["access_token"])).status_code == 200, path
        assert api.get(path, headers=auth(kept["access_token"])).status_code == 200, path

    out = api.post("/logout", json={"refresh_token": ended["refresh_token"]}, headers=auth(ended["access_token"]))
    assert out.status_code == 200, out.text
    before = db_snapshot(), s3_snapshot(s3, aws.bucket)

    for path in protected_reads(world):
        error = refused(api.get(path, headers=auth(ended["access_token"])), 401, "unauthorized")
        assert error["message"] == SESSION_ENDED, path
        assert api.get(path, headers=auth(kept["access_token"])).status_code == 200, path
    # The public map route checks a bearer token itself: the ended session is refused there too.
    refused(api.get("/map-stats", headers=auth(ended["access_token"])), 401, "unauthorized")
    retry = api.post(f"/analyses/{world.failed_id}/retry", headers=auth(ended["access_token"]))
    assert refused(retry, 401, "unauthorized")["message"] == SESSION_ENDED
    assert (db_snapshot(), s3_snapshot(s3, aws.bucket)) == before


def test_a_replayed_refresh_token_ends_the_access_tokens_of_its_family(api, world):
    first = login(api, world.alice)
    second = api.post("/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert api.get("/analyses", headers=auth(second["access_token"])).status_code == 200

    replay = api.post("/refresh", json={"refresh_token": first["refresh_token"]})

    refused(replay, 401, "unauthorized")
    for token in (first["access_token"], second["access_token"]):  # a thief's copy dies with the owner's
        assert refused(api.get("/analyses", headers=auth(token)), 401, "unauthorized")["message"] == SESSION_ENDED


def test_reactivation_does_not_bring_back_tokens_issued_before_the_deactivation(api, world):
    old = login(api, world.alice)
    admin = auth(login(api, world.admin)["access_token"])
    assert api.get("/analyses", headers=auth(old["access_token"])).status_code == 200

    off = api.patch(f"/users/{world.alice.id}", json={"is_active": False}, headers=admin)
    assert off.status_code == 200, off.text
    deactivated = refused(api.get("/analyses", headers=auth(old["access_token"])), 403, "forbidden")
    on = api.patch(f"/users/{world.alice.id}", json={"is_active": True}, headers=admin)
    assert on.status_code == 200, on.text
    before = db_snapshot()

    assert deactivated["message"] == "User account is deactivated"
    for path in protected_reads(world):
        error = refused(api.get(path, headers=auth(old["access_token"])), 401, "unauthorized")
        assert error["message"] == SESSION_ENDED, path
    refused(api.post("/refresh", json={"refresh_token": old["refresh_token"]}), 401, "unauthorized")
    assert db_snapshot() == before
    fresh = login(api, world.alice)
    for path in protected_reads(world):
        assert api.get(path, headers=auth(fresh["access_token"])).status_code == 200, path


def test_a_role_change_leaves_the_users_tokens_alone(api, world):
    session = login(api, world.bob)
    admin = auth(login(api, world.admin)["access_token"])

    promoted = api.patch(f"/users/{world.bob.id}", json={"role": "expert"}, headers=admin)

    assert promoted.status_code == 200, promoted.text
    me = api.get("/me", headers=auth(session["access_token"]))
    assert me.status_code == 200 and me.json()["role"] == "expert"


def test_logging_out_with_someone_elses_refresh_token_ends_nothing_of_theirs(api, world):
    # docs/auth.md: `POST /logout {refresh_token}` ends *that* session — of the caller; another user's token
    # presented by Bob names no session of his, so Alice's session goes on.
    alice, bob = login(api, world.alice), login(api, world.bob)

    out = api.post("/logout", json={"refresh_token": alice["refresh_token"]}, headers=auth(bob["access_token"]))

    assert out.status_code == 200, out.text
    assert api.get("/me", headers=auth(alice["access_token"])).status_code == 200
    refreshed = api.post("/refresh", json={"refresh_token": alice["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
