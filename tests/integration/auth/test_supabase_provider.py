"""AUTH_PROVIDER=supabase against a fake GoTrue over HTTP: the real `supabase_auth` client, the real gateway."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

import jwt
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import User
from tests.integration.auth.conftest import reset_auth_caches
from tests.support import fake_gotrue
from tests.support.environ import restore_environ, saved_environ
from tests.support.fake_gotrue import FakeGoTrue

pytestmark = pytest.mark.integration

PASSWORD = "a long and unusual passphrase"


@pytest.fixture(scope="module")
def gotrue(gateway_url):
    fake = FakeGoTrue().start()
    saved = saved_environ(
        (
            "AUTH_PROVIDER",
            "SUPABASE_URL",
            "SUPABASE_ANON_KEY",
            "SUPABASE_SERVICE_ROLE_KEY",
            "SUPABASE_JWT_SECRET",
        )
    )
    os.environ.update(
        {
            "AUTH_PROVIDER": "supabase",
            "SUPABASE_URL": fake.url,
            "SUPABASE_ANON_KEY": fake_gotrue.ANON_KEY,
            "SUPABASE_SERVICE_ROLE_KEY": fake_gotrue.SERVICE_ROLE_KEY,
            "SUPABASE_JWT_SECRET": fake_gotrue.JWT_SECRET,
        }
    )
    reset_auth_caches()
    try:
        yield fake
    finally:
        restore_environ(saved)
        reset_auth_caches()
        fake.stop()


@pytest.fixture
def sb(api, gotrue):
    return api


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(api, email="supa@example.org") -> dict:
    response = api.post("/register", json={"email": email, "password": PASSWORD, "display_name": "Supa"})
    assert response.status_code == 201, response.text
    return response.json()


def test_register_creates_the_supabase_user_and_a_local_profile(sb, gotrue):
    body = register(sb)
    assert ("POST", "/auth/v1/signup") in gotrue.calls
    supabase_id = next(u.id for u in gotrue.users.values() if u.email == "supa@example.org")
    assert body["user"]["id"] == supabase_id
    with session_scope() as session:
        local = session.get(User, uuid.UUID(supabase_id))
        assert local.role.value == "user" and local.password_hash is None and local.display_name == "Supa"
    # The access token is Supabase's own (HS256, its issuer), and the authorizer accepts it.
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    me = sb.get("/me", headers=auth(body["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == "supa@example.org"


def test_duplicate_sign_up_is_a_conflict(sb):
    register(sb, "twice@example.org")
    assert sb.post("/register", json={"email": "twice@example.org", "password": PASSWORD}).status_code == 409


def test_login_refresh_logout_are_delegated(sb, gotrue):
    register(sb, "flow@example.org")
    assert sb.post("/login", json={"email": "flow@example.org", "password": "wrong password!"}).status_code == 401
    login = sb.post("/login", json={"email": "flow@example.org", "password": PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["last_login"]
    first = login.json()["refresh_token"]
    refreshed = sb.post("/refresh", json={"refresh_token": first})
    assert refreshed.status_code == 200
    reused = sb.post("/refresh", json={"refresh_token": first})  # reuse, refused by GoTrue
    assert reused.status_code == 401
    assert reused.json()["error"]["message"] == "Invalid or expired refresh token"  # docs/openapi.json, /refresh 401
    token = refreshed.json()["access_token"]
    out = sb.post("/logout", json={"everywhere": True}, headers=auth(token))
    assert out.status_code == 200
    assert ("POST", "/auth/v1/logout") in gotrue.calls
    assert sb.post("/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}).status_code == 401


def test_change_password_goes_through_the_admin_api(sb, gotrue):
    body = register(sb, "change@example.org")
    new = "another quite long passphrase"
    wrong = sb.post(
        "/change-password",
        json={"current_password": "nope nope", "new_password": new},
        headers=auth(body["access_token"]),
    )
    assert wrong.status_code == 400
    time.sleep(1.05)  # Supabase's tokens have whole-second iat: the old token must predate the cut-off second
    changed = sb.post(
        "/change-password", json={"current_password": PASSWORD, "new_password": new}, headers=auth(body["access_token"])
    )
    assert changed.status_code == 200, changed.text
    assert any(m == "PUT" and p.startswith("/auth/v1/admin/users/") for m, p in gotrue.calls)
    assert sb.get("/me", headers=auth(body["access_token"])).status_code == 401  # the old token is cut off
    assert sb.get("/me", headers=auth(changed.json()["access_token"])).status_code == 200
    assert sb.post("/login", json={"email": "change@example.org", "password": new}).status_code == 200


def test_the_local_role_and_active_flag_rule(sb):
    body = register(sb, "local@example.org")
    user_id = uuid.UUID(body["user"]["id"])
    with session_scope() as session:
        session.get(User, user_id).is_active = False
    assert sb.get("/me", headers=auth(body["access_token"])).status_code == 403
    assert sb.post("/login", json={"email": "local@example.org", "password": PASSWORD}).status_code == 403
    assert sb.post("/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 403


def test_forged_supabase_tokens_are_refused(sb, gotrue):
    body = register(sb, "forge@example.org")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    wrong_secret = jwt.encode(claims, "not-the-project-secret-but-long-enough!!", algorithm="HS256")
    assert sb.get("/me", headers=auth(wrong_secret)).status_code == 401
    wrong_aud = jwt.encode({**claims, "aud": "anon"}, fake_gotrue.JWT_SECRET, algorithm="HS256")
    assert sb.get("/me", headers=auth(wrong_aud)).status_code == 401
    hs512 = jwt.encode(claims, fake_gotrue.JWT_SECRET, algorithm="HS512")
    assert sb.get("/me", headers=auth(hs512)).status_code == 401  # the algorithm is pinned


def test_our_builtin_tokens_are_not_accepted_in_supabase_mode(sb):
    from tests.support.identity import bearer, create_user

    assert sb.get("/me", headers=bearer(create_user())).status_code == 401


def test_deleting_a_user_deletes_the_supabase_user_with_the_service_role(sb, gotrue):
    from sentrix.domain.roles import Role

    admin = register(sb, "jefa@example.org")
    with session_scope() as session:
        session.get(User, uuid.UUID(admin["user"]["id"])).role = Role.ADMIN
    target_id = register(sb, "baja@example.org")["user"]["id"]
    gotrue.requests.clear()

    response = sb.delete(f"/users/{target_id}", headers=auth(admin["access_token"]))

    assert response.status_code == 200, response.text
    deletes = [r for r in gotrue.requests if r["method"] == "DELETE"]
    assert deletes == [
        {
            "method": "DELETE",
            "path": f"/auth/v1/admin/users/{target_id}",
            "apikey": fake_gotrue.SERVICE_ROLE_KEY,
            "authorization": f"Bearer {fake_gotrue.SERVICE_ROLE_KEY}",
        }
    ]
    assert target_id not in gotrue.users  # gone from Supabase
    assert admin["user"]["id"] in gotrue.users  # and only that one
    with session_scope() as session:
        assert session.get(User, uuid.UUID(target_id)) is None
    assert sb.post("/login", json={"email": "baja@example.org", "password": PASSWORD}).status_code == 401


def test_logout_of_one_session_keeps_the_other_and_everywhere_ends_both(sb, gotrue):
    """docs/auth.md, `POST /logout`: `{refresh_token}` ends that session; `{"everywhere": true}` ends every one."""
    register(sb, "two@example.org")

    def sign_in() -> dict:
        response = sb.post("/login", json={"email": "two@example.org", "password": PASSWORD})
        assert response.status_code == 200, response.text
        return response.json()

    one, other = sign_in(), sign_in()
    out = sb.post("/logout", json={"refresh_token": one["refresh_token"]}, headers=auth(one["access_token"]))
    assert out.status_code == 200, out.text
    assert sb.post("/refresh", json={"refresh_token": one["refresh_token"]}).status_code == 401
    assert sb.get("/me", headers=auth(other["access_token"])).status_code == 200  # the other session's token
    kept = sb.post("/refresh", json={"refresh_token": other["refresh_token"]})
    assert kept.status_code == 200, kept.text

    third = sign_in()
    out = sb.post("/logout", json={"everywhere": True}, headers=auth(third["access_token"]))
    assert out.status_code == 200, out.text
    for session in (kept.json(), third):
        assert sb.post("/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401


def test_sign_up_sends_the_profile_as_supabase_metadata_with_the_anon_key(sb, gotrue):
    """docs/auth.md (Supabase provider): the public calls carry the anon key (`apikey` and `Authorization:
    Bearer`); the profile fields go to the Supabase user's metadata and to the local row."""
    gotrue.requests.clear()
    response = sb.post(
        "/register",
        json={
            "email": "perfil@example.org",
            "password": PASSWORD,
            "display_name": "Ana Pérez",
            "organization": "Municipio de Prueba",
        },
    )
    assert response.status_code == 201, response.text
    user_id = response.json()["user"]["id"]
    assert gotrue.users[user_id].metadata == {"display_name": "Ana Pérez", "organization": "Municipio de Prueba"}
    signups = [r for r in gotrue.requests if r["path"] == "/auth/v1/signup"]
    assert [(r["apikey"], r["authorization"]) for r in signups] == [
        (fake_gotrue.ANON_KEY, f"Bearer {fake_gotrue.ANON_KEY}")
    ]
    with session_scope() as session:
        local = session.get(User, uuid.UUID(user_id))
        assert (local.email, local.display_name, local.organization) == (
            "perfil@example.org",
            "Ana Pérez",
            "Municipio de Prueba",
        )


