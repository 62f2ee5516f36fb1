"""Nothing our functions do leaves session state behind: RDS Proxy would pin the client connection to one database
connection for good (a session-level SET, a named prepared statement, a temporary table, a session advisory lock).

The sessions start in UTC through the startup message, not a SET (layers/shared/sentrix/db/engine.py)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# What the database keeps for a session beyond its transaction. `source = 'session'` is exactly a SET (or
# set_config(…, false)) that outlives its transaction; startup parameters are `client`, SET LOCAL leaves nothing.
SESSION_STATE = """
    SELECT (SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM pg_settings WHERE source = 'session')
               AS settings,
           (SELECT count(*) FROM pg_prepared_statements) AS prepared,
           (SELECT count(*) FROM pg_class WHERE relpersistence = 't') AS temporary_tables,
           (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS advisory_locks
"""
SOUTH_OF_UTC = "America/Argentina/Tucuman"  # UTC-3: a session left in the database's zone would show it


@pytest.fixture
def zoned_database(postgis) -> Iterator[str]:
    """A database whose default time zone is not UTC (as a server configured for its city would be)."""
    postgis.recreate_database("sentrix_pinning")
    postgis.psql(f"ALTER DATABASE sentrix_pinning SET timezone TO '{SOUTH_OF_UTC}'")
    yield postgis.url("sentrix_pinning")


def session_state(connection) -> dict:
    return dict(connection.execute(text(SESSION_STATE)).mappings().one())


def test_a_session_starts_in_utc_without_a_statement(zoned_database):
    from sentrix.db.engine import build_engine

    engine = build_engine(zoned_database)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
            assert (
                connection.execute(text("SELECT extract(hour FROM timestamptz '2026-01-01 12:00+00')")).scalar() == 12
            )
            assert session_state(connection)["settings"] == []
    finally:
        engine.dispose()


def test_without_the_startup_parameter_utc_is_still_set_and_the_check_sees_it(zoned_database, monkeypatch):
    # The fallback for a server that did not apply it is correct, and it is the session state the check looks for.
    from sentrix.db import engine as engines

    monkeypatch.setattr(engines, "STARTUP_PARAMS", {})
    engine = engines.build_engine(zoned_database)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
            assert session_state(connection)["settings"] == ["TimeZone"]
    finally:
        engine.dispose()


def test_transactions_and_reads_leave_no_session_state(database_url):
    from sentrix.db.engine import bounded_read, get_engine, get_read_engine, read_scope, reset_engine, session_scope

    reset_engine()
    with session_scope() as session:  # BEGIN carries SET LOCAL statement_timeout (sentrix.db.budget)
        session.execute(text("SELECT count(*) FROM users")).scalar()
        session.execute(text("SELECT id FROM analyses WHERE id = :id"), {"id": "00000000-0000-0000-0000-000000000000"})
    with read_scope() as connection:
        connection.execute(text("SELECT count(*) FROM detections")).scalar()
    bounded_read("SELECT count(*) FROM analyses")  # its statement_timeout travels in the same Query message

    for engine in (get_engine(), get_read_engine()):
        pooled = engine.pool.checkedin()
        assert pooled >= 1
        connections = [engine.connect() for _ in range(pooled)]  # every connection the requests used
        try:
            for connection in connections:
                assert session_state(connection) == {
                    "settings": [],
                    "prepared": 0,
                    "temporary_tables": 0,
                    "advisory_locks": 0,
                }
        finally:
            for connection in connections:
                connection.close()
    reset_engine()


# Statements that leave session state, as they would be written in our SQL (migrations run once, as the owner,
# through the migrate function: they are not scanned).
PINNING = re.compile(
    r"""\bSET\s+(?!LOCAL\b)(?:SESSION\s+)?(?:TIME\s+ZONE\b|\w+\s*(?:=|\bTO\b))"""
    r"""|\bPREPARE\s+\w+\s+(?:AS\b|\()|\bCREATE\s+(?:TEMP|TEMPORARY)\s+TABLE\b|\bLISTEN\s+\w"""
    r"""|\bpg_(?:try_)?advisory_lock(?:_shared)?\s*\(|\bset_config\([^)]*,\s*false\s*\)""",
    re.IGNORECASE,
)
# The SET of an UPDATE (`UPDATE t SET x = …`, `ON CONFLICT … DO UPDATE SET`, `ALTER … SET`) is not a session's.
NOT_SESSION_SET = re.compile(
    r"""\b(?:UPDATE(?:\s+ONLY)?(?:\s+[\w."]+(?:\s+(?:AS\s+)?\w+)?)?|ALTER\s+\w+\s+[\w."]+)\s+SET\b""", re.I
)
# The logged fallback of sentrix.db.engine for a server that did not apply the startup parameter.
ALLOWED = {("layers/shared/sentrix/db/engine.py", "SET TIME ZONE 'UTC'")}


def sql_strings(source: str) -> list[str]:
    """The string literals of a module that can reach the database (docstrings and comments are prose); an
    f-string is one literal with `x` where its values go (`f"UPDATE {table} x SET …"` is an UPDATE)."""
    tree = ast.parse(source)
    prose = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    literals, inside_fstrings = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside_fstrings.update(id(part) for part in node.values)
            literals.append("".join(part.value if isinstance(part, ast.Constant) else "x" for part in node.values))
    literals += [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in prose
        and id(node) not in inside_fstrings
    ]
    return literals


def pinning_statements(root: Path) -> list[tuple[str, str]]:
    """(file, statement) of every string literal under root that would leave session state."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if "migrations/" in relative:
            continue
        for literal in sql_strings(path.read_text(encoding="utf-8")):
            if PINNING.search(NOT_SESSION_SET.sub("UPDATE_SET", literal)):
                found.append((relative, " ".join(literal.split())))
    return found


def test_no_code_path_sends_a_statement_that_pins_the_proxy():
    found = [
        (f"{top}/{path}", line)
        for top in ("functions", "layers", "local")
        for path, line in pinning_statements(REPO / top)
        if (f"{top}/{path}", line) not in ALLOWED
    ]
    assert found == []


@pytest.mark.parametrize(
    "statement",
    [
        "SET search_path TO public",
        "SET SESSION statement_timeout = 5000",
        "PREPARE q AS SELECT 1",
        "CREATE TEMP TABLE t (x int)",
        "LISTEN sites",
        "SELECT pg_advisory_lock(7)",
        "SELECT set_config('TimeZone', 'UTC', false)",
    ],
)
def test_the_scan_finds_each_kind_of_pinning_statement(tmp_path, statement):
    (tmp_path / "dal.py").write_text(f'QUERY = "{statement}"\n', encoding="utf-8")
    assert [path for path, _ in pinning_statements(tmp_path)] == ["dal.py"]


@pytest.mark.parametrize(
    "statement",
    [
        "SET LOCAL statement_timeout = '5s'",
        "SELECT set_config('statement_timeout', '5s', true)",
        "SELECT pg_advisory_xact_lock(7)",
        'ForeignKey("users.id", ondelete="SET NULL")',
        "UPDATE sites SET status = 'open'",
        "UPDATE ONLY sites AS s SET status = 'open'",
        "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET n = t.n + 1",
    ],
)
def test_the_scan_lets_transaction_scoped_statements_through(tmp_path, statement):
    (tmp_path / "dal.py").write_text(f"QUERY = {statement!r}\n", encoding="utf-8")
    assert pinning_statements(tmp_path) == []


def test_an_f_string_is_read_whole(tmp_path):
    (tmp_path / "dal.py").write_text(
        'def q(table):\n    return f"UPDATE {table} x SET n = 1", f"SET {table} = 1"\n', encoding="utf-8"
    )
    assert pinning_statements(tmp_path) == [("dal.py", "SET x = 1")]
