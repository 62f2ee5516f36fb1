"""scripts/mutate.py counts a surviving mutant as equivalent by rule when it only changes the case of SQL text
(docs/testing.md, Equivalent mutants): the rule must not swallow a mutant that changes what the SQL means."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "mutate.py"
spec = importlib.util.spec_from_file_location("mutate_script", SCRIPT)
mutate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutate)


@pytest.mark.parametrize(
    "original",
    [
        "SELECT id, at FROM alert_events WHERE alert_id = :alert_id ORDER BY at, id",
        "ORDER BY l.depth, l.code LIMIT :limit OFFSET :offset",
        "AND site_id = ANY(CAST(:ids AS uuid[]))",
        "a.user_id IS NOT DISTINCT FROM CAST(:viewer AS uuid)",
        "SELECT count(*) AS n FROM {table} WHERE status <> 'closed' AND {where}",
    ],
)
def test_sql_lower_cased_reads_the_same(original):
    # mutmut's lower-case mutant of a SQL string: keywords and unquoted names only (binds, placeholders and
    # literals here are lower case already)
    assert mutate.sql_case_only(original, original.lower()) is True


@pytest.mark.parametrize(("original", "mutated"), [("FALSE", "false"), (" CROSS JOIN area", " cross join area")])
def test_fragments_of_sql_keywords_read_the_same_in_any_case(original, mutated):
    assert mutate.sql_case_only(original, mutated) is True


def test_sql_upper_cased_reads_the_same_when_nothing_case_sensitive_is_in_it():
    assert (
        mutate.sql_case_only(
            "SELECT a.id FROM analyses a JOIN users u ON u.id = a.user_id",
            "SELECT A.ID FROM ANALYSES A JOIN USERS U ON U.ID = A.USER_ID",
        )
        is True
    )


@pytest.mark.parametrize(
    ("original", "mutated"),
    [
        # a literal's case is data: 'closed' is not 'CLOSED'
        ("WHERE status = 'closed' ORDER BY id", "WHERE STATUS = 'CLOSED' ORDER BY ID"),
        # bind names are case-sensitive (SQLAlchemy matches :id to the parameter named id)
        ("DELETE FROM alert_subscriptions WHERE id = :id", "DELETE FROM ALERT_SUBSCRIPTIONS WHERE ID = :ID"),
        # Python placeholders name keyword arguments
        ("SELECT n FROM t WHERE {where}", "SELECT N FROM T WHERE {WHERE}"),
        ("SELECT n FROM t WHERE x = %(x)s", "SELECT N FROM T WHERE X = %(X)s"),
        # quoted identifiers keep their case
        ('SELECT "Name" FROM t', 'SELECT "NAME" FROM T'),
        # not SQL at all: a class name, messages with an English word SQL also uses
        ("Otro", "OTRO"),
        ("Location is missing", "LOCATION IS MISSING"),
        ("Where the rest are", "where the rest are"),
        ("refuse", "REFUSE"),
        ("open", "OPEN"),
        ("risk", "RISK"),
        # not a case change
        ("SELECT a FROM t", "XXSELECT a FROM tXX"),
        ("SELECT a FROM t", "SELECT a FROM t"),
    ],
)
def test_a_change_of_meaning_is_not_counted_as_case_only(original, mutated):
    assert mutate.sql_case_only(original, mutated) is False


MODULE = """
def x_levels__mutmut_orig(session, kind):
    sql = "SELECT code FROM territories WHERE depth = :depth"
    label = "Otro"
    return session.execute(sql, {"depth": 1}), label if kind else None

def x_levels__mutmut_1(session, kind):
    sql = "select code from territories where depth = :depth"
    label = "Otro"
    return session.execute(sql, {"depth": 1}), label if kind else None

def x_levels__mutmut_2(session, kind):
    sql = "SELECT code FROM territories WHERE depth = :depth"
    label = "OTRO"
    return session.execute(sql, {"depth": 1}), label if kind else None

def x_levels__mutmut_3(session, kind):
    sql = "select code from territories where depth = :depth"
    label = "Otro"
    return session.execute(sql, {"depth": 2}), label if kind else None

def x_levels__mutmut_4(session, kind):
    sql = "select code from territories where depth = :depth"
    label = "Otro"
    return session.execute(sql, {"depth": 1}), label if kind or True else None

class Store:
    def xǁStoreǁread__mutmut_orig(self):
        return "SELECT 1 WHERE false"

    def xǁStoreǁread__mutmut_1(self):
        return "select 1 where false"
"""


@pytest.mark.parametrize(
    ("mutant", "equivalent"),
    [
        ("sentrix_report.dal.alerts.x_levels__mutmut_1", True),  # only the SQL's case
        ("sentrix_report.dal.alerts.x_levels__mutmut_2", False),  # a value's case
        ("sentrix_report.dal.alerts.x_levels__mutmut_3", False),  # the SQL's case and a number
        ("sentrix_report.dal.alerts.x_levels__mutmut_4", False),  # the SQL's case and a condition
        ("sentrix_report.dal.alerts.x_levels__mutmut_9", False),  # no such mutant in the module
        ("sentrix_auth.providers.builtin.xǁStoreǁread__mutmut_1", True),  # a method's mutant
    ],
)
def test_only_mutants_that_change_nothing_but_the_sql_case_are_equivalent(mutant, equivalent):
    assert mutate.sql_case_mutant(MODULE, mutant) is equivalent
