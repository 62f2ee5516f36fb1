"""Why and when a session ended (docs/auth.md, Built-in provider: `revoked_reason`, `revoked_at` in UTC): each way
of ending sessions records its reason on the refresh tokens it revokes, and only on those."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.support.identity import DEFAULT_PASSWORD, create_user

pytestmark = pytest.mark.integration


def revocation_of(token: str) -> tuple[str | None, datetime | None]:
    from sentrix_auth.dal.refresh_tokens import digest

    with session_scope() as session:
        row = session.execute(
            text("SELECT revoked_reason, revoked_at FROM refresh_tokens WHERE token_hash = :hash"),
            {"hash": digest(token)},
        ).one()
    return row[0], row[1]


def assert_revoked(token: str, reason: str, before: datetime) -> None:
    found, when = revocation_of(token)
    assert found == reason
    assert when is not None and before <= when <= datetime.now(UTC)


def test_logging_out_one_session_records_logout_on_that_session_only(builtin, local_zone_not_utc):
    user = create_user()
    one, other = builtin.start_session(user, None), builtin.start_session(user, None)
    before = datetime.now(UTC)

    builtin.sign_out(user.id, one.refresh_token, everywhere=False, access_token=one.access_token)

    assert_revoked(one.refresh_token, "logout", before)
    assert revocation_of(other.refresh_token) == (None, None)


@pytest.mark.parametrize("with_token", [True, False], ids=["everywhere-with-its-token", "no-token"])
def test_logging_out_everywhere_records_logout_everywhere_on_every_session(builtin, local_zone_not_utc, with_token):
    user, bystander = create_user(), create_user()
    one, other = builtin.start_session(user, None), builtin.start_session(user, None)
    theirs = builtin.start_session(bystander, None)
    before = datetime.now(UTC)

    builtin.sign_out(
        user.id,
        one.refresh_token if with_token else None,
        everywhere=with_token,
        access_token=one.access_token,
    )

    for session in (one, other):
        assert_revoked(session.refresh_token, "logout_everywhere", before)
    assert revocation_of(theirs.refresh_token) == (None, None)
    with session_scope() as session:
        cut_off = session.execute(
            text("SELECT tokens_valid_after FROM users WHERE id = :id"), {"id": user.id}
        ).scalar_one()
    assert cut_off is not None and before <= cut_off <= datetime.now(UTC)


def test_a_password_change_records_password_changed(builtin, local_zone_not_utc):
    user = create_user()
    old = builtin.start_session(user, None)
    before = datetime.now(UTC)

    fresh = builtin.change_password(user.id, DEFAULT_PASSWORD, "a brand new passphrase 7", access_token="")

    assert_revoked(old.refresh_token, "password_changed", before)
    assert revocation_of(fresh.refresh_token) == (None, None)  # the session the change hands back


def test_a_deactivation_records_deactivated(builtin, local_zone_not_utc):
    from sentrix.domain.roles import Role
    from sentrix.http.identity import Principal
    from sentrix_auth.logic.admin import update_user

    user = create_user()
    session = builtin.start_session(user, None)
    before = datetime.now(UTC)

    update_user(Principal(create_user(role="admin").id, Role.ADMIN), user.id, None, False)

    assert_revoked(session.refresh_token, "deactivated", before)


def test_a_replayed_refresh_token_records_reuse_detected(builtin):
    from sentrix.errors import Unauthorized

    user = create_user()
    first = builtin.start_session(user, None)
    _, rotated = builtin.refresh(first.refresh_token)
    before = datetime.now(UTC)

    with pytest.raises(Unauthorized):
        builtin.refresh(first.refresh_token)

    assert_revoked(rotated.refresh_token, "reuse_detected", before)
