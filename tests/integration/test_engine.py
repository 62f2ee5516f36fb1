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
    import pg8000.core

    with read_scope() as connection:
        first = _backend_pid(connection)
    sent: list[str] = []
    # Every statement pg8000 sends goes through one of CoreConnection's three execute methods (the legacy and the
    # DB-API connection classes both inherit them): spy on all three, whichever class SQLAlchemy's dialect uses.
    for name in ("execute_simple", "execute_unnamed", "execute_named"):
        original = getattr(pg8000.core.CoreConnection, name)

        def spy(self, statement, *args, _original=original, **kwargs):
            sent.append(" ".join(str(statement).split()))
            return _original(self, statement, *args, **kwargs)

        monkeypatch.setattr(pg8000.core.CoreConnection, name, spy)

    with read_scope() as connection:
        assert _backend_pid(connection) == first
    assert "SELECT pg_backend_pid()" in sent  # the spy sees what is sent: the read itself
    assert "SELECT 1" not in sent  # reused without a ping
    # one end of the read's transaction, not a second one from the pool's reset on return
    assert [s for s in sent if s.upper() in ("COMMIT", "ROLLBACK")] == ["COMMIT"], sent


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


# Bounded queries (sentrix.db.budget): the statement_timeout is SET LOCAL at BEGIN, per route class.


def _timeout(connection) -> str:
    return connection.execute(text("SELECT current_setting('statement_timeout')")).scalar_one()


def test_a_transaction_runs_under_its_route_class_and_the_setting_ends_with_it(engines):
    from sentrix.db import budget
    from sentrix.db.engine import get_engine

    token = budget.start(None, budget.RouteClass.PUBLIC)
    try:
        with session_scope() as session:
            assert _timeout(session) == "5s"
        budget.use_class(budget.RouteClass.EXPERT)
        with session_scope() as session:
            assert _timeout(session) == "25s"
        with read_scope() as connection:
            assert _timeout(connection) == "25s"
    finally:
        budget.end(token)
    # SET LOCAL, never a session SET: the pooled connections carry no timeout of their own afterwards
    with get_engine().connect() as connection:
        assert _timeout(connection) == "0"
    with get_read_engine().connect() as connection:
        assert _timeout(connection) == "0"


def test_a_read_past_its_timeout_is_a_query_timeout_and_the_connection_comes_back_clean(engines):
    from sentrix.db import budget
    from sentrix.errors import QueryTimeout
    from tests.builders import LambdaContext

    # Given an invocation with 1.3 s left (1 s margin: statements get 300 ms)
    token = budget.start(LambdaContext("F", 1.3))
    try:
        with pytest.raises(QueryTimeout) as raised, read_scope() as connection:
            connection.execute(text("SELECT pg_sleep(3)"))
    finally:
        budget.end(token)
    assert raised.value.status == 503 and raised.value.key == "err.query_timeout"
    with read_scope() as connection:  # the same pooled connection: no transaction left open, default class
        assert _timeout(connection) == "10s"
        assert connection.execute(text("SELECT 1")).scalar_one() == 1


def test_no_statement_starts_when_the_invocation_has_no_time_left(engines):
    from sentrix.db import budget
    from sentrix.errors import QueryTimeout
    from tests.builders import LambdaContext

    token = budget.start(LambdaContext("F", 1))  # 1 s left, all of it the margin
    try:
        with pytest.raises(QueryTimeout), session_scope() as session:
            session.execute(text("SELECT 1"))
    finally:
        budget.end(token)


# One-statement reads (bounded_read): the statement_timeout travels with the statement, one message for both.


def test_a_bounded_read_is_one_message_under_its_route_class_and_the_setting_ends_with_it(engines, monkeypatch):
    import pg8000.core

    from sentrix.db import budget
    from sentrix.db.engine import bounded_read

    bounded_read("SELECT 1")  # a pooled connection, used moments ago: no ping below
    sent: list[str] = []
    original = pg8000.core.CoreConnection.execute_simple  # SQLAlchemy's pg8000 connections are pg8000.legacy's
    monkeypatch.setattr(
        pg8000.core.CoreConnection, "execute_simple", lambda self, sql: sent.append(sql) or original(self, sql)
    )
    token = budget.start(None, budget.RouteClass.PUBLIC)
    try:
        rows = bounded_read("SELECT current_setting('statement_timeout') AS timeout, 2 AS two")
    finally:
        budget.end(token)

    # Then the statement ran under the public class' 5 s, its rows are its own, and one message carried it all
    assert [tuple(row) for row in rows] == [("5s", 2)]
    assert rows[0].timeout == "5s"
    assert len(sent) == 1 and "statement_timeout" in sent[0]
    # The setting ended with the implicit transaction: the pooled connection has no timeout, no open transaction
    with get_read_engine().connect() as connection:
        assert _timeout(connection) == "0"
        assert connection.connection.driver_connection._in_transaction is False


def test_a_bounded_read_past_its_timeout_is_a_query_timeout_and_the_connection_comes_back_clean(engines):
    from sentrix.db import budget
    from sentrix.db.engine import bounded_read
    from sentrix.errors import QueryTimeout
    from tests.builders import LambdaContext

    token = budget.start(LambdaContext("F", 1.3))  # 300 ms for statements
    try:
        with pytest.raises(QueryTimeout) as raised:
            bounded_read("SELECT pg_sleep(3)")
    finally:
        budget.end(token)
    assert raised.value.status == 503 and raised.value.key == "err.query_timeout"
    assert [tuple(row) for row in bounded_read("SELECT current_setting('statement_timeout'), 1")] == [("10s", 1)]
    with get_read_engine().connect() as connection:
        assert _timeout(connection) == "0"


def test_a_bounded_read_with_no_row_answers_none_and_refuses_when_no_time_is_left(engines):
    from sentrix.db import budget
    from sentrix.db.engine import bounded_read
    from sentrix.errors import QueryTimeout
    from tests.builders import LambdaContext

    assert bounded_read("SELECT 1 WHERE false") == []
    token = budget.start(LambdaContext("F", 1))  # all of it the margin
    try:
        with pytest.raises(QueryTimeout):
            bounded_read("SELECT 1")
    finally:
        budget.end(token)


def test_a_bounded_read_on_a_dead_connection_is_a_503_once_then_recovers(engines, database_url):
    from sentrix.db.engine import bounded_read

    [(dead,)] = bounded_read("SELECT pg_backend_pid()")
    _terminate(dead, database_url)

    with pytest.raises(DependencyUnavailable):
        bounded_read("SELECT pg_backend_pid()")
    [(fresh,)] = bounded_read("SELECT pg_backend_pid()")  # the pool threw the dead connection away
    assert fresh != dead


def test_a_bounded_read_refused_by_the_server_is_its_sqlalchemy_error_and_leaves_the_connection_usable(engines):
    from sqlalchemy.exc import ProgrammingError

    from sentrix.db.engine import bounded_read

    with pytest.raises(ProgrammingError) as raised:
        bounded_read("SELECT no_such_column FROM users")
    assert raised.value.orig.args[0]["C"] == "42703"  # undefined_column, as SQLAlchemy would have raised it
    assert [tuple(row) for row in bounded_read("SELECT 1, 'x' AS label")] == [(1, "x")]
