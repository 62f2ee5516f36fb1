"""The application role (migration 0009): what the functions log in as can read and write rows, nothing more.

A SQL injection in any function runs as this role: it must not change the schema, grant itself anything or
become another role, and every refusal is PostgreSQL's insufficient_privilege (SQLSTATE 42501), not some
other error that merely happens to be raised.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from sentrix.db import migrate
from sentrix.errors import sqlstate
from sentrix_local.postgres import APP_PASSWORD, APP_USER
from tests.builders import LambdaContext
from tests.infra.cfn_endpoint import ResponseEndpoint

pytestmark = pytest.mark.integration

INSUFFICIENT_PRIVILEGE = "42501"
SCRATCH = "sentrix_app_role"


def _scalar(url: str, sql: str, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _refused_state(url: str, sql: str) -> str | None:
    """The SQLSTATE `sql` fails with as the role of `url` (None if it succeeds: then it is rolled back)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            try:
                connection.execute(text(sql))
            except DBAPIError as exc:
                return sqlstate(exc)
            finally:
                connection.rollback()
        return None
    finally:
        engine.dispose()


# --- The role as the functions see it ---------------------------------------------------------------------
def test_the_application_logs_in_as_the_app_role_which_holds_no_special_attribute(database_url):
    # Given the URL the application gets (DATABASE_URL)
    # When it asks who it is
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            who = connection.execute(text("SELECT current_user")).scalar_one()
            attributes = connection.execute(
                text(
                    "SELECT rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolreplication, rolbypassrls, "
                    "rolcanlogin FROM pg_roles WHERE rolname = current_user"
                )
            ).one()
    finally:
        engine.dispose()

    # Then it is sentrix_app: no superuser, no role or database creation, no inheritance; login only
    assert who == "sentrix_app"
    assert tuple(attributes) == (False, False, False, False, False, False, True)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE stolen (n int)",
        "CREATE TABLE public.stolen (n int)",
        "ALTER TABLE analyses ADD COLUMN stolen int",
        "ALTER TABLE analyses DISABLE TRIGGER ALL",
        "DROP TABLE analyses",
        "DROP TABLE map_public_points",
        "TRUNCATE analyses",
        "TRUNCATE rate_limit_hits",
        "CREATE INDEX stolen ON analyses (id)",
        "CREATE EXTENSION pg_trgm",  # a trusted extension: still needs CREATE on the database
        "CREATE EXTENSION dblink",
        "CREATE FUNCTION public.stolen() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE OR REPLACE FUNCTION map_public_lock(xs float8[], ys float8[]) RETURNS void LANGUAGE sql AS ''",
        "CREATE SCHEMA stolen",
        "DROP FUNCTION map_public_rebuild()",
    ],
)
def test_ddl_is_refused_as_insufficient_privilege(database_url, statement):
    # Given the application's connection
    # When it tries to change the schema
    state = _refused_state(database_url, statement)
    # Then PostgreSQL refuses it for want of privilege
    assert state == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE ROLE stolen LOGIN",
        "ALTER ROLE sentrix_app SUPERUSER",
        "ALTER ROLE sentrix_app CREATEROLE",
        "ALTER ROLE sentrix_app BYPASSRLS",
        "ALTER ROLE sentrix WITH PASSWORD 'stolen'",
        "GRANT sentrix TO sentrix_app",
        "GRANT pg_read_server_files TO sentrix_app",
        "GRANT pg_write_all_data TO sentrix_app",
        "SET ROLE sentrix",
        "SET SESSION AUTHORIZATION sentrix",
        "DROP ROLE sentrix",
    ],
)
def test_role_changes_are_refused_as_insufficient_privilege(database_url, statement):
    # When the application's connection tries to gain, grant or become a role
    state = _refused_state(database_url, statement)
    # Then PostgreSQL refuses for want of privilege
    assert state == INSUFFICIENT_PRIVILEGE


def test_granting_itself_table_privileges_changes_nothing(database_url):
    # Given the application's connection, which holds no grant option
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            # When it grants itself everything on analyses (PostgreSQL only warns: nothing was grantable)
            connection.execute(text("GRANT ALL ON analyses, detections TO sentrix_app"))
            # Then it still may not TRUNCATE analyses nor DELETE detections
            held = connection.execute(
                text("SELECT has_table_privilege('analyses', 'TRUNCATE'), has_table_privilege('detections', 'DELETE')")
            ).one()
    finally:
        engine.dispose()
    assert tuple(held) == (False, False)


