"""SnapStart hooks against real PostgreSQL and moto: no pooled connection and no engine go into the snapshot,
and a restored environment connects afresh; boto3 resolves its credentials again after a restore."""

from __future__ import annotations

import importlib

import pg8000.exceptions
import pytest
import snapshot_restore_py
from sqlalchemy import text

from sentrix import snapstart
from sentrix.db import engine as engines

pytestmark = pytest.mark.integration


def run(registry: list, hook, function: str) -> None:
    """Call the hooks `function`'s handler registered, the way the Lambda runtime does."""
    entries = [e for e in registry if e[0] is hook and e[1] == (function,)]
    assert len(entries) == 1
    for func, args, kwargs in entries:
        func(*args, **kwargs)


@pytest.fixture
def fresh_engines(database_url):
    from tests.conftest import reset_caches

    reset_caches()
    yield
    engines.reset_engine()


def _pooled_connections() -> list:
    """Use both engines so each pool keeps a connection; the raw driver connections."""
    raw = []
    with engines.read_scope() as connection:
        raw.append(connection.connection.dbapi_connection)
    with engines.session_scope() as session:
        session.execute(text("SELECT 1"))
        raw.append(session.connection().connection.dbapi_connection)
    return raw


def _backend_pid() -> int:
    with engines.read_scope() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


@pytest.mark.parametrize("function", ["auth", "upload", "report"])
def test_before_the_snapshot_no_connection_and_no_engine_is_left(fresh_engines, function):
    # Given a function whose init (or a warm-up) used the database: connections sit in both pools
    importlib.import_module(
        {"auth": "sentrix_auth.api", "upload": "sentrix_upload.api", "report": "sentrix_report.api"}[function]
    )
    raw = _pooled_connections()
    assert engines.get_engine.cache_info().currsize == 1

    # When Lambda is about to take the snapshot
    run(snapshot_restore_py.get_before_snapshot(), snapstart.before_snapshot, function)

    # Then every pooled connection is closed and no engine (nor the URL with the password) is kept
    for connection in raw:
        with pytest.raises(pg8000.exceptions.InterfaceError, match="connection is closed"):
            connection.close()
    assert engines.get_engine.cache_info().currsize == 0
    assert engines.get_read_engine.cache_info().currsize == 0


def test_after_a_restore_the_engines_are_new_and_a_fresh_connection_works(fresh_engines):
    # Given an environment restored from a snapshot whose engines had a connection (as if a hook had not run)
    importlib.import_module("sentrix_report.api")
    before = _backend_pid()
    old_engine = engines.get_read_engine()

    # When the restore hooks run
    run(snapshot_restore_py.get_after_restore(), snapstart.after_restore, "report")

    # Then the cached engines are gone, and the next request connects anew and works
    assert engines.get_engine.cache_info().currsize == 0
    assert engines.get_read_engine.cache_info().currsize == 0
    assert _backend_pid() != before
    assert engines.get_read_engine() is not old_engine
    with engines.session_scope() as session:
        assert session.execute(text("SELECT 41 + 1")).scalar_one() == 42


def test_after_a_restore_boto3_resolves_its_credentials_again(aws):
    import boto3

    from sentrix.adapters import aws as clients

    # Given a client built and used before the snapshot (its credentials resolved by the default session)
    importlib.import_module("sentrix_upload.api")
    clients.client("s3").head_bucket(Bucket=aws.bucket)
    assert boto3.DEFAULT_SESSION._session._credentials is not None

    # When the environment is restored
    run(snapshot_restore_py.get_after_restore(), snapstart.after_restore, "upload")

    # Then neither the client nor the credentials survive, and a new client works
    assert clients.client.cache_info().currsize == 0
    assert boto3.DEFAULT_SESSION._session._credentials is None
    clients.client("s3").head_bucket(Bucket=aws.bucket)
