"""A database that is shutting down, starting up or full is unavailable (503), not a bug (500).

The answer a caller gets while the database is gone, and the recovery after it returns, are tested through
the real handler in tests/integration/upload/test_db_unavailable.py.

PostgreSQL refuses new connections then with FATAL 57P01/57P02/57P03 or 53300, which pg8000 raises as
`ProgrammingError` — found by the load run's database fault (bench/load.py): every request in the first
second of a restart answered 500.
"""

from __future__ import annotations

import pg8000.dbapi
import pytest
from sqlalchemy.exc import ProgrammingError

from sentrix.db.engine import raise_typed
from sentrix.errors import DependencyUnavailable


def pg8000_error(sqlstate: str, message: str) -> ProgrammingError:
    orig = pg8000.dbapi.ProgrammingError({"S": "FATAL", "V": "FATAL", "C": sqlstate, "M": message})
    return ProgrammingError("connect", {}, orig)


@pytest.mark.parametrize(
    ("sqlstate", "message"),
    [
        ("57P03", "the database system is shutting down"),
        ("57P03", "the database system is starting up"),
        ("57P01", "terminating connection due to administrator command"),
        ("53300", "sorry, too many clients already"),
        ("08006", "connection failure"),
    ],
)
def test_a_server_that_refuses_connections_is_unavailable(sqlstate, message):
    with pytest.raises(DependencyUnavailable):
        raise_typed(pg8000_error(sqlstate, message))


def test_a_real_programming_error_stays_one():
    # No typed error stands for it: raise_typed returns and the caller re-raises the original (a 500).
    assert raise_typed(pg8000_error("42P01", 'relation "nope" does not exist')) is None


def test_an_unavailable_database_says_so_in_words_callers_can_read():
    with pytest.raises(DependencyUnavailable) as raised:
        raise_typed(pg8000_error("57P03", "the database system is starting up"))
    error = raised.value
    assert (error.status, error.code, error.message) == (503, "dependency_unavailable", "Database unavailable")
    assert "starting up" not in str(error)  # the server's words stay in the log (the cause), not the answer
    assert isinstance(error.__cause__, ProgrammingError)
