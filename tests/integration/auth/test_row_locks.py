"""Row locks of the auth logic, shown with two real transactions on PostGIS (issue 16, point 1).

Each test holds a row lock in a transaction of its own and changes the row, starts the operation in a thread,
waits until PostgreSQL reports that thread's transaction waiting for a lock (pg_stat_activity), then commits.
An operation that locks the row before reading it sees the committed change; one that reads first decides on a
stale copy. No test depends on how long anything takes: the order is forced by the held lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.passwords import hash_password, verify_password
from tests.support.identity import DEFAULT_PASSWORD, create_user

pytestmark = pytest.mark.integration

WAIT_FOR_LOCK_S = 60.0  # how long the thread gets to reach the lock; failing to is an error, not a measurement


def lock_waiters() -> int:
    """Backends of this database waiting for a lock (the thread's transaction, once it reaches the held row)."""
    with session_scope() as session:
        return session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        ).scalar_one()


def while_row_is_held(hold: Callable[[Any], None], operation: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run `hold(session)` (lock a row, change it), start `operation` in a thread, wait until it waits for a
    lock (or has ended), commit; return the operation's result or its exception."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = operation()
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="row-lock-operation")
    with session_scope() as holder:
        hold(holder)
        thread.start()
        deadline = time.monotonic() + WAIT_FOR_LOCK_S
        # An operation that never touches the row it read (it decided on a stale copy) ends without waiting:
        # the test's assertions on the outcome then tell.
        while thread.is_alive() and lock_waiters() == 0:
            assert time.monotonic() < deadline, "the operation neither ended nor reached the held row"
            time.sleep(0.02)
    thread.join(WAIT_FOR_LOCK_S)
    assert not thread.is_alive()
    return outcome.get("result"), outcome.get("error")


def test_a_password_change_checks_the_current_password_committed_before_it(builtin):
    """Two changes of one password at once: the second is checked against the password the first set, so the
    old password no longer changes it (docs/auth.md: `POST /change-password` takes the current password)."""
    from sentrix_auth.providers.base import WrongCurrentPassword

    user = create_user()
    other = "another long passphrase 1"

    def change_it_first(session) -> None:
        session.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": user.id})
        session.execute(
            text("UPDATE users SET password_hash = :hash WHERE id = :id"),
            {"hash": hash_password(other), "id": user.id},
        )

    result, error = while_row_is_held(
        change_it_first,
        lambda: builtin.change_password(user.id, DEFAULT_PASSWORD, "a third long passphrase 2", access_token=""),
    )

    assert result is None
    assert isinstance(error, WrongCurrentPassword), error  # refused as a wrong current password
    with session_scope() as session:
        stored = session.execute(text("SELECT password_hash FROM users WHERE id = :id"), {"id": user.id}).scalar_one()
    assert verify_password(stored, other)  # the first change stands


def test_concurrent_settings_updates_of_different_keys_both_stay(clean_db):
    """PUT /users/me/settings is a partial update (docs/auth.md): one update of `language` while another of
    `timezone` is being committed keeps both."""
    from sentrix_auth.logic.settings import SettingsUpdate, get_settings_of, update_settings_of

    user = create_user()
    update_settings_of(user.id, SettingsUpdate(language="pt"))

    def change_timezone_first(session) -> None:
        session.execute(text("SELECT 1 FROM user_settings WHERE user_id = :id FOR UPDATE"), {"id": user.id})
        session.execute(
            text(
                "UPDATE user_settings SET settings = jsonb_set(settings, '{timezone}', '\"Europe/Lisbon\"')"
                " WHERE user_id = :id"
            ),
            {"id": user.id},
        )

    result, error = while_row_is_held(
        change_timezone_first, lambda: update_settings_of(user.id, SettingsUpdate(language="en"))
    )

    assert error is None, error
    assert (result["language"], result["timezone"]) == ("en", "Europe/Lisbon")
    stored = get_settings_of(user.id)
    assert (stored["language"], stored["timezone"]) == ("en", "Europe/Lisbon")


