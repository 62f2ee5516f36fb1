"""The owner's connection, for what tests do that the application role may not: TRUNCATE, ANALYZE, DDL.

The application code under test runs as the application role (DATABASE_URL, tests/conftest.py), as in the
cloud, so a missing grant fails a test; setup and cleanup that need the owner say so by using this engine.
"""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine

ADMIN_URL_VARIABLE = "SENTRIX_TEST_ADMIN_DATABASE_URL"


_ENGINES: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url, pool_size=1, max_overflow=2)
    return _ENGINES[url]


def admin_engine() -> Engine:
    """An engine on the test database as its owner (set by the `database_url` fixture)."""
    return _engine(os.environ[ADMIN_URL_VARIABLE])


def reset_admin_engines() -> None:
    """Close and forget the owner's engines: a database dropped and made again under the same name (a later
    pytest session in the same process, as mutmut runs them) must not get a connection to the dropped one."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()