# Written out, not read from the migration: what the functions need, table by table.
EXPECTED_PRIVILEGES = {
    "users": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "user_settings": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "refresh_tokens": {"SELECT", "INSERT", "UPDATE"},
    "analyses": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "detections": {"SELECT", "INSERT", "UPDATE"},
    "rate_limit_hits": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "login_failure_streaks": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_public_cells": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_public_points": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_public_expiry": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_public_people": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_public_active": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    # The public map-stats rollup (0020): its triggers run as the writer.
    "map_stats_analyses": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_stats_reporters": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_stats_detections": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_stats_found": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "map_stats_zones": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "deployment_keys": {"SELECT", "INSERT"},
    # Sites (0012): never deleted by the functions; the timeline is only ever added to.
    "sites": {"SELECT", "INSERT", "UPDATE"},
    "site_actions": {"SELECT", "INSERT"},
    # Territories (0013): an import creates or updates them; the functions never delete one.
    "territories": {"SELECT", "INSERT", "UPDATE"},
    # Officials' territories (0014): a new set replaces the old one (delete, insert), never updated in place.
    "official_territories": {"SELECT", "INSERT", "DELETE"},
    # Field visits (0016): records of what a team saw, never changed or deleted by the functions.
    "visits": {"SELECT", "INSERT"},
    "visit_containers": {"SELECT", "INSERT"},
    "visit_sites": {"SELECT", "INSERT"},
    "visit_analyses": {"SELECT", "INSERT"},
    # Cluster alerts (0015): an alert grows and closes, a site leaves it on a split; the timeline and the levels'
    # history are only ever added to; nothing is deleted by the functions.
    "alerts": {"SELECT", "INSERT", "UPDATE"},
    "alert_sites": {"SELECT", "INSERT", "UPDATE"},
    "alert_events": {"SELECT", "INSERT"},
    "alert_level_changes": {"SELECT", "INSERT"},
    # Alert subscriptions (0017): the SNS subscription's ARN is written after the insert; deliveries move on but
    # go only with their subscription (cascade); attempts are only ever added.
    "alert_subscriptions": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "subscription_deliveries": {"SELECT", "INSERT", "UPDATE"},
    "subscription_delivery_attempts": {"SELECT", "INSERT"},
    "alembic_version": {"SELECT"},
    "spatial_ref_sys": {"SELECT"},
}
ALL_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def _privileges(url: str, role: str = "sentrix_app") -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT c.relname, p.privilege FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "CROSS JOIN unnest(CAST(:privileges AS text[])) AS p (privilege) "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') "
                    "AND has_table_privilege(:role, c.oid, p.privilege)"
                ),
                {"privileges": list(ALL_TABLE_PRIVILEGES), "role": role},
            ).all()
    finally:
        engine.dispose()
    found: dict[str, set[str]] = {}
    for table, privilege in rows:
        found.setdefault(table, set()).add(privilege)
    # PostGIS grants its catalogue views to PUBLIC: not ours to take away.
    for view in ("geometry_columns", "geography_columns"):
        found.pop(view, None)
    return found


def test_the_role_holds_exactly_the_table_privileges_the_functions_need(database_url):
    assert _privileges(database_url) == EXPECTED_PRIVILEGES


def test_reads_and_writes_the_functions_do_succeed(clean_db):
    from sentrix.db.engine import session_scope
    from sentrix.db.models import User, UserSettings
    from tests.support.seed import make_analysis, make_user

    # Given, as the application role, a user with settings and a located analysis with two detections
    with session_scope() as session:
        user = make_user(session)
        session.add(UserSettings(user_id=user.id, settings={"language": "es"}))
        analysis = make_analysis(session, user=user, latitude=-26.81, longitude=-65.22, detections=[0, 1]).id
    # When it updates, counts and deletes as the functions do (triggers keep the map rollup on the way)
    with session_scope() as session:
        session.execute(
            text("UPDATE detections SET validation_status = 'validated_negative' WHERE analysis_id = :id"),
            {"id": analysis},
        )
        session.execute(text("INSERT INTO rate_limit_hits (bucket, window_start, hits) VALUES ('t', now(), 1)"))
        session.execute(text("DELETE FROM rate_limit_hits WHERE bucket = 't'"))
        session.execute(
            text("INSERT INTO deployment_keys (name, value) VALUES ('t', 'v') ON CONFLICT (name) DO NOTHING")
        )
        cells = session.execute(text("SELECT count(*) FROM map_public_cells")).scalar_one()
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        srid = session.execute(text("SELECT srid FROM spatial_ref_sys WHERE srid = 4326")).scalar_one()
    with session_scope() as session:
        session.execute(text("DELETE FROM analyses WHERE id = :id"), {"id": analysis})  # detections cascade
        session.delete(session.get(User, user.id))  # settings (ORM) and sessions (cascade) go with it
    with session_scope() as session:
        left = session.execute(
            text("SELECT (SELECT count(*) FROM detections) + (SELECT count(*) FROM users)")
        ).scalar_one()

    # Then every statement went through and the cascades removed the children
    assert cells == 1
    assert revision == migrate.current(clean_db)
    assert srid == 4326
    assert left == 0