def test_a_deactivation_while_the_user_is_being_reactivated_wins(clean_db):
    """An administrator deactivates a user while another transaction reactivates them: the deactivation comes
    second, so the user ends deactivated (docs/auth.md: deactivation ends their sessions at once)."""
    from sentrix.db.models import User
    from sentrix.domain.roles import Role
    from sentrix.http.identity import Principal
    from sentrix_auth.logic.admin import update_user

    admin = create_user(role="admin")
    user = create_user(is_active=False)

    def reactivate_first(session) -> None:
        session.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": user.id})
        session.execute(text("UPDATE users SET is_active = true WHERE id = :id"), {"id": user.id})

    result, error = while_row_is_held(
        reactivate_first, lambda: update_user(Principal(admin.id, Role.ADMIN), user.id, None, False)
    )

    assert error is None, error
    assert result.is_active is False
    with session_scope() as session:
        assert session.get(User, user.id).is_active is False


def test_a_profile_update_that_comes_second_is_the_one_stored(clean_db):
    """PATCH of `display_name` while another transaction renames the user: the update that comes second is
    what is stored and answered, even when it sets the name the row had before."""
    from sentrix.db.models import User
    from sentrix_auth.logic.profile import update_profile

    user = create_user(display_name="Ana")

    def rename_first(session) -> None:
        session.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": user.id})
        session.execute(text("UPDATE users SET display_name = 'Bea' WHERE id = :id"), {"id": user.id})

    result, error = while_row_is_held(rename_first, lambda: update_profile(user.id, {"display_name": "Ana"}))

    assert error is None, error
    assert result.display_name == "Ana"
    with session_scope() as session:
        assert session.get(User, user.id).display_name == "Ana"


def test_territories_are_not_given_to_someone_who_stopped_being_an_official_meanwhile(clean_db):
    """An administrator sets an official's territories while another transaction makes them a plain user: the
    setting comes second, reads the committed role and refuses (docs/territories.md: only officials have
    territories)."""
    from sentrix.domain.roles import Role
    from sentrix.errors import ValidationFailed
    from sentrix.http.identity import Principal
    from sentrix_auth.logic.admin import set_official_territories

    admin = create_user(role="admin")
    official = create_user(role="official")

    def demote_first(session) -> None:
        session.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": official.id})
        session.execute(text("UPDATE users SET role = 'user' WHERE id = :id"), {"id": official.id})

    result, error = while_row_is_held(
        demote_first, lambda: set_official_territories(Principal(admin.id, Role.ADMIN), official.id, [])
    )

    assert result is None
    assert isinstance(error, ValidationFailed), error
    assert error.details == {"role": "user"}


def test_deleting_a_user_waits_for_an_analysis_being_added_and_deletes_its_photo_too(clean_db, aws):
    """A user is deleted while another transaction, holding their row, adds an analysis of theirs: the deletion
    comes second, so it anonymises that analysis and deletes its photo too (docs/auth.md, Deleting a user)."""
    from sentrix.db.models import Analysis
    from sentrix.domain.roles import Role
    from sentrix.domain.status import AnalysisStatus
    from sentrix.http.identity import Principal
    from sentrix_auth.logic.admin import delete_user

    admin, user = create_user(role="admin"), create_user()

    def add_an_analysis_first(session) -> None:
        session.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": user.id})
        session.add(
            Analysis(
                user_id=user.id,
                status=AnalysisStatus.COMPLETED,
                image_bucket=aws.bucket,
                image_key=f"incoming/{user.id}/late.jpg",
                original_filename="late.jpg",
            )
        )
        session.flush()

    result, error = while_row_is_held(
        add_an_analysis_first, lambda: delete_user(Principal(admin.id, Role.ADMIN), user.id)
    )

    assert error is None, error
    assert (result["analyses_anonymised"], result["images_deleted"], result["images_not_deleted"]) == (1, 1, 0)