def test_an_account_made_elsewhere_gets_its_local_row_from_its_metadata_at_first_sign_in(sb, gotrue):
    """docs/auth.md (Supabase provider): the local row of an account made outside this API is created at its
    first sign-in, its profile from the Supabase user's metadata; role `user`, active, no password hash."""
    metadata = {"display_name": "Desde Supabase", "organization": "Clínica Norte", "theme": "dark"}
    user_id = gotrue.add_user("elsewhere@example.org", PASSWORD, metadata)

    response = sb.post("/login", json={"email": "elsewhere@example.org", "password": PASSWORD})

    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == user_id
    with session_scope() as session:
        local = session.get(User, uuid.UUID(user_id))
        assert (local.email, local.display_name, local.organization, local.password_hash) == (
            "elsewhere@example.org",
            "Desde Supabase",
            "Clínica Norte",
            None,
        )
        assert (local.role.value, local.is_active) == ("user", True)


def test_an_account_made_elsewhere_without_metadata_has_an_empty_profile(sb, gotrue):
    user_id = gotrue.add_user("bare@example.org", PASSWORD)

    assert sb.post("/login", json={"email": "bare@example.org", "password": PASSWORD}).status_code == 200

    with session_scope() as session:
        local = session.get(User, uuid.UUID(user_id))
        assert (local.email, local.display_name, local.organization) == ("bare@example.org", None, None)


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        # GoTrue's error codes (its `error_code`): an address taken is 409 whatever the wording ...
        ({"code": 422, "error_code": "email_exists", "msg": "Email address already exists in the system"}, 409),
        ({"code": 422, "error_code": "user_already_exists", "msg": "A user with this email address exists"}, 409),
        # ... a sign-up Supabase will not take is Supabase's failure (503), not the caller's ...
        ({"code": 422, "error_code": "signup_disabled", "msg": "Signups not allowed for this instance"}, 503),
        # ... and a password Supabase's own policy refuses is the caller's (422)
        (
            {
                "code": 422,
                "error_code": "weak_password",
                "msg": "Password is known to be weak and easy to guess, please choose a different one.",
                "weak_password": {"reasons": ["pwned"]},
            },
            422,
        ),
    ],
    ids=["email_exists", "user_already_exists", "signup_disabled", "weak_password"],
)
def test_supabase_sign_up_refusals_map_to_the_callers_answer(sb, gotrue, refusal, status):
    gotrue.signup_refusal = (422, refusal)
    try:
        response = sb.post("/register", json={"email": "refused@example.org", "password": PASSWORD})
    finally:
        gotrue.signup_refusal = None
    assert response.status_code == status, response.text
    with session_scope() as session:
        assert session.query(User).filter_by(email="refused@example.org").count() == 0


