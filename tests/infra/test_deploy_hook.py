"""The deploy hook against real PostGIS and a real HTTP endpoint standing in for CloudFormation's response URL.

What CloudFormation needs from it: exactly one answer per request, SUCCESS only when the database is at
head, FAILED with the error (never a password) otherwise, and an answer even when the work cannot finish.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text

from sentrix.db import deploy_hook
from sentrix.db.migrate import alembic_config
from sentrix_local.processes import free_port
from tests.builders import LambdaContext
from tests.infra.cfn_endpoint import ResponseEndpoint

DATABASE = "sentrix_deploy_hook"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/sentrix-test/0a1b2c3d"


def request(endpoint: ResponseEndpoint, request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ResponseURL": endpoint.url,
        "StackId": STACK_ID,
        "RequestId": f"req-{request_type.lower()}",
        "LogicalResourceId": "DatabaseMigrations",
        "ResourceType": "Custom::DatabaseMigrations",
        "ResourceProperties": {"MigrationsVersion": "layer:1#20260101T000000Z"},
    }
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


def local_database(url: str, *, tls: bool = False) -> Callable[[], tuple[str, bool]]:
    return lambda: (url, tls)


@pytest.fixture
def fresh_database(postgis) -> Iterator[str]:
    """An empty database (no schema, no PostGIS), as a just-created RDS instance."""
    postgis.recreate_database(DATABASE)
    yield postgis.url(DATABASE)


def head_revision(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


# --- Create / Update / Delete ----------------------------------------------------------------------
def test_create_migrates_a_fresh_database_and_answers_success(
    cfn_endpoint: ResponseEndpoint, fresh_database: str
) -> None:
    # Given a Create request for an empty database
    event = request(cfn_endpoint, "Create")

    # When the hook handles it
    body = deploy_hook.handle(event, LambdaContext("MigrateFunction", 60), database=local_database(fresh_database))

    # Then the database is at head, with PostGIS, and CloudFormation got one SUCCESS document about this request
    head = head_revision(fresh_database)
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head,)]
    assert query(fresh_database, "SELECT extname FROM pg_extension WHERE extname = 'postgis'") == [("postgis",)]
    (received,) = cfn_endpoint.received
    assert received.body == body
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"Revision": head}
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        STACK_ID,
        "req-create",
        "DatabaseMigrations",
    )
    assert body["PhysicalResourceId"] == deploy_hook.DEFAULT_PHYSICAL_ID


def test_answer_is_a_put_with_the_empty_content_type_the_presigned_url_was_signed_for(
    cfn_endpoint: ResponseEndpoint,
) -> None:
    # Given any request / When the hook answers it
    deploy_hook.handle(request(cfn_endpoint, "Delete", "migrations-1"), LambdaContext("MigrateFunction", 60))

    # Then the PUT went to the presigned path with an empty Content-Type and a body under 4096 bytes
    (received,) = cfn_endpoint.received
    assert received.path.startswith("/cloudformation-response/stack/request?X-Amz-Signature=")
    assert received.headers.get("Content-Type") == ""
    assert int(received.headers["Content-Length"]) < 4096


def test_update_at_head_is_a_successful_no_op_keeping_the_physical_id(
    cfn_endpoint: ResponseEndpoint, fresh_database: str
) -> None:
    # Given a database the Create already migrated
    context = LambdaContext("MigrateFunction", 60)
    deploy_hook.handle(request(cfn_endpoint, "Create"), context, database=local_database(fresh_database))
    tables_before = query(fresh_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")

    # When the next deployment sends an Update
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"), context, database=local_database(fresh_database)
    )

    # Then it succeeds without changing anything, under the same physical id (no replacement, no Delete)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "migrations-1")
    assert body["Data"] == {"Revision": head_revision(fresh_database)}
    assert query(fresh_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == tables_before
    assert [r.body["Status"] for r in cfn_endpoint.received] == ["SUCCESS", "SUCCESS"]


def test_delete_answers_success_without_touching_the_database(cfn_endpoint: ResponseEndpoint) -> None:
    # Given a Delete (stack deletion, or the rollback of a failed Create)
    def no_database() -> tuple[str, bool]:
        raise AssertionError("Delete must not reach the database")

    # When the hook handles it
    body = deploy_hook.handle(
        request(cfn_endpoint, "Delete", "migrations-1"), LambdaContext("MigrateFunction", 60), database=no_database
    )

    # Then it answers SUCCESS for the same physical resource
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "migrations-1")
    assert [r.body["Status"] for r in cfn_endpoint.received] == ["SUCCESS"]


# --- failures reach CloudFormation ----------------------------------------------------------------
def test_migration_error_fails_the_deploy_with_the_error_and_without_the_password(
    cfn_endpoint: ResponseEndpoint, postgis
) -> None:
    # Given credentials whose password also names the database, which does not exist (the error quotes it)
    secret = "Xk29pQwLm5"
    url = make_url(postgis.url("postgres")).set(password=secret, database=secret)

    # When the hook tries to migrate it
    body = deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=lambda: (url, False)
    )

    # Then CloudFormation gets FAILED with PostgreSQL's reason, the password masked
    (received,) = cfn_endpoint.received
    assert received.body["Status"] == "FAILED"
    assert "does not exist" in body["Reason"]
    assert '"***"' in body["Reason"]
    assert secret not in body["Reason"]


def test_unreachable_database_is_retried_until_the_budget_ends_then_fails(cfn_endpoint: ResponseEndpoint) -> None:
    # Given a database nobody listens for, and a Lambda with 2 s to spare beyond the answer margin
    url = f"postgresql+pg8000://sentrix:x@127.0.0.1:{free_port()}/sentrix"
    context = LambdaContext("MigrateFunction", int(deploy_hook.ANSWER_MARGIN_S) + 2)
    started = time.monotonic()

    # When the hook handles a Create
    body = deploy_hook.handle(request(cfn_endpoint, "Create"), context, database=local_database(url), retry_delay_s=0.2)

    # Then it kept trying for about its budget, then failed the deploy with the connection error
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 5.0
    assert body["Status"] == "FAILED"
    assert "InterfaceError" in body["Reason"]
    assert len(cfn_endpoint.received) == 1


def test_tls_is_demanded_from_the_database_in_the_cloud(cfn_endpoint: ResponseEndpoint, fresh_database: str) -> None:
    # Given the cloud setting (TLS required, as RDS Proxy does) and the local server, which has no TLS
    context = LambdaContext("MigrateFunction", int(deploy_hook.ANSWER_MARGIN_S) + 1)

    # When the hook handles a Create
    body = deploy_hook.handle(
        request(cfn_endpoint, "Create"), context, database=local_database(fresh_database, tls=True), retry_delay_s=0.2
    )

    # Then it refused to talk in plain text, and nothing was migrated
    assert body["Status"] == "FAILED"
    assert "SSL" in body["Reason"]
    assert query(fresh_database, "SELECT to_regclass('public.alembic_version')") == [(None,)]


def test_a_migration_that_would_outlive_the_lambda_is_answered_in_time(
    cfn_endpoint: ResponseEndpoint, fresh_database: str
) -> None:
    # Given a migrated database whose version table another session holds locked
    deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=local_database(fresh_database)
    )
    engine = create_engine(fresh_database)
    locker = engine.connect()
    locker.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
    context = LambdaContext("MigrateFunction", int(deploy_hook.ANSWER_MARGIN_S) + 1)
    try:
        # When the next deployment's Update blocks on it
        started = time.monotonic()
        body = deploy_hook.handle(
            request(cfn_endpoint, "Update", "migrations-1"), context, database=local_database(fresh_database)
        )
        elapsed = time.monotonic() - started
    finally:
        locker.rollback()
        locker.close()
        engine.dispose()

    # Then CloudFormation heard FAILED before the Lambda would have been cut off
    assert body["Status"] == "FAILED"
    assert "did not finish" in body["Reason"]
    assert elapsed < 3.0
    assert [r.body["Status"] for r in cfn_endpoint.received] == ["SUCCESS", "FAILED"]


def test_an_unexpected_error_still_answers(cfn_endpoint: ResponseEndpoint) -> None:
    # Given a broken configuration (here: the secret lacks a key)
    def broken() -> tuple[str, bool]:
        raise KeyError("password")

    # When the hook handles a Create
    body = deploy_hook.handle(request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=broken)

    # Then CloudFormation is told, with the error's type
    assert body["Status"] == "FAILED"
    assert "KeyError" in body["Reason"]
    assert len(cfn_endpoint.received) == 1


def test_a_refused_answer_is_sent_again(cfn_endpoint: ResponseEndpoint) -> None:
    # Given a response URL that fails once (S3 hiccup)
    cfn_endpoint.statuses = [500]

    # When the hook answers a Delete
    deploy_hook.handle(request(cfn_endpoint, "Delete", "migrations-1"), LambdaContext("MigrateFunction", 60))

    # Then the same document was PUT again, and accepted
    assert len(cfn_endpoint.received) == 2
    assert cfn_endpoint.received[0].body == cfn_endpoint.received[1].body


def test_long_reasons_are_cut_to_fit_cloudformations_limit(cfn_endpoint: ResponseEndpoint) -> None:
    def verbose() -> tuple[str, bool]:
        raise RuntimeError("x" * 10_000)

    body = deploy_hook.handle(request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=verbose)

    assert len(body["Reason"]) == deploy_hook.REASON_LIMIT
    assert body["Reason"].endswith("...")


def test_connection_options_apply_only_while_the_hook_runs(fresh_database: str) -> None:
    # Given TLS demanded inside the block / Then a connection opened after it is plain again (and works)
    with deploy_hook.connection_options(tls=True):
        pass
    assert query(fresh_database, "SELECT 1") == [(1,)]


# --- the Lambda entry point -----------------------------------------------------------------------
def test_lambda_handler_is_a_doorway_to_the_hook(cfn_endpoint: ResponseEndpoint) -> None:
    from sentrix_migrate.handler import handler

    # Given a Delete request / When Lambda calls the function's handler
    result = handler(request(cfn_endpoint, "Delete", "migrations-1"), LambdaContext("MigrateFunction", 60))

    # Then it answered CloudFormation and returns the same document
    assert result == cfn_endpoint.received[0].body
    assert result["Status"] == "SUCCESS"


def test_hook_threads_do_not_leak_between_tests() -> None:
    # The deadline runner uses daemon threads; any still alive here would be a hung migration.
    time.sleep(0.1)
    assert [t.name for t in threading.enumerate() if t.name == "migrations" and t.is_alive()] == []