# --- The migration itself ---------------------------------------------------------------------------------
@pytest.fixture
def scratch(postgis, database_url) -> Iterator[tuple[str, str]]:
    """A database of its own at head (owner URL, app URL); the role exists already (the cluster's)."""
    postgis.recreate_database(SCRATCH)
    owner = postgis.url(SCRATCH)
    migrate.upgrade(owner)
    yield owner, postgis.app_url(SCRATCH)


def test_running_the_migration_again_is_harmless_and_restores_exactly_its_grants(scratch):
    owner, _app = scratch
    granted = _privileges(owner)
    # Given a grant added by hand beyond the migration's
    engine = create_engine(owner)
    try:
        with engine.begin() as connection:
            connection.execute(text("GRANT TRUNCATE, DELETE ON detections TO sentrix_app"))
    finally:
        engine.dispose()

    # When 0009 runs again over itself (the later migrations taken back, stamped back to 0008, then upgraded)
    migrate.downgrade(owner, "0009")
    command.stamp(migrate.alembic_config(owner), "0008")
    migrate.upgrade(owner)

    # Then it succeeds, and the role holds exactly what the migrations grant
    assert migrate.current(owner) == migrate.head()
    assert _privileges(owner) == granted == EXPECTED_PRIVILEGES


def test_a_table_a_later_migration_creates_is_usable_by_the_app_role(scratch):
    owner, app = scratch
    # Given a table (with a sequence) the owner creates after 0009, as a later migration would
    engine = create_engine(owner)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE later_reports (id serial PRIMARY KEY, note text)"))
    finally:
        engine.dispose()

    # When the application role writes, reads, changes and deletes its rows
    engine = create_engine(app)
    try:
        with engine.begin() as connection:
            first = connection.execute(text("INSERT INTO later_reports (note) VALUES ('a') RETURNING id")).scalar()
            connection.execute(text("UPDATE later_reports SET note = 'b' WHERE id = :id"), {"id": first})
            note = connection.execute(text("SELECT note FROM later_reports")).scalar()
            connection.execute(text("DELETE FROM later_reports"))
    finally:
        engine.dispose()

    # Then all of it worked (the default privileges), and still no DDL on it
    assert (first, note) == (1, "b")
    assert _refused_state(app, "DROP TABLE later_reports") == INSUFFICIENT_PRIVILEGE
    assert _refused_state(app, "TRUNCATE later_reports") == INSUFFICIENT_PRIVILEGE


def test_downgrade_takes_back_every_grant_in_the_database(scratch):
    owner, _app = scratch
    # When 0009 is downgraded
    migrate.downgrade(owner, "0008")
    # Then the role holds nothing here any more but what PUBLIC holds (PostGIS grants spatial_ref_sys to it),
    # and nothing names it in the database's, the schema's or the default ACLs
    assert _privileges(owner) == {"spatial_ref_sys": {"SELECT"}}
    acls = _scalar(
        owner,
        "SELECT concat_ws(' ', (SELECT datacl::text FROM pg_database WHERE datname = current_database()), "
        "(SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'), "
        "(SELECT string_agg(defaclacl::text, ' ') FROM pg_default_acl))",
    )
    assert "sentrix_app" not in acls
    # The role itself stays: the suite's database still grants to it
    assert _scalar(owner, "SELECT count(*) FROM pg_roles WHERE rolname = 'sentrix_app'") == 1


def test_the_role_name_comes_from_db_app_role(postgis, database_url, monkeypatch):
    from sentrix.config import get_settings

    # Given DB_APP_ROLE naming another role
    monkeypatch.setenv("DB_APP_ROLE", "sentrix_app_other")
    get_settings.cache_clear()
    postgis.recreate_database(SCRATCH)
    owner = postgis.url(SCRATCH)
    try:
        # When the migrations run and are taken back
        migrate.upgrade(owner)
        granted = _privileges(owner, "sentrix_app_other")
        migrate.downgrade(owner, "0008")
        dropped = _scalar(owner, "SELECT count(*) FROM pg_roles WHERE rolname = 'sentrix_app_other'")
    finally:
        monkeypatch.delenv("DB_APP_ROLE")
        get_settings.cache_clear()

    # Then that role got the grants, and, granted nothing anywhere else, was dropped by the downgrade
    assert granted == EXPECTED_PRIVILEGES
    assert dropped == 0


