"""The expand/contract rule, checked on every migration after the baseline (docs/infra.md, *Migrations, rollbacks
and the expand/contract rule*): a migration's upgrade must leave the previous release's code working, because a
rolled-back deploy keeps the newer schema. A contract step (drop, rename, NOT NULL on an existing column, a type
change, a NOT NULL column without a default) is allowed only in a migration that says why, on a line of its own:

    # contract: <which release stopped using it, and why it is safe now>

What it reads: the `op.*` calls in `upgrade()` and the SQL literals handed to `op.execute` there. SQL kept in a
module-level variable is not seen; the review is the check for that.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sentrix.db.migrate import MIGRATIONS_DIR

# Migrations up to this one predate the rule (and the first deploy); later ones are checked.
BASELINE = 8
CONTRACT_MARKER = re.compile(r"^\s*# contract: \S.{9,}$", re.MULTILINE)
CONTRACT_SQL = re.compile(
    r"\b(DROP\s+(TABLE|COLUMN|VIEW|MATERIALIZED\s+VIEW|TYPE)|RENAME\s+(TO|COLUMN)|SET\s+NOT\s+NULL|ALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE)\b",
    re.IGNORECASE,
)
DROPS = {"drop_column", "drop_table", "rename_table"}


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _sql_literals(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def contract_steps(source: str) -> list[str]:
    """The contract steps in the `upgrade()` of a migration's source, one line each (empty: expand only)."""
    upgrade = next((n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None)
    if upgrade is None:
        return []
    found: list[str] = []
    for call in (n for n in ast.walk(upgrade) if isinstance(n, ast.Call)):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        line = f"line {call.lineno}: {name}"
        if name in DROPS:
            found.append(line)
        elif name == "alter_column":
            if _is_false(_keyword(call, "nullable")):
                found.append(f"{line}(nullable=False)")
            if _keyword(call, "new_column_name") is not None:
                found.append(f"{line}(new_column_name=...)")
            if _keyword(call, "type_") is not None:
                found.append(f"{line}(type_=...)")
        elif name == "add_column":
            columns = [a for a in call.args if isinstance(a, ast.Call)]
            for column in columns:
                if _is_false(_keyword(column, "nullable")) and _keyword(column, "server_default") is None:
                    found.append(f"{line}(NOT NULL without a server default)")
        elif name == "execute":
            found += [f"{line}({m.group(0)})" for s in _sql_literals(call) for m in CONTRACT_SQL.finditer(s)]
    return found


def violations(source: str) -> list[str]:
    """Contract steps in a migration that does not justify them with a `# contract:` line."""
    return [] if CONTRACT_MARKER.search(source) else contract_steps(source)


def checked_migrations() -> list[Path]:
    return [
        path
        for path in sorted((MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
        if int(re.match(r"\d+", path.name).group(0)) > BASELINE
    ]


# --- the rule on this repository's migrations -------------------------------------------------------
@pytest.mark.parametrize("migration", checked_migrations() or [None], ids=lambda p: p.name if p else "none-yet")
def test_every_new_migration_is_expand_only_or_says_why_it_contracts(migration: Path | None) -> None:
    if migration is None:
        pytest.skip(f"no migration after {BASELINE:04d} yet")
    assert violations(migration.read_text(encoding="utf-8")) == []


# --- the checker itself, on migrations written for the purpose ------------------------------------
def migration(upgrade_body: str, *, header: str = "", downgrade_body: str = "pass") -> str:
    return f'''"""A migration."""
{header}
import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
{upgrade_body}


def downgrade() -> None:
    {downgrade_body}
'''


@pytest.mark.parametrize(
    ("body", "step"),
    [
        ('    op.drop_column("analyses", "legacy_score")', "drop_column"),
        ('    op.drop_table("old_things")', "drop_table"),
        ('    op.rename_table("things", "stuff")', "rename_table"),
        ('    op.alter_column("analyses", "notes", nullable=False)', "alter_column(nullable=False)"),
        ('    op.alter_column("analyses", "notes", new_column_name="remarks")', "alter_column(new_column_name=...)"),
        ('    op.alter_column("analyses", "notes", type_=sa.String(40))', "alter_column(type_=...)"),
        (
            '    op.add_column("analyses", sa.Column("kind", sa.Text(), nullable=False))',
            "add_column(NOT NULL without a server default)",
        ),
        ('    op.execute("ALTER TABLE analyses DROP COLUMN legacy_score")', "execute(DROP COLUMN)"),
        ('    op.execute("ALTER TABLE analyses ALTER COLUMN notes SET NOT NULL")', "execute(SET NOT NULL)"),
        ('    op.execute("ALTER TABLE analyses RENAME COLUMN notes TO remarks")', "execute(RENAME COLUMN)"),
        ('    op.execute(sa.text("DROP VIEW public_cells"))', "execute(DROP VIEW)"),
    ],
)
def test_contract_steps_without_a_reason_are_refused(body: str, step: str) -> None:
    (found,) = violations(migration(body))
    assert found == f"line 8: {step}"


@pytest.mark.parametrize(
    "body",
    [
        '    op.add_column("analyses", sa.Column("kind", sa.Text(), nullable=True))',
        '    op.add_column("analyses", sa.Column("kind", sa.Text(), nullable=False, server_default="x"))',
        '    op.create_table("things", sa.Column("id", sa.Integer(), nullable=False))',
        '    op.alter_column("analyses", "notes", nullable=True)',
        '    op.create_index("ix_things", "things", ["id"])',
        '    op.execute("CREATE VIEW v AS SELECT 1")',
        "    op.execute(\"UPDATE analyses SET kind = 'photo' WHERE kind IS NULL\")",
    ],
)
def test_expand_steps_pass(body: str) -> None:
    assert violations(migration(body)) == []


def test_a_contract_step_with_its_reason_passes() -> None:
    source = migration(
        '    op.drop_column("analyses", "legacy_score")',
        header="# contract: legacy_score unread since release 2027.02 (migration 0012 stopped writing it)\n",
    )
    assert violations(source) == []


def test_a_bare_marker_is_no_reason() -> None:
    source = migration('    op.drop_column("analyses", "legacy_score")', header="# contract: ok\n")
    assert violations(source) == ["line 9: drop_column"]


def test_downgrades_may_drop_what_their_upgrade_added() -> None:
    source = migration(
        '    op.add_column("analyses", sa.Column("kind", sa.Text(), nullable=True))',
        downgrade_body='op.drop_column("analyses", "kind")',
    )
    assert violations(source) == []
