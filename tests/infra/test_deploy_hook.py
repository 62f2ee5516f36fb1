"""The deploy hook against real PostGIS and a real HTTP endpoint standing in for CloudFormation's response URL.

What CloudFormation needs from it: exactly one answer per request, SUCCESS only when the database is at
head, FAILED with the error (never a password) otherwise, and an answer even when the work cannot finish.
And what a rollback needs: SUCCESS without migrating, whichever code (old or new) answers it, because a FAILED
answer during a rollback strands the stack in UPDATE_ROLLBACK_FAILED.

Retries are paced by an injected clock and sleep (`FakeClock`): no test waits for a retry delay or measures time.
"""

from __future__ import annotations

import copy
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text

from sentrix.db import deploy_hook
from sentrix.db.migrate import MIGRATIONS_DIR, alembic_config
from sentrix_local.processes import free_port
from tests.builders import LambdaContext
from tests.infra.cfn_endpoint import ResponseEndpoint
from tests.infra.pg_gate import PostgresGate

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


def stack_in(status: str) -> Callable[[str], str]:
    """CloudFormation's answer to DescribeStacks for the test stack (moto cannot put a stack in a rollback)."""

    def describe(stack_id: str) -> str:
        assert stack_id == STACK_ID
        return status

    return describe


UPDATING = stack_in("UPDATE_IN_PROGRESS")


def cloudformation_unreachable(_stack_id: str) -> str:
    # What a VPC without a NAT gateway or a CloudFormation endpoint gives the lookup.
    raise ConnectionError("Connect timeout on endpoint URL: https://cloudformation.us-east-1.amazonaws.com/")