def test_the_password_policy_applies_before_supabase_is_asked(sb, gotrue):
    """docs/auth.md (Built-in provider, Passwords; the same policy on this path): not the email's local part,
    on sign-up and on a change; Supabase never sees a refused password."""
    email = "maria.lopez.sentrix@example.org"
    gotrue.requests.clear()
    refused = sb.post("/register", json={"email": email, "password": "maria.lopez.sentrix"})
    assert refused.status_code == 422, refused.text
    assert not [r for r in gotrue.requests if r["path"] == "/auth/v1/signup"]

    body = register(sb, email)
    gotrue.requests.clear()
    change = sb.post(
        "/change-password",
        json={"current_password": PASSWORD, "new_password": "Maria.Lopez.Sentrix"},
        headers=auth(body["access_token"]),
    )
    assert change.status_code == 422, change.text
    assert not [r for r in gotrue.requests if r["path"].startswith("/auth/v1/admin/users/")]


def test_logging_out_everywhere_cuts_off_the_access_tokens_issued_before(sb, gotrue, local_zone_not_utc):
    """docs/auth.md (Supabase provider): GoTrue's access tokens are verified here, so logging out everywhere
    sets the user's cut-off, which refuses a token issued before it (here one issued a minute earlier, signed
    with the project secret as GoTrue signs it); a one-session logout leaves the cut-off alone."""
    body = register(sb, "cutoff@example.org")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    earlier = jwt.encode({**claims, "iat": claims["iat"] - 60}, fake_gotrue.JWT_SECRET, algorithm="HS256")
    assert sb.get("/me", headers=auth(earlier)).status_code == 200

    one = sb.post("/login", json={"email": "cutoff@example.org", "password": PASSWORD}).json()
    out = sb.post("/logout", json={"refresh_token": one["refresh_token"]}, headers=auth(one["access_token"]))
    assert out.status_code == 200, out.text
    with session_scope() as session:
        assert session.get(User, uuid.UUID(body["user"]["id"])).tokens_valid_after is None
    assert sb.get("/me", headers=auth(earlier)).status_code == 200

    before = datetime.now(UTC).replace(microsecond=0)
    out = sb.post("/logout", json={"everywhere": True}, headers=auth(body["access_token"]))
    assert out.status_code == 200, out.text
    assert sb.get("/me", headers=auth(earlier)).status_code == 401
    with session_scope() as session:
        cut_off = session.get(User, uuid.UUID(body["user"]["id"])).tokens_valid_after
    assert cut_off is not None and before <= cut_off <= datetime.now(UTC)


