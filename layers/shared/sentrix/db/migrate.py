"""Run Alembic migrations programmatically: used by `make migrate`, the local stack, tests and the deploy hook."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import URL

from sentrix.config import Settings, get_settings
from sentrix.db.engine import database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: URL | str, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    """The Alembic configuration of the project's migrations for a database URL."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # Stored as an object attribute, not an ini option: the URL may hold a password with '%' in it.
    config.attributes["database_url"] = url
    # The application role migration 0009 creates and grants to. A fresh read, not get_settings(): the local
    # stack, the tests and the benchmarks migrate first and configure the functions' environment after, which
    # a settings object cached here would never see.
    config.attributes["app_role"] = Settings().db_app_role
    return config


def upgrade(url: URL | str, revision: str = "head", *, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    """Apply migrations up to `revision` (idempotent: at head it does nothing)."""
    command.upgrade(alembic_config(url, migrations_dir), revision)


def head(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """The newest revision the migrations in `migrations_dir` know (no database needed)."""
    return ScriptDirectory(str(migrations_dir)).get_current_head() or ""


def knows(revision: str, migrations_dir: Path = MIGRATIONS_DIR) -> bool:
    """Whether `revision` is one of the migrations in `migrations_dir` (False for one only newer code has)."""
    # Exact ids only: get_revision would also resolve a unique prefix.
    return revision in {script.revision for script in ScriptDirectory(str(migrations_dir)).walk_revisions()}


def downgrade(url: URL | str, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    command.downgrade(alembic_config(url), revision)


def current(url: URL | str) -> str | None:
    """The database's current migration revision (None before the first)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def main() -> None:
    """`python -m sentrix.db.migrate [upgrade|downgrade|current] [revision]`."""
    parser = argparse.ArgumentParser(description="Apply Sentrix database migrations.")
    parser.add_argument("action", choices=["upgrade", "downgrade", "current"], nargs="?", default="upgrade")
    parser.add_argument("revision", nargs="?", default=None)
    args = parser.parse_args()
    url = database_url(get_settings())
    if args.action == "upgrade":
        upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        downgrade(url, args.revision or "base")
    print(current(url))


if __name__ == "__main__":
    main()
