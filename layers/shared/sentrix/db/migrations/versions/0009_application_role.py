"""The application role: the functions connect as `sentrix_app`, not as the owner who migrates.

Until now every function connected as the database owner (rds_superuser in RDS): any SQL injection could
drop tables, create roles or read anything. From here on the owner (the master user, through the migrate
function) owns every object and runs the migrations; the functions log in as a role that can only read and
write rows:

- LOGIN, NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS, and NOINHERIT (should someone
  ever grant it a role, it would not silently gain that role's privileges). No password here: migrations
  hold no secrets; the deploy hook sets it from the application secret (sentrix.db.roles).
- CONNECT on the database, USAGE on schema public, EXECUTE on the map rollup's functions (0004, 0005, 0007:
  the triggers call them with the writer's privileges), SELECT on spatial_ref_sys.
- Per table only the statements the functions run (TABLE_GRANTS). No TRUNCATE, REFERENCES or TRIGGER
  anywhere, and no DELETE where rows only ever go by a foreign key's ON DELETE CASCADE, which PostgreSQL
  runs with the table owner's rights. `alembic_version` is read-only (the readiness check reports it).
- ALTER DEFAULT PRIVILEGES: tables and sequences the owner creates in later migrations get DEFAULT_GRANTS;
  a later migration that wants less revokes it.
- CREATE on schema public is revoked from PUBLIC (PostgreSQL 15 does so already; older clusters do not).

Nothing the functions run needs ownership: no TRUNCATE, ANALYZE, REFRESH MATERIALIZED VIEW, advisory lock
or sequence reset; the settings they change per transaction (statement_timeout, work_mem, jit) are
user-settable. A cluster-wide role: it may already exist (another database of the cluster, or an operator
who made it first); then it is brought to these attributes, and a downgrade keeps it while another
database still grants it anything.

The role's name is `app_role` in the Alembic config's attributes (sentrix.db.migrate passes DB_APP_ROLE),
`sentrix_app` when absent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import re

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DEFAULT_ROLE = "sentrix_app"
READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"
# Detections, sessions and settings of a deleted analysis or user go by ON DELETE CASCADE (owner's rights);
# user_settings keeps DELETE because the ORM deletes a user's settings row itself (delete-orphan).
TABLE_GRANTS = {
    "users": READ_WRITE,
    "user_settings": READ_WRITE,
    "refresh_tokens": "SELECT, INSERT, UPDATE",
    "analyses": READ_WRITE,
    "detections": "SELECT, INSERT, UPDATE",
    "rate_limit_hits": READ_WRITE,
    "login_failure_streaks": READ_WRITE,
    # The rollup's triggers run as the writer: they insert, update and delete rollup rows.
    "map_public_cells": READ_WRITE,
    "map_public_points": READ_WRITE,
    "map_public_expiry": READ_WRITE,
    # Made on first use (INSERT … ON CONFLICT DO NOTHING), never changed.
    "deployment_keys": "SELECT, INSERT",
    "alembic_version": "SELECT",
    "spatial_ref_sys": "SELECT",
}
DEFAULT_GRANTS = {"TABLES": READ_WRITE, "SEQUENCES": "USAGE, SELECT"}
FUNCTIONS = (
    "map_public_lock(float8[], float8[])",
    "map_public_refresh(float8[], float8[])",
    "map_public_rebuild()",
    "map_public_add_analyses(uuid[])",
    "map_public_add_detections(uuid[])",
    "map_public_detections_inserted()",
    "map_public_detections_deleted()",
    "map_public_detections_updated()",
    "map_public_analyses_inserted()",
    "map_public_analyses_updated()",
    "map_public_analyses_deleted()",
    "map_public_truncated()",
)
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def app_role() -> str:
    """The role's name, checked: it is rendered into DDL (no parameters there)."""
    name = op.get_context().config.attributes.get("app_role") or DEFAULT_ROLE
    if not _ROLE_NAME.fullmatch(name):
        raise ValueError(f"not a plain role name: {name!r}")
    return name


def upgrade() -> None:
    role = app_role()
    # CREATE ROLE may say NOSUPERUSER and friends without being superuser; ALTER ROLE may not (RDS's master is
    # no superuser), so an existing role gets what a CREATEROLE holder may change, and is refused if it holds
    # more.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
            ELSE
                ALTER ROLE "{role}" LOGIN NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}'
                       AND (rolsuper OR rolreplication OR rolbypassrls)) THEN
                RAISE EXCEPTION 'role {role} is a superuser or bypasses replication or row security';
            END IF;
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO "{role}"', current_database());
        END $$
        """  # noqa: S608 - `role` is checked by app_role()
    )
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    # Exactly TABLE_GRANTS, whatever the role held before (a re-run, or a role made by hand).
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
    for table, privileges in TABLE_GRANTS.items():
        op.execute(f'GRANT {privileges} ON TABLE {table} TO "{role}"')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    for signature in FUNCTIONS:
        op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{role}"')
    for kind, privileges in DEFAULT_GRANTS.items():
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {privileges} ON {kind} TO "{role}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO "{role}"')


def downgrade() -> None:
    role = app_role()
    for kind, privileges in DEFAULT_GRANTS.items():
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE {privileges} ON {kind} FROM "{role}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM "{role}"')
    op.execute(f'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM "{role}"')
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"')
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
    op.execute(f'REVOKE ALL ON SCHEMA public FROM "{role}"')
    # CREATE on schema public is not given back to PUBLIC: that was a weakness, not a feature (and
    # PostgreSQL 15 no longer grants it).
    # The role is the cluster's: dropped only when no other database grants it anything.
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM "{role}"', current_database());
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')
               AND NOT EXISTS (SELECT FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
                               WHERE r.rolname = '{role}') THEN
                DROP ROLE "{role}";
            END IF;
        END $$
        """  # noqa: S608 - `role` is checked by app_role()
    )