def test_a_sign_in_leaves_no_session_refresh_timer_behind(sb, gotrue):
    """One GoTrue client per call, without auto-refresh (docs/auth.md): a Lambda environment must not keep a
    timer that refreshes some earlier caller's session in the background."""
    from sentrix_auth.providers.factory import get_provider

    register(sb, "timer@example.org")
    timers_before = {t for t in threading.enumerate() if isinstance(t, threading.Timer)}

    found = get_provider().authenticate("timer@example.org", PASSWORD)

    assert found is not None and found[1] is not None
    assert {t for t in threading.enumerate() if isinstance(t, threading.Timer)} - timers_before == set()


def test_a_password_change_ends_the_users_other_supabase_sessions(sb, gotrue):
    """docs/auth.md (Supabase provider): a password change signs out globally, so another session's refresh
    token stops working; the session the change hands back works."""
    body = register(sb, "global@example.org")
    other = sb.post("/login", json={"email": "global@example.org", "password": PASSWORD}).json()
    new = "another quite long passphrase"

    changed = sb.post(
        "/change-password", json={"current_password": PASSWORD, "new_password": new}, headers=auth(body["access_token"])
    )

    assert changed.status_code == 200, changed.text
    assert sb.post("/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 401
    assert sb.post("/refresh", json={"refresh_token": changed.json()["refresh_token"]}).status_code == 200


def test_logging_out_everywhere_with_a_refresh_token_still_ends_every_session(sb, gotrue):
    """docs/auth.md (`POST /logout`): `{"everywhere": true}` ends every session, a refresh token sent along
    or not."""
    register(sb, "along@example.org")
    one = sb.post("/login", json={"email": "along@example.org", "password": PASSWORD}).json()
    other = sb.post("/login", json={"email": "along@example.org", "password": PASSWORD}).json()

    out = sb.post(
        "/logout",
        json={"refresh_token": one["refresh_token"], "everywhere": True},
        headers=auth(one["access_token"]),
    )

    assert out.status_code == 200, out.text
    for session in (one, other):
        assert sb.post("/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"code": "invalid_credentials", "msg": "Invalid login credentials"}),
        (401, {"code": "no_authorization", "msg": "This endpoint requires a Bearer token"}),
        (422, {"code": "validation_failed", "msg": "Unable to validate email address: invalid format"}),
    ],
    ids=["400", "401", "422"],
)
def test_supabase_sign_in_refusals_are_wrong_credentials(sb, gotrue, status, body):
    """docs/auth.md (Supabase provider): GoTrue's refusals of a sign-in (400, 401, 422) are this API's 401 for
    wrong credentials, the same answer as an unknown email; only GoTrue failing is a 503."""
    email = f"refusals-{status}@example.org"
    register(sb, email)
    unknown = sb.post("/login", json={"email": "nobody@example.org", "password": PASSWORD})
    assert unknown.status_code == 401
    gotrue.signin_refusal = (status, body)
    try:
        refused = sb.post("/login", json={"email": email, "password": PASSWORD})
    finally:
        gotrue.signin_refusal = None
    assert refused.status_code == 401, refused.text
    same = ("code", "status", "message", "type")
    assert [refused.json()["error"][k] for k in same] == [unknown.json()["error"][k] for k in same]


