"""What ends a user's sessions (docs/auth.md): an administrator's (de)activation sets `tokens_valid_after` to now
both ways and deactivation revokes every refresh token; a password change sets the cut-off too and keeps to the
password policy (not the email or its local part)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.support.identity import create_user

pytestmark = pytest.mark.integration


def admin_principal():
    from sentrix.domain.roles import Role
    from sentrix.http.identity import Principal

    return Principal(create_user(role="admin").id, Role.ADMIN)


def refresh_rows(user_id) -> list[tuple[Any, Any]]:
    with session_scope() as session:
        return [
            tuple(row)
            for row in session.execute(
                text("SELECT revoked_at, expires_at FROM refresh_tokens WHERE user_id = :id"), {"id": user_id}
            )
        ]


def cut_off(user_id) -> datetime | None:
    with session_scope() as session:
        return session.execute(
            text("SELECT tokens_valid_after FROM users WHERE id = :id"), {"id": user_id}
        ).scalar_one()


def test_deactivation_revokes_every_refresh_token_of_the_user(builtin):
    from sentrix_auth.logic.admin import update_user

    user, bystander = create_user(), create_user()
    for person in (user, user, bystander):  # two sign-ins of the user, one of someone else
        builtin.start_session(person, None)

    update_user(admin_principal(), user.id, None, False)

    assert len(refresh_rows(user.id)) == 2
    assert all(revoked_at is not None for revoked_at, _ in refresh_rows(user.id))
    assert [revoked_at for revoked_at, _ in refresh_rows(bystander.id)] == [None]


@pytest.mark.parametrize("active_before", [True, False], ids=["deactivation", "reactivation"])
def test_a_change_of_the_active_flag_sets_the_cut_off_to_now(builtin, local_zone_not_utc, active_before):
    from sentrix_auth.logic.admin import update_user

    user = create_user(is_active=active_before)
    before = datetime.now(UTC)

    update_user(admin_principal(), user.id, None, not active_before)

    stored = cut_off(user.id)
    assert stored is not None and before <= stored <= datetime.now(UTC)


def test_a_new_password_that_is_the_users_email_or_its_local_part_is_refused(builtin):
    """docs/auth.md (Passwords): not the email (or its local part), on a change as on sign-up."""
    from sentrix.errors import ValidationFailed
    from tests.support.identity import DEFAULT_PASSWORD

    user = create_user(email="maria.lopez.sentrix@example.org")
    for new in ("maria.lopez.sentrix@example.org", "maria.lopez.sentrix"):
        with pytest.raises(ValidationFailed):
            builtin.change_password(user.id, DEFAULT_PASSWORD, new, access_token="")


def test_a_password_change_sets_the_cut_off_to_now(builtin, local_zone_not_utc):
    """docs/auth.md: a password change acts at the next request — tokens issued before the change fall behind
    `users.tokens_valid_after`."""
    from tests.support.identity import DEFAULT_PASSWORD

    user = create_user()
    before = datetime.now(UTC)

    builtin.change_password(user.id, DEFAULT_PASSWORD, "a brand new passphrase 7", access_token="")

    stored = cut_off(user.id)
    assert stored is not None and before <= stored <= datetime.now(UTC)
