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
