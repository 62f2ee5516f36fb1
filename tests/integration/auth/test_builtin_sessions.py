"""What the built-in provider writes when it signs someone in (docs/auth.md, Built-in provider): a hash made with
weaker argon2 parameters is replaced at the next successful sign-in; the access token carries the user's email;
a refresh token's expiry is `REFRESH_TOKEN_TTL_S` after it was issued, in UTC whatever the process's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.support.identity import DEFAULT_PASSWORD, create_user

pytestmark = pytest.mark.integration

# Today's parameters (sentrix/passwords.py, docs/auth.md): argon2id, m = 19,456 KiB, t = 2, p = 1.
CURRENT_PARAMETERS = "$m=19456,t=2,p=1$"


def stored_hash(user_id) -> str:
    with session_scope() as session:
        return session.execute(text("SELECT password_hash FROM users WHERE id = :id"), {"id": user_id}).scalar_one()


def test_a_hash_with_weaker_parameters_is_replaced_at_the_next_sign_in(builtin):
    user = create_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEFAULT_PASSWORD)
    with session_scope() as session:
        session.execute(text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": weak, "id": user.id})

    assert builtin.authenticate(user.email, "not the password") is None
    assert stored_hash(user.id) == weak  # a failed sign-in changes nothing

    found = builtin.authenticate(user.email, DEFAULT_PASSWORD)
    assert found is not None and found[0].id == user.id
    rehashed = stored_hash(user.id)
    assert rehashed != weak and CURRENT_PARAMETERS in rehashed
    assert PasswordHasher().verify(rehashed, DEFAULT_PASSWORD)  # argon2's own check, not ours
    assert builtin.authenticate(user.email, DEFAULT_PASSWORD)[0].id == user.id
    assert stored_hash(user.id) == rehashed  # already current: not hashed again


def test_the_access_token_names_the_user_and_the_refresh_token_expires_in_utc(builtin, local_zone_not_utc):
    from sentrix_auth.dal.refresh_tokens import digest

    user = create_user(role="expert")
    before = datetime.now(UTC)
    tokens = builtin.start_session(user, None)
    after = datetime.now(UTC)

    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["email"]) == (str(user.id), "expert", user.email)
    with session_scope() as session:
        expires_at = session.execute(
            text("SELECT expires_at FROM refresh_tokens WHERE token_hash = :h"), {"h": digest(tokens.refresh_token)}
        ).scalar_one()
    ttl = timedelta(days=30)  # docs/auth.md: REFRESH_TOKEN_TTL_S, 30 days (the tests leave it unset)
    assert before + ttl <= expires_at <= after + ttl


def test_a_sign_in_records_last_login_in_utc_whatever_the_process_zone(builtin, local_zone_not_utc):
    from sentrix_auth.logic import sessions

    user = create_user()
    before = datetime.now(UTC)
    signed_in, _tokens = sessions.login(user.email, DEFAULT_PASSWORD, "203.0.113.9", provider=builtin)
    after = datetime.now(UTC)

    assert signed_in.id == user.id
    with session_scope() as session:
        last_login = session.execute(text("SELECT last_login FROM users WHERE id = :id"), {"id": user.id}).scalar_one()
    assert before <= last_login <= after  # naive local time would land three hours early
