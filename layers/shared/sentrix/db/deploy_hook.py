"""The deploy hook: a CloudFormation custom resource that applies the Alembic migrations on create and update.

CloudFormation invokes the migrate function with a custom-resource request and then waits for a JSON document
PUT to the request's presigned `ResponseURL` (the cfn-response protocol, spoken here with urllib: no extra
dependency). SUCCESS lets the deployment go on; FAILED, with the error as the reason, fails and rolls it back.
Every path answers, even an unexpected exception or a migration about to outlive the Lambda timeout, because
CloudFormation would otherwise wait for an answer until its own timeout.

- Create/Update: `sentrix.db.migrate.upgrade(url)` to head. Idempotent: at head it does nothing, so it runs on
  every deployment (the resource's properties change each time, see MigrationsVersion in the template).
  Never a downgrade, and never a step the hook cannot take safely (docs/infra.md, *Migrations, rollbacks and the
  expand/contract rule*):
  - an Update while the stack rolls back (`*_ROLLBACK_IN_PROGRESS`, asked of CloudFormation: the request does not
    say) answers SUCCESS at once. The schema stays ahead, which the expand/contract rule keeps harmless; migrating
    again would only re-run the migration that failed, and a FAILED answer here strands the stack in
    UPDATE_ROLLBACK_FAILED.
  - a database at a revision this code does not know (newer code migrated it: old code during a rollback, or an
    older build deployed on purpose) is left as it is, with SUCCESS, a warning and both revisions in the reason.
  - connection-class failures (a proxy whose target is still registering, a server starting up or full) are
    retried until the budget ends; any other error (a migration that fails) answers FAILED at once.
- After the migrations, the stack parameter BootstrapAdminEmail (if set) promotes that existing account to admin
  (`sentrix.db.deploy_first_admin`); whatever happens there is reported, never a failure.
- Delete: nothing. Migrations are forward-only; dropping the schema is not a stack deletion's business.

In the cloud the database sits behind RDS Proxy with TLS required. Alembic's environment builds its own engine
from the URL, so TLS and a connect timeout are added to every new connection while the hook runs (an engine
`do_connect` listener) instead of through the URL, which pg8000 cannot take them from.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import URL, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sentrix.adapters.stacks import StackStatus, describe_stack_status
from sentrix.db import deploy_first_admin, migrate
from sentrix.db.engine import UNAVAILABLE_SQLSTATES
from sentrix.db.migrate import MIGRATIONS_DIR
from sentrix.errors import sqlstate
from sentrix.observability import logger

SUCCESS = "SUCCESS"
FAILED = "FAILED"
# The whole response must stay under 4096 bytes; the reason is the only part that can grow.
REASON_LIMIT = 1500
# Time kept back from the Lambda timeout to answer CloudFormation after giving up on the migration.
ANSWER_MARGIN_S = 15.0
CONNECT_TIMEOUT_S = 10
RETRY_DELAY_S = 5.0
DEFAULT_PHYSICAL_ID = "sentrix-database-migrations"
# What the Revision attribute says when the hook did not look at the database (a rollback).
REVISION_NOT_CHECKED = "not checked (stack rolling back)"


@dataclass(frozen=True)
class CfnRequest:
    """The fields of a custom-resource request the hook uses."""

    request_type: str
    response_url: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    # An Update's previous properties: during a rollback, those of the update that failed.
    old_properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> CfnRequest:
        return cls(
            request_type=str(event["RequestType"]),
            response_url=str(event["ResponseURL"]),
            stack_id=str(event["StackId"]),
            request_id=str(event["RequestId"]),
            logical_resource_id=str(event["LogicalResourceId"]),
            physical_resource_id=event.get("PhysicalResourceId"),
            properties=dict(event.get("ResourceProperties") or {}),
            old_properties=dict(event.get("OldResourceProperties") or {}),
        )


def response_body(
    request: CfnRequest, status: str, *, reason: str, physical_id: str, data: dict[str, str] | None = None
) -> dict[str, Any]:
    """The cfn-response document for `request`."""
    if len(reason) > REASON_LIMIT:
        reason = reason[: REASON_LIMIT - 3] + "..."
    return {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "NoEcho": False,
        "Data": data or {},
    }


def send_response(url: str, body: dict[str, Any], *, attempts: int = 3, timeout_s: float = 10.0) -> None:
    """PUT the response to CloudFormation's presigned URL, retrying transient failures."""
    payload = json.dumps(body).encode()
    for attempt in range(1, attempts + 1):
        # The presigned S3 URL is signed for an empty Content-Type: any other value is refused.
        request = urllib.request.Request(  # noqa: S310 - the URL is CloudFormation's presigned https URL
            url, data=payload, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(payload))}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                response.read()
            return
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == attempts:
                raise
            time.sleep(0.5 * attempt)