# --- The deploy hook sets the password from the app secret --------------------------------------------------
@pytest.fixture
def cfn_endpoint() -> Iterator[ResponseEndpoint]:
    """CloudFormation's response URL, as a local HTTP server recording what the deploy hook PUTs."""
    endpoint = ResponseEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def app_secret(moto_server, monkeypatch) -> Iterator:
    """An application secret on moto's server, named by DB_APP_SECRET_ARN for the hook."""
    import boto3

    from tests.conftest import reset_caches

    client = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")

    def make(username: str, password: str) -> str:
        arn = client.create_secret(
            Name=f"sentrix-test/database/app-{uuid.uuid4().hex[:8]}",
            SecretString=json.dumps({"username": username, "password": password, "dbname": SCRATCH}),
        )["ARN"]
        monkeypatch.setenv("DB_APP_SECRET_ARN", arn)
        reset_caches()
        return arn

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    yield make
    monkeypatch.delenv("DB_APP_SECRET_ARN", raising=False)
    monkeypatch.undo()
    reset_caches()


def _request(endpoint: ResponseEndpoint) -> dict:
    return {
        "RequestType": "Update",
        "ResponseURL": endpoint.url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/sentrix-test/0a1b2c3d",
        "RequestId": "req-update",
        "LogicalResourceId": "DatabaseMigrations",
        "PhysicalResourceId": "sentrix-database-migrations",
        "ResourceType": "Custom::DatabaseMigrations",
        "ResourceProperties": {"MigrationsVersion": "layer:1#20260101T000000Z"},
    }


def _logs_in(url: str) -> bool:
    try:
        return _scalar(url, "SELECT current_user") is not None
    except DBAPIError:
        return False


def test_the_deploy_hook_gives_the_app_role_the_secrets_password(postgis, database_url, cfn_endpoint, app_secret):
    from sentrix.db import deploy_hook

    postgis.recreate_database(SCRATCH)
    owner = postgis.url(SCRATCH)
    app = make_url(postgis.app_url(SCRATCH))
    try:
        # Given an app secret with a new password (a rotation)
        app_secret(APP_USER, "Rotated0Password1")
        # When the hook runs
        body = deploy_hook.handle(
            _request(cfn_endpoint), LambdaContext("MigrateFunction", 60), database=lambda: (owner, False)
        )
        # Then it succeeded, and the role logs in with the new password, no longer with the old one
        assert body["Status"] == "SUCCESS"
        assert _logs_in(app.set(password="Rotated0Password1").render_as_string(hide_password=False))
        assert not _logs_in(app.set(password=APP_PASSWORD).render_as_string(hide_password=False))
        # And the server stores a SCRAM verifier, never the password
        stored = _scalar(owner, "SELECT rolpassword FROM pg_authid WHERE rolname = 'sentrix_app'")
        assert stored.startswith("SCRAM-SHA-256$4096:") and "Rotated0Password1" not in stored
    finally:
        postgis.set_app_password("sentrix_test")  # the rest of the suite logs in with the local password


def test_a_secret_for_another_role_fails_the_deploy_without_revealing_its_password(
    postgis, database_url, cfn_endpoint, app_secret
):
    from sentrix.db import deploy_hook

    postgis.recreate_database(SCRATCH)
    owner = postgis.url(SCRATCH)
    # Given an app secret that names a role the migrations did not create
    app_secret("someone_else", "Leaky0Password1")
    # When the hook runs
    body = deploy_hook.handle(
        _request(cfn_endpoint), LambdaContext("MigrateFunction", 60), database=lambda: (owner, False)
    )
    # Then the deploy fails, saying why, and the password appears nowhere in the answer
    assert body["Status"] == "FAILED"
    assert "someone_else" in body["Reason"] and "DB_APP_ROLE" in body["Reason"]
    assert [r.body["Status"] for r in cfn_endpoint.received] == ["FAILED"]
    assert "Leaky0Password1" not in json.dumps([r.body for r in cfn_endpoint.received])


def test_a_refused_password_change_says_why_without_the_verifier(postgis, database_url):
    from sentrix.db.roles import RoleCredentials, RolePasswordError, set_password

    # Given credentials for a role that does not exist
    # When the owner tries to set its password
    with pytest.raises(RolePasswordError) as refused:
        set_password(postgis.url("sentrix_test"), RoleCredentials("sentrix_nobody", "Gh7TqP2wLm9x"))
    # Then the error names the role and PostgreSQL's SQLSTATE (42704 undefined_object), and neither the
    # password nor its verifier (SQLAlchemy would have quoted the statement)
    message = str(refused.value)
    assert "sentrix_nobody" in message and "42704" in message
    assert "Gh7TqP2wLm9x" not in message and "SCRAM" not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