@dataclass
class FakeClock:
    """A monotonic clock that moves only when the hook sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass(frozen=True)
class FrozenContext:
    """A Lambda context whose remaining time does not run down (the retries' budget is then exact)."""

    remaining_s: float

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


@pytest.fixture
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    """The hook's warnings, as log records (the Powertools logger writes to the stream it was built with)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.WARNING)
    deploy_hook.logger.addHandler(handler)
    yield records
    deploy_hook.logger.removeHandler(handler)


@pytest.fixture
def fresh_database(postgis) -> Iterator[str]:
    """An empty database (no schema, no PostGIS), as a just-created RDS instance."""
    postgis.recreate_database(DATABASE)
    yield postgis.url(DATABASE)


def head_revision(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> str:
    return ScriptDirectory.from_config(alembic_config(url, migrations_dir)).get_current_head()


def migrations_copy(target: Path) -> Path:
    """A copy of the migrations directory (the code of another build)."""
    shutil.copytree(MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def old_code_migrations(tmp_path: Path) -> Path:
    """The previous build's migrations: this build's, without the newest one."""
    migrations = migrations_copy(tmp_path / "old-migrations")
    newest = max((migrations / "versions").glob("[0-9]*.py"))
    newest.unlink()
    return migrations


PLANTED_REVISION = "9999_planted_failure"
PLANTED_MIGRATION = '''"""A migration that fails whenever it runs."""

from alembic import op

revision = "9999_planted_failure"
down_revision = "DOWN_REVISION"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE no_such_table SET nothing = 1")


def downgrade() -> None:
    pass
'''


@pytest.fixture
def broken_migrations(tmp_path: Path) -> Path:
    """This build's migrations plus one that fails if it ever runs (42P01: the table it updates does not exist)."""
    migrations = migrations_copy(tmp_path / "broken-migrations")
    source = PLANTED_MIGRATION.replace("DOWN_REVISION", head_revision("postgresql://unused"))
    (migrations / "versions" / f"{PLANTED_REVISION}.py").write_text(source, encoding="utf-8")
    return migrations


@pytest.fixture(autouse=True)
def no_hung_migrations() -> Iterator[None]:
    """After each test, no migration thread is left running (the deadline runner uses daemon threads)."""
    yield
    for thread in threading.enumerate():
        if thread.name == "migrations":
            thread.join(timeout=10)
    assert [t.name for t in threading.enumerate() if t.name == "migrations" and t.is_alive()] == []


def schema_snapshot(url: str) -> list[tuple]:
    """The public schema's tables and columns, with types and nullability, and the recorded revision."""
    return query(
        url,
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY table_name, column_name",
    ) + query(url, "SELECT version_num FROM alembic_version")


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
        request(cfn_endpoint, "Update", "migrations-1"),
        context,
        database=local_database(fresh_database),
        stack_status=UPDATING,
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
    # (as `postgres`, the one role the local cluster trusts whatever its password: the error is the database's)
    url = make_url(postgis.url("postgres")).set(username="postgres", password=secret, database=secret)

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
    # Given a database nobody listens for, and a Lambda with 3 s to spare beyond the answer margin
    url = f"postgresql+pg8000://sentrix:x@127.0.0.1:{free_port()}/sentrix"
    context = FrozenContext(deploy_hook.ANSWER_MARGIN_S + 3)
    clock = FakeClock()

    # When the hook handles a Create, retrying every second
    body = deploy_hook.handle(
        request(cfn_endpoint, "Create"),
        context,
        database=local_database(url),
        retry_delay_s=1.0,
        clock=clock,
        sleep=clock.sleep,
    )

    # Then it tried at 0, 1 and 2 s (a try at 3 s would end past the budget), then failed with the connection error
    assert clock.sleeps == [1.0, 1.0]
    assert body["Status"] == "FAILED"
    assert "InterfaceError" in body["Reason"]
    assert len(cfn_endpoint.received) == 1


def test_tls_is_demanded_from_the_database_in_the_cloud(cfn_endpoint: ResponseEndpoint, fresh_database: str) -> None:
    # Given the cloud setting (TLS required, as RDS Proxy does) and the local server, which has no TLS; ten
    # seconds of budget (the hook waits for its migration thread in real time: one second was too short on a loaded
    # machine)
    context = FrozenContext(deploy_hook.ANSWER_MARGIN_S + 10)
    clock = FakeClock()

    # When the hook handles a Create
    body = deploy_hook.handle(
        request(cfn_endpoint, "Create"),
        context,
        database=local_database(fresh_database, tls=True),
        retry_delay_s=5.0,  # two tries on the fake clock (0 and 5 s)
        clock=clock,
        sleep=clock.sleep,
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
    context = FrozenContext(deploy_hook.ANSWER_MARGIN_S + 1)
    try:
        # When the next deployment's Update blocks on it
        body = deploy_hook.handle(
            request(cfn_endpoint, "Update", "migrations-1"),
            context,
            database=local_database(fresh_database),
            stack_status=UPDATING,
        )
        # Then CloudFormation heard FAILED while the migration was still blocked (the lock is still held here)
        assert [r.body["Status"] for r in cfn_endpoint.received] == ["SUCCESS", "FAILED"]
    finally:
        locker.rollback()
        locker.close()
        engine.dispose()
    assert "did not finish" in body["Reason"]


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


# --- rollbacks: SUCCESS without migrating, whichever code answers -----------------------------------
def test_rollback_with_the_old_code_leaves_the_newer_database_alone(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, old_code_migrations: Path
) -> None:
    # Given a database the failed update's code migrated to its head, and CloudFormation out of reach (no route)
    deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=local_database(fresh_database)
    )
    before = schema_snapshot(fresh_database)
    newest = head_revision(fresh_database)
    previous = head_revision(fresh_database, old_code_migrations)

    # When the rollback's Update reaches the previous build's code, which lacks the newest migration
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=cloudformation_unreachable,
        migrations_dir=old_code_migrations,
    )

    # Then it answers SUCCESS, naming the revision it does not know and its own, and the schema is untouched
    assert previous != newest
    assert body["Status"] == "SUCCESS"
    assert f"revision {newest}, which this code does not know" in body["Reason"]
    assert f"its newest is {previous}" in body["Reason"]
    assert body["Data"] == {"Revision": newest}
    assert schema_snapshot(fresh_database) == before
    assert [r.body["Status"] for r in cfn_endpoint.received] == ["SUCCESS", "SUCCESS"]


@pytest.mark.parametrize("status", ["UPDATE_ROLLBACK_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"])
def test_rollback_with_the_new_code_runs_no_migration(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, broken_migrations: Path, status: str
) -> None:
    # Given a database at head, and code whose next migration fails (the failure that started the rollback)
    deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=local_database(fresh_database)
    )
    before = schema_snapshot(fresh_database)

    # When the rollback's Update reaches that code while CloudFormation reports the rollback
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=stack_in(status),
        migrations_dir=broken_migrations,
    )

    # Then it answers SUCCESS and ran nothing: the planted migration would have failed the answer
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "migrations-1")
    assert body["Data"] == {"Revision": deploy_hook.REVISION_NOT_CHECKED}
    assert "rolling back" in body["Reason"]
    assert schema_snapshot(fresh_database) == before