@contextmanager
def connection_options(*, tls: bool, connect_timeout_s: int = CONNECT_TIMEOUT_S) -> Iterator[None]:
    """While active, every new SQLAlchemy connection gets a connect timeout and, if `tls`, a verifying TLS context."""
    context = ssl.create_default_context() if tls else None

    def add_options(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams.setdefault("timeout", connect_timeout_s)
        if context is not None:
            cparams.setdefault("ssl_context", context)

    event.listen(Engine, "do_connect", add_options)
    try:
        yield
    finally:
        event.remove(Engine, "do_connect", add_options)


def is_connection_failure(exc: BaseException) -> bool:
    """Whether `exc` means "the database cannot take a connection yet" (worth another attempt), not "the work is
    wrong": the driver's own connection errors, and server refusals of SQLSTATE class 08 (connection exception),
    57P03 (cannot connect now: starting up), 53300 (too many connections) and the other unavailable states, which
    pg8000 raises as DatabaseError/ProgrammingError."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    state = sqlstate(exc) or ""
    return state.startswith("08") or state in UNAVAILABLE_SQLSTATES


def retry_connection_failures(
    work: Callable[[], Any],
    *,
    deadline: float,
    delay_s: float = RETRY_DELAY_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Run `work`, again after `delay_s` while it fails to connect and `deadline` (on `clock`) allows; any other
    error is raised at once (a failing migration does not get better by running it again)."""
    while True:
        try:
            return work()
        except Exception as exc:
            if not is_connection_failure(exc) or clock() + delay_s >= deadline:
                raise
            logger.info("database not accepting connections yet", error=type(exc).__name__, sqlstate=sqlstate(exc))
            sleep(delay_s)


@dataclass(frozen=True)
class MigrationOutcome:
    """Where the hook left the database."""

    revision: str  # the database's revision now
    head: str  # the newest revision this code's migrations know
    unknown: bool = False  # the database was at a revision this code does not know, and was left alone


def upgrade_unless_unknown(url: URL | str, migrations_dir: Path = MIGRATIONS_DIR) -> MigrationOutcome:
    """Upgrade to head; leave alone a database at a revision these migrations do not know. Never a downgrade."""
    head = migrate.head(migrations_dir)
    current = migrate.current(url)
    if current is not None and not migrate.knows(current, migrations_dir):
        return MigrationOutcome(revision=current, head=head, unknown=True)
    migrate.upgrade(url, migrations_dir=migrations_dir)
    return MigrationOutcome(revision=migrate.current(url) or "", head=head)


def apply_migrations(
    url: URL | str,
    *,
    tls: bool,
    deadline: float,
    retry_delay_s: float = RETRY_DELAY_S,
    migrations_dir: Path = MIGRATIONS_DIR,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> MigrationOutcome:
    """Bring the database to head (see `upgrade_unless_unknown`); connection failures are retried until `deadline`.

    A proxy that was just created refuses connections for a while before its target is registered.
    """
    from sentrix.db import roles

    def migrate_then_configure() -> MigrationOutcome:
        outcome = upgrade_unless_unknown(url, migrations_dir)
        if not outcome.unknown:  # a newer schema belongs to newer code: leave its roles alone too
            roles.configure_app_role(url)  # the functions' role logs in with the app secret's password
        return outcome

    with connection_options(tls=tls):
        return retry_connection_failures(
            migrate_then_configure,
            deadline=deadline,
            delay_s=retry_delay_s,
            clock=clock,
            sleep=sleep,
        )


def _layer_version(migrations_version: Any) -> int | None:
    """N of MigrationsVersion's `arn:…:layer:<name>:N#<deployment id>` (the shared layer holding the migrations)."""
    arn = str(migrations_version or "").split("#", 1)[0]
    number = arn.rsplit(":", 1)[-1] if ":layer:" in arn else ""
    return int(number) if number.isdigit() else None


def layer_went_back(request: CfnRequest) -> bool:
    """Whether this Update brings back an older shared layer than the one it replaces: only a rollback does that.

    Each change of the shared layer publishes a new, higher version, and a deployment of older code publishes
    one too: the migrations' version number never decreases going forward. Read from the event alone, so it
    holds where CloudFormation cannot be asked.
    """
    new = _layer_version(request.properties.get("MigrationsVersion"))
    old = _layer_version(request.old_properties.get("MigrationsVersion"))
    return new is not None and old is not None and new < old


def is_rolling_back(stack_id: str, stack_status: StackStatus = describe_stack_status) -> bool:
    """Whether the stack is rolling back (UPDATE_ROLLBACK_IN_PROGRESS, ROLLBACK_IN_PROGRESS, ...).

    When CloudFormation cannot be asked (no route to it from a VPC without a NAT gateway, a throttle), the answer
    is False, so the hook migrates as on any update. That is the safe side: answering SUCCESS without migrating
    on a forward update would serve new code on an old schema, while during a rollback migrating is harmless in
    every case but one. The old code finds the database at a revision it does not know and leaves it alone; new
    code finds it at head (the migrations succeeded, something else failed) and does nothing; only new code whose
    migration failed runs it again, fails, and the stack stops in UPDATE_ROLLBACK_FAILED, from which
    `continue-update-rollback --resources-to-skip DatabaseMigrations` brings it back (docs/infra.md).
    """
    try:
        status = stack_status(stack_id)
    except Exception as exc:  # boto3's errors, and whatever else the lookup meets: never the hook's failure
        logger.warning("stack status unknown: migrating as on any update", error=f"{type(exc).__name__}: {exc}")
        return False
    return status.endswith("ROLLBACK_IN_PROGRESS")


def _cloud_database() -> tuple[URL | str, bool]:
    from sentrix.config import get_settings
    from sentrix.db.engine import database_url

    settings = get_settings()
    # As the functions' engine: TLS to RDS Proxy in the cloud, none to a local DATABASE_URL.
    return database_url(settings), not settings.database_url


def _scrub(text: str, url: URL | str | None) -> str:
    password = url.password if isinstance(url, URL) else None
    return text.replace(str(password), "***") if password else text


def _run_with_deadline(work: Callable[[], Any], timeout_s: float) -> Any:
    """Run `work` in a thread; raise TimeoutError if it has not finished after `timeout_s`."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed over to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="migrations", daemon=True)
    worker.start()
    worker.join(max(timeout_s, 0.0))
    if worker.is_alive():
        raise TimeoutError(f"Migrations did not finish within {timeout_s:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _outcome_reason(outcome: MigrationOutcome) -> str:
    if outcome.unknown:
        return (
            f"Database at revision {outcome.revision}, which this code does not know (its newest is {outcome.head}):"
            " newer code migrated it; left as it is, never downgraded"
        )
    return f"Database at revision {outcome.revision}"


def handle(
    event: dict[str, Any],
    context: Any,
    *,
    database: Callable[[], tuple[URL | str, bool]] = _cloud_database,
    send: Callable[[str, dict[str, Any]], None] = send_response,
    stack_status: StackStatus = describe_stack_status,
    migrations_dir: Path = MIGRATIONS_DIR,
    retry_delay_s: float = RETRY_DELAY_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Answer one custom-resource request; returns the response document sent to CloudFormation.

    `stack_status` asks CloudFormation for the stack's status (DescribeStacks by default); `clock` and `sleep`
    pace the connection retries.
    """
    request = CfnRequest.from_event(event)
    physical_id = request.physical_resource_id or DEFAULT_PHYSICAL_ID
    if request.request_type == "Delete":
        body = response_body(
            request, SUCCESS, reason="Nothing to undo: migrations are forward-only", physical_id=physical_id
        )
        send(request.response_url, body)
        return body
    url: URL | str | None = None
    try:
        if request.request_type == "Update" and (
            layer_went_back(request) or is_rolling_back(request.stack_id, stack_status)
        ):
            logger.warning("stack rolling back: migrations left as they are")
            body = response_body(
                request,
                SUCCESS,
                reason="Stack rolling back: migrations not run, the schema stays as the failed update left it",
                physical_id=physical_id,
                data={"Revision": REVISION_NOT_CHECKED},
            )
        else:
            url, tls = database()
            budget_s = context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_S
            deadline = clock() + budget_s
            target = url
            outcome: MigrationOutcome = _run_with_deadline(
                lambda: apply_migrations(
                    target,
                    tls=tls,
                    deadline=deadline,
                    retry_delay_s=retry_delay_s,
                    migrations_dir=migrations_dir,
                    clock=clock,
                    sleep=sleep,
                ),
                budget_s,
            )
            if outcome.unknown:
                logger.warning("database ahead of this code", revision=outcome.revision, head=outcome.head)
            reason, data = _outcome_reason(outcome), {"Revision": outcome.revision}
            # BootstrapAdminEmail: reported in the answer, never a failure (sentrix.db.deploy_first_admin).
            first_admin = deploy_first_admin.apply(
                request, target, tls=tls, time_left_s=context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_S
            )
            if first_admin is not None:
                reason, data = f"{reason}. {first_admin.reason}", {**data, **first_admin.data}
            body = response_body(request, SUCCESS, reason=reason, physical_id=physical_id, data=data)
    except BaseException as exc:  # every failure must reach CloudFormation, or the deployment hangs
        reason = _scrub(f"Migrations failed: {type(exc).__name__}: {exc}", url)
        body = response_body(request, FAILED, reason=reason, physical_id=physical_id)
    send(request.response_url, body)
    return body
