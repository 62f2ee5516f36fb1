"""Reporter pseudonyms are keyed by a random key made once per deployment and kept in its database."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.support.admin import admin_engine

pytestmark = pytest.mark.integration


def test_the_key_is_random_made_once_and_stable(db):
    from sentrix_report.dal.keys import deployment_key, forget_keys
    from sentrix_report.logic.aggregate_report import reporter_pseudonym

    forget_keys()
    user = uuid.uuid4()
    first = reporter_pseudonym(user)
    with session_scope() as s:
        stored = s.execute(text("SELECT value FROM deployment_keys WHERE name = 'report_pseudonym'")).scalar_one()
        assert deployment_key(s, "report_pseudonym") == stored
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    forget_keys()
    assert reporter_pseudonym(user) == first  # read back from the database: the same pseudonym

    # Another deployment (another database) makes another key: its pseudonyms cannot be linked to ours.
    with admin_engine().begin() as s:  # the application role never deletes a key: the owner does
        s.execute(text("DELETE FROM deployment_keys"))
    forget_keys()
    assert reporter_pseudonym(user) != first
    forget_keys()


def test_a_key_once_read_is_kept_for_the_process(db):
    """The key is read from the database once per process (every pseudonym of a report would otherwise cost a
    query): a key removed from the table afterwards still answers the same until `forget_keys`."""
    from sentrix_report.dal.keys import deployment_key, forget_keys

    forget_keys()
    with session_scope() as s:
        first = deployment_key(s, "report_pseudonym")
    with admin_engine().begin() as s:
        s.execute(text("DELETE FROM deployment_keys"))
    with session_scope() as s:
        assert deployment_key(s, "report_pseudonym") == first
    forget_keys()