def test_a_layer_going_back_is_a_rollback_even_when_cloudformation_cannot_be_asked(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, broken_migrations: Path
) -> None:
    # Given a database at head, code whose next migration fails, and no route to CloudFormation
    deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=local_database(fresh_database)
    )
    before = schema_snapshot(fresh_database)
    event = request(cfn_endpoint, "Update", "migrations-1")
    # When the Update brings back layer version 6 in place of 7 (what CloudFormation sends while rolling back)
    event["ResourceProperties"] = {
        "MigrationsVersion": "arn:aws:lambda:us-east-1:1:layer:sentrix-shared:6#20260101T000000Z"
    }
    event["OldResourceProperties"] = {
        "MigrationsVersion": "arn:aws:lambda:us-east-1:1:layer:sentrix-shared:7#20260102T000000Z"
    }
    body = deploy_hook.handle(
        event,
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=cloudformation_unreachable,
        migrations_dir=broken_migrations,
    )

    # Then it answers SUCCESS without running the planted migration
    assert (body["Status"], body["Data"]) == ("SUCCESS", {"Revision": deploy_hook.REVISION_NOT_CHECKED})
    assert schema_snapshot(fresh_database) == before


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ("arn:aws:lambda:us-east-1:1:layer:sentrix-shared:8#b", "arn:aws:lambda:us-east-1:1:layer:sentrix-shared:7#a"),
        ("arn:aws:lambda:us-east-1:1:layer:sentrix-shared:7#b", "arn:aws:lambda:us-east-1:1:layer:sentrix-shared:7#a"),
        # 10 after 9: compared as numbers, not text
        ("arn:aws:lambda:us-east-1:1:layer:sentrix-shared:10#b", "arn:aws:lambda:us-east-1:1:layer:sentrix-shared:9#a"),
        ("layer:1#b", "something else"),
    ],
)
def test_a_layer_going_forward_or_staying_is_migrated(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, broken_migrations: Path, new: str, old: str
) -> None:
    # Given a database at head and code whose next migration fails
    deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=local_database(fresh_database)
    )
    event = request(cfn_endpoint, "Update", "migrations-1")
    event["ResourceProperties"] = {"MigrationsVersion": new}
    event["OldResourceProperties"] = {"MigrationsVersion": old}

    # When a forward Update arrives (CloudFormation unreachable: the layers alone decide)
    body = deploy_hook.handle(
        event,
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=cloudformation_unreachable,
        migrations_dir=broken_migrations,
    )

    # Then the migration ran (and failed, as planted)
    assert body["Status"] == "FAILED"
    assert "42P01" in body["Reason"]


def test_rollback_answers_without_reaching_the_database(cfn_endpoint: ResponseEndpoint) -> None:
    # Given a rollback, and a database the hook must not need (it may be the reason for the rollback)
    def no_database() -> tuple[str, bool]:
        raise AssertionError("a rollback must not reach the database")

    # When the rollback's Update arrives
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=no_database,
        stack_status=stack_in("UPDATE_ROLLBACK_IN_PROGRESS"),
    )

    # Then CloudFormation hears SUCCESS
    assert [r.body["Status"] for r in cfn_endpoint.received] == ["SUCCESS"]
    assert body["Status"] == "SUCCESS"


def test_a_failing_migration_outside_a_rollback_fails_at_once_without_retrying(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, broken_migrations: Path
) -> None:
    # Given a database at head and code whose next migration fails (42P01, undefined table)
    deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=local_database(fresh_database)
    )
    clock = FakeClock()

    # When a forward Update runs it
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=UPDATING,
        migrations_dir=broken_migrations,
        clock=clock,
        sleep=clock.sleep,
    )

    # Then the deploy fails with PostgreSQL's error, on the first try, and the database stays at the old head
    assert body["Status"] == "FAILED"
    assert "42P01" in body["Reason"]
    assert clock.sleeps == []
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(fresh_database),)]


def test_a_database_newer_than_the_code_outside_a_rollback_is_left_alone_with_a_warning(
    cfn_endpoint: ResponseEndpoint,
    fresh_database: str,
    old_code_migrations: Path,
    warnings_logged: list[logging.LogRecord],
) -> None:
    # Given a database at this build's head, and an operator deploying the previous build
    deploy_hook.handle(
        request(cfn_endpoint, "Create"), LambdaContext("MigrateFunction", 60), database=local_database(fresh_database)
    )
    before = schema_snapshot(fresh_database)
    newest = head_revision(fresh_database)
    previous = head_revision(fresh_database, old_code_migrations)

    # When that build's Update arrives (a forward update as far as CloudFormation knows)
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=UPDATING,
        migrations_dir=old_code_migrations,
    )

    # Then SUCCESS, nothing migrated (never a downgrade), and a warning naming both revisions
    assert body["Status"] == "SUCCESS"
    assert newest in body["Reason"] and previous in body["Reason"]
    assert schema_snapshot(fresh_database) == before
    (warning,) = [r for r in warnings_logged if r.getMessage() == "database ahead of this code"]
    assert (warning.revision, warning.head) == (newest, previous)


