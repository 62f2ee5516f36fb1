"""The leak check's third rule on the real engine: a connection taken from the pool and not given back is
reported by engine and count (tests/unit/shared/test_leak_check.py has the thread and process rules)."""

from __future__ import annotations

import pytest

from tests.conftest import _checked_out_connections

pytestmark = pytest.mark.integration


def test_a_connection_held_out_of_the_pool_is_reported(database_url):
    from sentrix.db.engine import get_engine

    with get_engine().connect(), get_engine().connect():
        assert _checked_out_connections() == {"get_engine": 2}
    assert _checked_out_connections() == {}
