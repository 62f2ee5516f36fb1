"""The engine's connection policy on real PostgreSQL: no ping for a connection in use moments ago, a ping
(and a fresh connection) for one back from idleness, and a dead connection never turned into a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sentrix.db import engine as engine_module
from sentrix.db.engine import get_read_engine, read_scope, reset_engine, session_scope
from sentrix.errors import DependencyUnavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def engines(database_url):
    from tests.conftest import reset_caches

    reset_caches()
    yield
    reset_engine()


def _backend_pid(connection) -> int:
    return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int, database_url: str) -> None:
    from sqlalchemy import create_engine

    killer = create_engine(database_url)
    with killer.begin() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(engines, monkeypatch):
    import pg8000.dbapi

    with read_scope() as connection:
        first = _backend_pid(connection)
    sent: list[str] = []
    original = pg8000.dbapi.Connection.execute_simple
    monkeypatch.setattr(
        pg8000.dbapi.Connection, "execute_simple", lambda self, sql: sent.append(sql) or original(self, sql)
    )

    with read_scope() as connection:
        assert _backend_pid(connection) == first
    assert "SELECT 1" not in sent  # reused without a ping, and nothing else sent around the read
    assert not any(s in ("COMMIT", "ROLLBACK") for s in sent)


def test_an_idle_dead_connection_is_replaced_before_the_read(engines, database_url, monkeypatch):
    with read_scope() as connection:
        dead = _backend_pid(connection)
    _terminate(dead, database_url)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # as if it had sat idle past the threshold

    with read_scope() as connection:
        fresh = _backend_pid(connection)
    assert fresh != dead
    assert get_read_engine().pool.checkedout() == 0


def test_a_recently_used_dead_connection_is_a_503_once_then_recovers(engines, database_url):
    with read_scope() as connection:
        dead = _backend_pid(connection)
    _terminate(dead, database_url)

    with pytest.raises(DependencyUnavailable), read_scope() as connection:
        _backend_pid(connection)
    with read_scope() as connection:  # the pool threw the dead connection away
        assert _backend_pid(connection) != dead


def test_write_sessions_commit_once_and_reads_inside_them_see_their_writes(engines):
    with session_scope() as session:
        session.execute(text("CREATE TEMP TABLE IF NOT EXISTS t_engine (n int)"))
        session.execute(text("INSERT INTO t_engine VALUES (1)"))
        assert session.execute(text("SELECT count(*) FROM t_engine")).scalar_one() == 1