def test_a_database_behind_the_code_is_upgraded_not_skipped(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, old_code_migrations: Path
) -> None:
    # Given a database the previous build migrated to its head
    deploy_hook.handle(
        request(cfn_endpoint, "Create"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        migrations_dir=old_code_migrations,
    )
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [
        (head_revision(fresh_database, old_code_migrations),)
    ]

    # When this build's Update arrives
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=UPDATING,
    )

    # Then the database is at this build's head
    assert body["Status"] == "SUCCESS"
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(fresh_database),)]


def test_stack_status_lookup_failing_on_a_forward_update_still_migrates(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, old_code_migrations: Path, warnings_logged
) -> None:
    # Given a database behind the code, and CloudFormation out of reach
    deploy_hook.handle(
        request(cfn_endpoint, "Create"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        migrations_dir=old_code_migrations,
    )

    # When the Update arrives
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        stack_status=cloudformation_unreachable,
    )

    # Then it migrated as on any update (never SUCCESS on an old schema), and said why it could not ask
    assert body["Status"] == "SUCCESS"
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(fresh_database),)]
    assert any("stack status unknown" in r.getMessage() for r in warnings_logged)


# --- the proxy refusing while its target registers -------------------------------------------------
@pytest.mark.parametrize(
    "refusal",
    [
        "08006",  # connection_failure
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "57P03",  # cannot_connect_now (the server is starting up)
        "53300",  # too_many_connections
    ],
)
def test_a_proxy_refusing_during_the_first_deploy_is_waited_for(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, postgis, refusal: str
) -> None:
    # Given a proxy that refuses the first three connections with this SQLSTATE, then reaches the database
    gate = PostgresGate(upstream_port=postgis.port, refusals=[refusal] * 3).start()
    url = make_url(fresh_database).set(port=gate.port).render_as_string(hide_password=False)
    clock = FakeClock()
    try:
        # When the first deploy's Create arrives
        body = deploy_hook.handle(
            request(cfn_endpoint, "Create"),
            FrozenContext(60),
            database=local_database(url),
            retry_delay_s=5.0,
            clock=clock,
            sleep=clock.sleep,
        )
    finally:
        gate.stop()

    # Then the hook waited out each refusal and migrated the database to head
    assert gate.refused == [refusal] * 3
    assert clock.sleeps == [5.0] * 3
    assert body["Status"] == "SUCCESS"
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(fresh_database),)]


def test_a_refusal_that_is_not_about_connecting_is_not_retried(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, postgis
) -> None:
    # Given an endpoint that refuses with an authorization error (28P01: a wrong password does not get right)
    gate = PostgresGate(upstream_port=postgis.port, refusals=["28P01"]).start()
    url = make_url(fresh_database).set(port=gate.port).render_as_string(hide_password=False)
    clock = FakeClock()
    try:
        # When the hook handles a Create
        body = deploy_hook.handle(
            request(cfn_endpoint, "Create"),
            FrozenContext(60),
            database=local_database(url),
            clock=clock,
            sleep=clock.sleep,
        )
    finally:
        gate.stop()

    # Then it failed at once, with the SQLSTATE, and never connected again
    assert body["Status"] == "FAILED"
    assert "28P01" in body["Reason"]
    assert clock.sleeps == []
    assert gate.forwarded == 0


# --- the real stack-status adapter, against moto's CloudFormation ---------------------------------
@pytest.fixture
def cloudformation(moto_server: str, monkeypatch) -> Iterator[Any]:
    """boto3's CloudFormation client on moto's server, with the hook's own client factory pointed there too."""
    import boto3

    from tests.conftest import reset_caches

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    reset_caches()
    yield boto3.client("cloudformation", endpoint_url=moto_server, region_name="us-east-1")
    monkeypatch.undo()
    reset_caches()


def moto_stack(cloudformation: Any, name: str) -> str:
    template = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'
    return cloudformation.create_stack(StackName=name, TemplateBody=template)["StackId"]