def test_a_supabase_failure_on_sign_in_is_unavailable_not_wrong_credentials(sb, gotrue):
    register(sb, "failing@example.org")
    gotrue.signin_refusal = (500, {"code": "unexpected_failure", "msg": "Unexpected failure"})
    try:
        failed = sb.post("/login", json={"email": "failing@example.org", "password": PASSWORD})
    finally:
        gotrue.signin_refusal = None
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"]["code"] == "dependency_unavailable"


def test_a_password_change_supabase_does_not_apply_is_a_503_not_new_tokens(sb, gotrue):
    """GoTrue answers the admin update but the new password does not sign in (a broken hook): the change is
    reported unavailable (503, retryable), never a 500 and never tokens for a password that does not work."""
    body = register(sb, "ignored@example.org")
    gotrue.ignore_password_updates = True
    try:
        changed = sb.post(
            "/change-password",
            json={"current_password": PASSWORD, "new_password": "another quite long passphrase"},
            headers=auth(body["access_token"]),
        )
    finally:
        gotrue.ignore_password_updates = False
    assert changed.status_code == 503, changed.text
    assert changed.json()["error"]["code"] == "dependency_unavailable"
    assert "access_token" not in changed.json()


def test_a_deactivated_users_sign_in_ends_the_one_session_supabase_made_for_it(sb, gotrue):
    """docs/auth.md (Supabase provider): GoTrue signs a deactivated account in (it knows nothing of our flag); the
    API answers 403 and ends that one new session (scope local), leaving the account's other sessions alone."""
    body = register(sb, "deactivated-sign-in@example.org")
    registered_session = gotrue.refresh_tokens[body["refresh_token"]][1]
    with session_scope() as session:
        session.get(User, uuid.UUID(body["user"]["id"])).is_active = False
    revoked_before = set(gotrue.revoked_sessions)
    sessions_before = {s for _uid, s, _used in gotrue.refresh_tokens.values()}

    refused = sb.post("/login", json={"email": "deactivated-sign-in@example.org", "password": PASSWORD})

    assert refused.status_code == 403
    made = {s for _uid, s, _used in gotrue.refresh_tokens.values()} - sessions_before
    assert len(made) == 1  # the sign-in GoTrue accepted
    assert set(gotrue.revoked_sessions) - revoked_before == made
    assert registered_session not in gotrue.revoked_sessions
