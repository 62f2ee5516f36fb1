"""A database that is shutting down, starting up or full is unavailable (503), not a bug (500).

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
    raise_typed(pg8000_error("42P01", 'relation "nope" does not exist'))  # returns: the caller re-raises
