"""The deploy hook: a CloudFormation custom resource that applies the Alembic migrations on create and update.

CloudFormation invokes the migrate function with a custom-resource request and then waits for a JSON document
PUT to the request's presigned `ResponseURL` (the cfn-response protocol, spoken here with urllib: no extra
dependency). SUCCESS lets the deployment go on; FAILED, with the error as the reason, fails and rolls it back.
Every path answers, even an unexpected exception or a migration about to outlive the Lambda timeout, because
CloudFormation would otherwise wait for an answer until its own timeout.

- Create/Update: `sentrix.db.migrate.upgrade(url)` to head. Idempotent: at head it does nothing, so it runs on
  every deployment (the resource's properties change each time, see MigrationsVersion in the template).
- Delete: nothing. Migrations are forward-only; dropping the schema is not a stack deletion's business (and a
  rollback of the stack after a successful migration leaves the schema ahead: code must stay compatible).

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
from typing import Any

from sqlalchemy import URL, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

SUCCESS = "SUCCESS"
FAILED = "FAILED"
# The whole response must stay under 4096 bytes; the reason is the only part that can grow.
REASON_LIMIT = 1500
# Time kept back from the Lambda timeout to answer CloudFormation after giving up on the migration.
ANSWER_MARGIN_S = 15.0
CONNECT_TIMEOUT_S = 10
RETRY_DELAY_S = 5.0
DEFAULT_PHYSICAL_ID = "sentrix-database-migrations"


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


def apply_migrations(url: URL | str, *, tls: bool, deadline: float, retry_delay_s: float = RETRY_DELAY_S) -> str:
    """Upgrade to head and return the revision; connection failures are retried until `deadline` (monotonic).

    A proxy that was just created may refuse connections for a while before its target is registered.
    """
    from sentrix.db import migrate

    with connection_options(tls=tls):
        while True:
            try:
                migrate.upgrade(url)
                return migrate.current(url) or ""
            except (OperationalError, InterfaceError):
                if time.monotonic() + retry_delay_s >= deadline:
                    raise
                time.sleep(retry_delay_s)


def _cloud_database() -> tuple[URL | str, bool]:
    from sentrix.config import get_settings
    from sentrix.db.engine import database_url

    settings = get_settings()
    # As the functions' engine: TLS to RDS Proxy in the cloud, none to a local DATABASE_URL.
    return database_url(settings), not settings.database_url


def _scrub(text: str, url: URL | str | None) -> str:
    password = url.password if isinstance(url, URL) else None
    return text.replace(str(password), "***") if password else text


def _run_with_deadline(work: Callable[[], str], timeout_s: float) -> str:
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


def handle(
    event: dict[str, Any],
    context: Any,
    *,
    database: Callable[[], tuple[URL | str, bool]] = _cloud_database,
    send: Callable[[str, dict[str, Any]], None] = send_response,
    retry_delay_s: float = RETRY_DELAY_S,
) -> dict[str, Any]:
    """Answer one custom-resource request; returns the response document sent to CloudFormation."""
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
        url, tls = database()
        budget_s = context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_S
        deadline = time.monotonic() + budget_s
        target = url
        revision = _run_with_deadline(
            lambda: apply_migrations(target, tls=tls, deadline=deadline, retry_delay_s=retry_delay_s), budget_s
        )
        body = response_body(
            request,
            SUCCESS,
            reason=f"Database at revision {revision}",
            physical_id=physical_id,
            data={"Revision": revision},
        )
    except BaseException as exc:  # every failure must reach CloudFormation, or the deployment hangs
        reason = _scrub(f"Migrations failed: {type(exc).__name__}: {exc}", url)
        body = response_body(request, FAILED, reason=reason, physical_id=physical_id)
    send(request.response_url, body)
    return body
