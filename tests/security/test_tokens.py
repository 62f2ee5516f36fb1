"""Token attacks through the gateway: every forged, stale or misdirected token is refused before any handler runs.

The target is a destructive call: `DELETE /analyses/{id}` on Alice's analysis with a token that claims to be the
admin. A forgery that got through would delete it, so each case also checks the database and the bucket.
Refresh-token attacks (revoked, rotated then replayed) go through `POST /refresh` of the auth function.
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from sentrix.tokens import ALGORITHM, kid_of
from tests.security.support import (
    auth,
    b64url,
    claims_for,
    db_snapshot,
    gateway_refused,
    hs256_with_public_key,
    our_private_key,
    refused,
    s3_snapshot,
    sign_with_our_key,
    stranger_key,
    unsigned,
    with_payload,
)
from tests.support.identity import DEFAULT_PASSWORD, access_token

pytestmark = pytest.mark.integration


def _forgeries(world, signing_key) -> dict[str, str]:
    admin = world.admin
    now = int(time.time())
    genuine = access_token(world.bob)
    stranger = stranger_key()
    ours = kid_of(our_private_key(signing_key).public_key())
    admin_claims = claims_for(admin)
    return {
        "alg-none": unsigned(admin_claims),
        "alg-None": unsigned(admin_claims, "None"),
        "alg-NONE-with-our-kid": unsigned(admin_claims, "NONE", kid=ours),
        "hs256-keyed-with-our-public-pem": hs256_with_public_key(admin_claims, signing_key, "pem"),
        "hs256-keyed-with-our-public-der": hs256_with_public_key(admin_claims, signing_key, "der"),
        "expired": sign_with_our_key(claims_for(admin, iat=now - 1000, exp=now - 120), signing_key),
        "issued-in-the-future": sign_with_our_key(claims_for(admin, iat=now + 3600, exp=now + 4000), signing_key),
        "not-before-in-the-future": sign_with_our_key(claims_for(admin, nbf=now + 3600), signing_key),
        "wrong-issuer": sign_with_our_key(claims_for(admin, iss="https://evil.example"), signing_key),
        "wrong-audience": sign_with_our_key(claims_for(admin, aud="another-api"), signing_key),
        "audience-list-without-ours": sign_with_our_key(claims_for(admin, aud=["another-api"]), signing_key),
        "missing-exp": sign_with_our_key(claims_for(admin, exp=None), signing_key),
        "missing-sub": sign_with_our_key(claims_for(admin, sub=None), signing_key),
        "sub-not-a-uuid": sign_with_our_key(claims_for(admin, sub="admin"), signing_key),
        "role-escalated-payload-original-signature": with_payload(genuine, claims_for(world.bob, role="admin")),
        "sub-swapped-payload-original-signature": with_payload(genuine, claims_for(admin)),
        "signature-stripped": genuine.rsplit(".", 1)[0] + ".",
        "signature-of-another-token": with_payload(access_token(admin), claims_for(admin, jti=uuid.uuid4().hex)),
        "unknown-kid": jwt.encode(admin_claims, stranger, algorithm=ALGORITHM, headers={"kid": "no-such-key-1234"}),
        "stranger-key-with-its-own-kid": jwt.encode(
            admin_claims, stranger, algorithm=ALGORITHM, headers={"kid": kid_of(stranger.public_key())}
        ),
        "stranger-key-claiming-our-kid": jwt.encode(admin_claims, stranger, algorithm=ALGORITHM, headers={"kid": ours}),
        "no-kid": jwt.encode(admin_claims, our_private_key(signing_key), algorithm=ALGORITHM),
        "kid-path-traversal": sign_with_our_key(admin_claims, signing_key, kid="../../../../etc/passwd"),
        "embedded-jwk-header": jwt.encode(
            admin_claims,
            stranger,
            algorithm=ALGORITHM,
            headers={"kid": ours, "jwk": jwt.algorithms.ECAlgorithm.to_jwk(stranger.public_key(), as_dict=True)},
        ),
        "garbage": "garbage",
        "three-empty-parts": "..",
        "not-base64": "@@@.###.$$$",
        "json-not-jwt": b64url({"sub": str(admin.id), "role": "admin"}),
        "huge": "a" * 8000 + "." + "b" * 8000 + "." + "c" * 86,
    }


FORGERY_NAMES = [
    "alg-none",
    "alg-None",
    "alg-NONE-with-our-kid",
    "hs256-keyed-with-our-public-pem",
    "hs256-keyed-with-our-public-der",
    "expired",
    "issued-in-the-future",
    "not-before-in-the-future",
    "wrong-issuer",
    "wrong-audience",
    "audience-list-without-ours",
    "missing-exp",
    "missing-sub",
    "sub-not-a-uuid",
    "role-escalated-payload-original-signature",
    "sub-swapped-payload-original-signature",
    "signature-stripped",
    "signature-of-another-token",
    "unknown-kid",
    "stranger-key-with-its-own-kid",
    "stranger-key-claiming-our-kid",
    "no-kid",
    "kid-path-traversal",
    "embedded-jwk-header",
    "garbage",
    "three-empty-parts",
    "not-base64",
    "json-not-jwt",
    "huge",
]


def test_the_forgery_list_is_the_one_the_cases_run(shared_world, signing_key):
    assert sorted(_forgeries(shared_world, signing_key)) == sorted(FORGERY_NAMES)


@pytest.fixture
def forgeries(shared_world, signing_key) -> dict[str, str]:
    return _forgeries(shared_world, signing_key)


@pytest.mark.parametrize("name", FORGERY_NAMES)
def test_forged_tokens_are_refused_by_the_authorizer_and_change_nothing(
    shared_api, shared_world, s3, aws, forgeries, name
):
    before, objects = db_snapshot(), s3_snapshot(s3, aws.bucket)

    response = shared_api.delete(f"/analyses/{shared_world.analysis_id}", headers=auth(forgeries[name]))

    gateway_refused(response)
    assert db_snapshot() == before
    assert s3_snapshot(s3, aws.bucket) == objects


PUBLIC_ROUTE_CASES = [
    "alg-none",
    "hs256-keyed-with-our-public-pem",
    "role-escalated-payload-original-signature",
    "expired",
    "wrong-audience",
    "unknown-kid",
]


@pytest.mark.parametrize("name", PUBLIC_ROUTE_CASES)
def test_public_routes_verify_tokens_themselves_and_refuse_forgeries(shared_api, forgeries, name):
    # No authorizer runs on the public map routes; a forged "admin" token must not unlock exact points.
    response = shared_api.get("/heatmap-data", headers=auth(forgeries[name]))
    error = refused(response, 401, "unauthorized")
    assert error["message"] == "Invalid or expired token"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Basic YWRtaW46YWRtaW4=", "Token abc", "bearer", "Bearer a b c"],
)
def test_malformed_authorization_headers_are_refused(shared_api, shared_world, header):
    gateway_refused(shared_api.delete(f"/analyses/{shared_world.analysis_id}", headers={"Authorization": header}))


def test_no_token_is_refused(shared_api, shared_world):
    gateway_refused(shared_api.delete(f"/analyses/{shared_world.analysis_id}"))


def test_a_genuine_token_of_a_user_whose_role_claim_says_admin_still_gets_the_database_role(
    shared_api, shared_world, signing_key
):
    # Signed by our own key with role=admin (say, minted before a demotion): the database role decides.
    token = sign_with_our_key(claims_for(shared_world.bob, role="admin"), signing_key)
    before = db_snapshot()
    refused(shared_api.get("/users", headers=auth(token)), 403, "forbidden")
    refused(shared_api.delete(f"/users/{shared_world.alice.id}", headers=auth(token)), 403, "forbidden")
    refused(shared_api.delete(f"/analyses/{shared_world.analysis_id}", headers=auth(token)), 404, "not_found")
    assert db_snapshot() == before


def test_a_token_for_a_user_that_does_not_exist_is_refused_by_the_function(shared_api, signing_key):
    ghost = type("Ghost", (), {"id": uuid.uuid4(), "role": "admin", "email": "ghost@example.org"})()
    token = sign_with_our_key(claims_for(ghost), signing_key)
    error = refused(shared_api.get("/users", headers=auth(token)), 401, "unauthorized")
    assert error["message"] == "Unknown user"


# --------------------------------------------------------------------------------------------------
# Sessions: live access tokens cut off, refresh tokens revoked, rotated and replayed
# --------------------------------------------------------------------------------------------------
def login(api, user) -> dict:
    response = api.post("/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def refresh(api, token: str):
    return api.post("/refresh", json={"refresh_token": token})


def test_a_reused_rotated_refresh_token_revokes_the_whole_family(api, world):
    first = login(api, world.alice)
    second = refresh(api, first["refresh_token"])
    assert second.status_code == 200

    replay = refresh(api, first["refresh_token"])
    after_replay = refresh(api, second.json()["refresh_token"])

    assert refused(replay, 401, "unauthorized")["message"] == "Invalid or expired refresh token"
    assert refused(after_replay, 401, "unauthorized")["message"] == "Invalid or expired refresh token"


def test_a_refresh_token_revoked_by_logout_is_refused(api, world):
    session = login(api, world.alice)
    out = api.post("/logout", json={"refresh_token": session["refresh_token"]}, headers=auth(session["access_token"]))
    assert out.status_code in (200, 204), out.text

    refused(refresh(api, session["refresh_token"]), 401, "unauthorized")


def test_logout_everywhere_ends_live_access_tokens_even_while_the_authorizer_answer_is_cached(api, world):
    session = login(api, world.alice)
    headers = auth(session["access_token"])
    assert api.get("/analyses", headers=headers).status_code == 200  # the authorizer answer is now cached

    assert api.post("/logout", json={"everywhere": True}, headers=headers).status_code in (200, 204)

    error = refused(api.get(f"/analyses/{world.analysis_id}", headers=headers), 401, "unauthorized")
    assert error["message"] == "Session has ended; sign in again"
    refused(refresh(api, session["refresh_token"]), 401, "unauthorized")


@pytest.mark.parametrize("kind", ["access-token", "garbage", "empty", "another-users-used-token"])
def test_things_that_are_not_a_current_refresh_token_are_refused(api, world, kind):
    bob_session = login(api, world.bob)
    if kind == "another-users-used-token":
        assert refresh(api, bob_session["refresh_token"]).status_code == 200
    token = {
        "access-token": bob_session["access_token"],
        "garbage": "x" * 43,
        "empty": "",
        "another-users-used-token": bob_session["refresh_token"],
    }[kind]
    before = db_snapshot() if kind != "another-users-used-token" else None

    response = refresh(api, token)

    if kind == "empty":
        refused(response, 422, "validation_error")
    else:
        refused(response, 401, "unauthorized")
    if before is not None:
        assert db_snapshot() == before


def test_a_refresh_body_with_extra_fields_is_refused(api, world):
    session = login(api, world.alice)
    response = api.post("/refresh", json={"refresh_token": session["refresh_token"], "role": "admin"})
    refused(response, 422, "validation_error")


def test_the_header_alg_is_pinned_even_for_our_own_key(shared_api, shared_world, signing_key):
    # ES384/ES512 headers on a P-256 key, or RS256: only ES256 passes.
    key = our_private_key(signing_key)
    claims = claims_for(shared_world.admin)
    header = b64url({"alg": "ES512", "typ": "JWT", "kid": kid_of(key.public_key())})
    genuine = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid_of(key.public_key())})
    relabelled = f"{header}.{genuine.split('.', 1)[1]}"
    gateway_refused(shared_api.delete(f"/analyses/{shared_world.analysis_id}", headers=auth(relabelled)))
