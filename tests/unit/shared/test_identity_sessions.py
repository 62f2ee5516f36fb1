"""The caller check's session part, without a database: what the authorizer context carries and how a row is read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sentrix.errors import Forbidden, Unauthorized
from sentrix.http.identity import checked_principal, identity_from_event, session_ended_sql

USER = uuid.uuid4()
SESSION = uuid.uuid4()


def event(**context: str) -> dict:
    return {"requestContext": {"authorizer": {"user_id": str(USER), "role": "user", "iat": "1700000000", **context}}}


def test_the_session_id_comes_from_the_authorizer_context():
    assert identity_from_event(event(sid=str(SESSION))).session_id == SESSION
    assert identity_from_event(event(sid="")).session_id is None  # a token that names no session
    assert identity_from_event(event()).session_id is None
    assert identity_from_event(event(sid="not-a-uuid")) is None  # never a half-read identity


def test_an_ended_session_is_401_and_deactivation_still_answers_403_first():
    identity = identity_from_event(event(sid=str(SESSION)))

    assert checked_principal(identity, ("user", True, None, "a@example.org", False)).user_id == USER
    with pytest.raises(Unauthorized) as ended:
        checked_principal(identity, ("user", True, None, "a@example.org", True))
    assert ended.value.key == "err.session_ended"
    with pytest.raises(Forbidden):
        checked_principal(identity, ("user", False, datetime.now(UTC), "a@example.org", True))


def test_a_row_without_the_session_column_is_a_programming_error_not_a_pass():
    identity = identity_from_event(event(sid=str(SESSION)))
    with pytest.raises(TypeError):
        checked_principal(identity, ("user", True, None, "a@example.org", "es"))  # e.g. a language column
    with pytest.raises(ValueError):
        checked_principal(identity, ("user", True, None, "a@example.org"))


def test_the_hand_written_session_sql_takes_only_a_parsed_uuid():
    identity = identity_from_event(event(sid=str(SESSION)))
    assert f"'{SESSION}'::uuid" in session_ended_sql(identity, "u") and "u.id" in session_ended_sql(identity, "u")
    assert session_ended_sql(identity_from_event(event()), "u") == "false"
    with pytest.raises(TypeError):
        session_ended_sql(identity, "u; DROP TABLE users")
