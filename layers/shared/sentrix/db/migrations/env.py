"""Alembic environment: online migrations only, against the URL handed over by sentrix.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from sentrix.db.models import Base

config = context.config
target_metadata = Base.metadata

# PostGIS owns these; autogenerate must not try to drop them.
_POSTGIS_TABLES = {"spatial_ref_sys"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name in _POSTGIS_TABLES)


def run_migrations_online() -> None:
    url = config.attributes.get("database_url")
    if url is None:
        raise RuntimeError("run migrations through sentrix.db.migrate (it passes the database URL)")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
