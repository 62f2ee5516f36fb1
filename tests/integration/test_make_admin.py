"""`make admin EMAIL=...`: the first admin (or an expert) of a local database, against real PostGIS.

Creates a missing account with a password printed once, promotes an existing one, does nothing the second time,
never demotes, and refuses an address that is not one with a clear message and nothing written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from sentrix import first_admin
from sentrix.db import migrate
from sentrix_local.admin import make_admin

DATABASE = "sentrix_make_admin"
# A real argon2id hash of "correct horse battery", so a promotion can be shown to leave it alone.
EXISTING_PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def migrated(postgis) -> str:
    postgis.recreate_database(DATABASE)
    url = postgis.url(DATABASE)
    migrate.upgrade(url)
    return url


@pytest.fixture
def database(migrated: str) -> Iterator[str]:
    """The migrated database with no users (each test starts from none)."""
    run(migrated, "DELETE FROM users")
    yield migrated


def run(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def register(url: str, email: str, role: str = "user") -> tuple[uuid.UUID, str]:
    """An account as sign-up leaves it (plus a role), written by hand: the test's own setup, not the code's."""
    user_id, password_hash = uuid.uuid4(), PasswordHasher().hash(EXISTING_PASSWORD)
    run(
        url,
        "INSERT INTO users (id, email, password_hash, role) VALUES (:id, :email, :hash, CAST(:role AS user_role))",
        id=user_id,
        email=email,
        hash=password_hash,
        role=role,
    )
    return user_id, password_hash


def accounts(url: str) -> list[tuple]:
    return run(url, "SELECT email, role::text FROM users ORDER BY email")


@pytest.fixture
def audit_lines() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.INFO)
    first_admin.logger.addHandler(handler)
    yield records
    first_admin.logger.removeHandler(handler)


def test_a_missing_account_is_created_as_admin_with_a_password_printed_once(database: str, capsys) -> None:
    # Given a database with no account for the address
    # When the operator runs make admin with it
    code = make_admin(database, "Ana.Admin@Example.org")

    # Then the account exists, lowercased, as admin, and the printed password is the one its hash holds
    out = capsys.readouterr().out
    assert code == 0
    assert accounts(database) == [("ana.admin@example.org", "admin")]
    assert out.startswith("created ana.admin@example.org as admin\n")
    password = out.rsplit(": ", 1)[1].strip()
    assert len(password) >= 20
    assert out.count(password) == 1
    ((stored_hash,),) = run(database, "SELECT password_hash FROM users")
    assert PasswordHasher().verify(stored_hash, password)


def test_an_existing_account_is_promoted_keeping_its_password(database: str, capsys) -> None:
    # Given an account registered as a plain user, with its address in another case
    user_id, password_hash = register(database, "Bruno@Example.org")

    # When make admin names it
    code = make_admin(database, "bruno@example.org")

    # Then the same row is now an admin, its password untouched, and no password was printed
    out = capsys.readouterr().out
    assert code == 0
    assert run(database, "SELECT id, role::text, password_hash FROM users") == [(user_id, "admin", password_hash)]
    assert out == "promoted bruno@example.org from user to admin\n"


def test_running_it_again_changes_nothing(database: str, capsys) -> None:
    # Given an address make admin already created
    make_admin(database, "carla@example.org")
    ((first_hash,),) = run(database, "SELECT password_hash FROM users")
    capsys.readouterr()

    # When it runs a second time
    code = make_admin(database, "carla@example.org")

    # Then there is still one account, the same password, and the answer says nothing changed
    assert code == 0
    assert run(database, "SELECT role::text, password_hash FROM users") == [("admin", first_hash)]
    assert capsys.readouterr().out == "carla@example.org is already admin: nothing changed\n"


def test_an_expert_is_made_with_role_expert(database: str, capsys) -> None:
    # Given a plain user / When make admin ROLE=expert names it
    register(database, "dora@example.org")
    code = make_admin(database, "dora@example.org", "expert")

    # Then they are an expert, not an admin
    assert code == 0
    assert accounts(database) == [("dora@example.org", "expert")]
    assert capsys.readouterr().out == "promoted dora@example.org from user to expert\n"


def test_an_admin_is_never_demoted_to_expert(database: str, capsys) -> None:
    # Given an admin / When make admin ROLE=expert names them
    register(database, "eva@example.org", role="admin")
    code = make_admin(database, "eva@example.org", "expert")

    # Then they stay an admin
    assert code == 0
    assert accounts(database) == [("eva@example.org", "admin")]
    assert capsys.readouterr().out == "eva@example.org is already admin: nothing changed\n"


@pytest.mark.parametrize("address", ["not-an-address", "ana@", "@example.org", "ana@example", "a b@example.org", ""])
def test_an_address_that_is_not_one_is_refused_clearly_and_nothing_is_written(
    database: str, capsys, address: str
) -> None:
    # Given an address no account could have / When make admin is given it
    code = make_admin(database, address)

    # Then it exits 2 with a message naming the address, and no account was made
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err == f"make admin: Not a valid e-mail address: {address!r}\n"
    assert accounts(database) == []


def test_every_grant_leaves_an_audit_line(database: str, audit_lines: list[logging.LogRecord]) -> None:
    # Given a plain user
    user_id, _ = register(database, "fabio@example.org")

    # When make admin promotes them
    make_admin(database, "fabio@example.org")

    # Then one log line says who, from which role to which, and who asked
    (line,) = [r for r in audit_lines if r.getMessage() == "first admin: role granted"]
    assert (line.email, line.user_id, line.previous_role, line.role, line.result, line.source) == (
        "fabio@example.org",
        str(user_id),
        "user",
        "admin",
        "promoted",
        "make admin",
    )


def test_with_supabase_a_missing_account_is_not_created(database: str, capsys) -> None:
    # Given AUTH_PROVIDER=supabase (its users rows are made at sign-up, keyed by the Supabase id) and no account
    # When make admin names an address
    code = make_admin(database, "gil@example.org", auth_provider="supabase")

    # Then nothing is created, and the operator is told to sign up first
    captured = capsys.readouterr()
    assert code == 1
    assert accounts(database) == []
    assert captured.err == (
        "make admin: no account with gil@example.org:"
        " sign up first (AUTH_PROVIDER=supabase), then run make admin again\n"
    )


def test_with_supabase_an_existing_account_is_promoted(database: str, capsys) -> None:
    # Given AUTH_PROVIDER=supabase and an account that signed up / When make admin names it
    register(database, "hana@example.org")
    code = make_admin(database, "hana@example.org", auth_provider="supabase")

    # Then it is an admin
    assert code == 0
    assert accounts(database) == [("hana@example.org", "admin")]
