"""Report queries run with their own planner settings, for their transaction only."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix_report.dal.sql import one
from sentrix_report.settings import get_report_settings

pytestmark = pytest.mark.integration


def test_report_statements_get_work_mem_and_no_jit_and_the_rest_of_the_pool_does_not(db):
    expected = f"{int(get_report_settings().work_mem_mb)}MB"
    with session_scope() as session:
        row = one(session, "SELECT current_setting('work_mem') AS work_mem, current_setting('jit') AS jit")
        assert (row["work_mem"], row["jit"]) == (expected, "off")
    with session_scope() as session:  # SET LOCAL: gone with the transaction
        after = session.execute(text("SELECT current_setting('work_mem'), current_setting('jit')")).one()
    assert tuple(after) != (expected, "off")


SETTINGS = "SELECT current_setting('work_mem') AS work_mem, current_setting('jit') AS jit"


def test_before_the_transaction_the_settings_travel_with_its_begin_once(db, statements):
    expected = f"{int(get_report_settings().work_mem_mb)}MB"
    with session_scope() as session:
        first = one(session, SETTINGS)
        second = one(session, SETTINGS)
    assert [(r["work_mem"], r["jit"]) for r in (first, second)] == [(expected, "off")] * 2
    assert statements == [SETTINGS, SETTINGS]  # no statement of their own, and nothing sent again


def test_inside_a_begun_transaction_they_are_one_statement_of_their_own_once(db, statements):
    expected = f"{int(get_report_settings().work_mem_mb)}MB"
    with session_scope() as session:
        session.execute(text("SELECT 1"))  # the transaction has begun: too late to ride on its BEGIN
        first = one(session, SETTINGS)
        second = one(session, SETTINGS)
    assert [(r["work_mem"], r["jit"]) for r in (first, second)] == [(expected, "off")] * 2
    settings = [s for s in statements if "set_config('work_mem'" in s]
    assert settings == [f"SELECT set_config('work_mem', '{expected}', true), set_config('jit', 'off', true)"]
    assert statements.index(settings[0]) == 1  # after SELECT 1, before the first report statement