def test_the_stack_status_adapter_reads_describe_stacks(cloudformation: Any) -> None:
    from sentrix.adapters.stacks import describe_stack_status

    # Given a stack on moto's CloudFormation
    stack_id = moto_stack(cloudformation, f"sentrix-hook-{free_port()}")

    # When the adapter asks for its status / Then it is what DescribeStacks reports
    assert (
        describe_stack_status(stack_id)
        == cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    )
    assert describe_stack_status(stack_id) == "CREATE_COMPLETE"


def test_an_update_of_a_stack_that_is_not_rolling_back_migrates(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, old_code_migrations: Path, cloudformation: Any
) -> None:
    # Given a database behind the code, and the hook's stack on moto's CloudFormation (not rolling back)
    deploy_hook.handle(
        request(cfn_endpoint, "Create"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        migrations_dir=old_code_migrations,
    )
    event = request(cfn_endpoint, "Update", "migrations-1")
    event["StackId"] = moto_stack(cloudformation, f"sentrix-hook-{free_port()}")

    # When the Update arrives and the hook asks CloudFormation through its real adapter
    body = deploy_hook.handle(event, LambdaContext("MigrateFunction", 60), database=local_database(fresh_database))

    # Then it migrated to head
    assert body["Status"] == "SUCCESS"
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(fresh_database),)]


def test_an_unknown_stack_is_a_failed_lookup_and_the_update_migrates(
    cfn_endpoint: ResponseEndpoint, fresh_database: str, old_code_migrations: Path, cloudformation: Any, warnings_logged
) -> None:
    # Given a database behind the code, and a stack id CloudFormation does not know (DescribeStacks: ValidationError)
    deploy_hook.handle(
        request(cfn_endpoint, "Create"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
        migrations_dir=old_code_migrations,
    )

    # When the Update arrives
    body = deploy_hook.handle(
        request(cfn_endpoint, "Update", "migrations-1"),
        LambdaContext("MigrateFunction", 60),
        database=local_database(fresh_database),
    )

    # Then the lookup's failure was logged and the update migrated as any other
    assert body["Status"] == "SUCCESS"
    assert query(fresh_database, "SELECT version_num FROM alembic_version") == [(head_revision(fresh_database),)]
    assert any("ValidationError" in str(getattr(r, "error", "")) for r in warnings_logged)


# --- the template grants the lookup, on its own stack only --------------------------------------------
def own_stack_status_grants(template: dict[str, Any]) -> list[str]:
    """What is wrong with MigrateFunction's permission to read its stack's status (empty: nothing)."""
    policies = template["Resources"]["MigrateFunction"]["Properties"].get("Policies", [])
    statements = [st for policy in policies if isinstance(policy, dict) for st in policy.get("Statement", [])]
    grants = [st for st in statements if "cloudformation:DescribeStacks" in str(st.get("Action"))]
    if not grants:
        return ["MigrateFunction cannot call cloudformation:DescribeStacks: every rollback would be migrated"]
    return [
        f"DescribeStacks granted on {st.get('Resource')!r}, not on the stack itself (AWS::StackId)"
        for st in grants
        if st.get("Effect") != "Allow" or st.get("Resource") != {"Ref": "AWS::StackId"}
    ]


def test_migrate_function_may_describe_its_own_stack_and_no_other(template: dict[str, Any]) -> None:
    assert own_stack_status_grants(template) == []


@pytest.mark.parametrize(
    ("resource", "expected"),
    [(None, "cannot call cloudformation:DescribeStacks"), ("*", "not on the stack itself")],
)
def test_the_grant_check_fails_on_a_broken_copy(template: dict[str, Any], resource: str | None, expected: str) -> None:
    broken = copy.deepcopy(template)
    policies = broken["Resources"]["MigrateFunction"]["Properties"]["Policies"]
    for policy in [p for p in policies if isinstance(p, dict) and "Statement" in p]:
        for statement in list(policy["Statement"]):
            if statement.get("Action") == "cloudformation:DescribeStacks":
                if resource is None:
                    policy["Statement"].remove(statement)
                else:
                    statement["Resource"] = resource
    (problem,) = own_stack_status_grants(broken)
    assert expected in problem


# --- the Lambda entry point -----------------------------------------------------------------------
def test_lambda_handler_is_a_doorway_to_the_hook(cfn_endpoint: ResponseEndpoint) -> None:
    from sentrix_migrate.handler import handler

    # Given a Delete request / When Lambda calls the function's handler
    result = handler(request(cfn_endpoint, "Delete", "migrations-1"), LambdaContext("MigrateFunction", 60))

    # Then it answered CloudFormation and returns the same document
    assert result == cfn_endpoint.received[0].body
    assert result["Status"] == "SUCCESS"
