"""The deploy hook's first-admin step: the stack parameter BootstrapAdminEmail, applied after the migrations.

The database sits in private subnets, so an operator who has just deployed cannot reach it to make anyone an
admin. Instead they register (POST /api/v1/register), then deploy with BootstrapAdminEmail set to that address;
the hook promotes the account to admin (sentrix.first_admin.grant_role) on that deployment and, idempotently, on
every later one while the parameter stays set.

- Only an existing account is promoted, never created: the hook has nobody to hand a password to, and there is
  no e-mail verification to prove who owns the address. Whoever registered the address is the one promoted, so
  the operator registers first, then deploys with the parameter. Nor is an account promoted when it registers
  later (a stranger could register the address before the operator does).
- Never a reason to fail the deployment: an address with no account yet, a database refusing the statement, any
  error at all is reported in the custom resource's Reason and `FirstAdmin` attribute, and the deployment goes on.
- Not run during a rollback (the hook answers those before migrating).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, create_engine, text

from sentrix.domain.roles import Role
from sentrix.first_admin import Grant, InvalidEmail, Result, grant_role
from sentrix.observability import logger

if TYPE_CHECKING:
    from sentrix.db.deploy_hook import CfnRequest

PROPERTY = "BootstrapAdminEmail"
# pg8000's socket timeout, for the connection and every statement: one indexed UPDATE needs far less.
TIMEOUT_S = 10
ERROR = "error"


@dataclass(frozen=True)
class StepOutcome:
    """What the step adds to the hook's answer."""

    reason: str
    data: dict[str, str] = field(default_factory=dict)


def deployment_of(request: CfnRequest) -> str:
    """Which deployment asked: `make deploy`'s DeploymentId (after the # of MigrationsVersion), and the request."""
    version = str(request.properties.get("MigrationsVersion") or "")
    deployment = version.split("#", 1)[1] if "#" in version else "unknown"
    return f"deployment {deployment} (request {request.request_id})"


def apply(request: CfnRequest, url: URL | str, *, tls: bool, time_left_s: float) -> StepOutcome | None:
    """Promote the account named by the request's BootstrapAdminEmail to admin; None when the property is empty.

    `time_left_s`: what remains before the hook must answer; with less than the step could take (connecting, then
    one statement), it is left for the next deployment rather than risk no answer at all."""
    email = str(request.properties.get(PROPERTY) or "").strip()
    if not email:
        return None
    if time_left_s < 2 * TIMEOUT_S:
        logger.warning("first admin not applied: the migrations used the time", time_left_s=round(time_left_s, 1))
        return StepOutcome(
            "First admin not applied: the migrations left too little time; the next deployment applies it",
            {"FirstAdmin": ERROR},
        )
    try:
        grant = _promote(url, email, tls=tls, source=deployment_of(request))
    except InvalidEmail as exc:
        logger.warning("first admin not applied: bad address", error=str(exc))
        return StepOutcome(f"First admin not applied: {exc}", {"FirstAdmin": ERROR})
    except Exception as exc:  # the step never fails the deployment (see the module docstring)
        detail = f"{type(exc).__name__}: {exc}"
        password = url.password if isinstance(url, URL) else None
        if password:
            detail = detail.replace(str(password), "***")
        logger.warning("first admin not applied", error=detail)
        return StepOutcome(
            f"First admin not applied ({detail}); the deployment goes on, the next one tries again",
            {"FirstAdmin": ERROR},
        )
    return StepOutcome(_reason(grant), {"FirstAdmin": grant.result.value})


def _promote(url: URL | str, email: str, *, tls: bool, source: str) -> Grant:
    connect_args: dict[str, Any] = {"timeout": TIMEOUT_S}
    if tls:
        connect_args["ssl_context"] = ssl.create_default_context()
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"SET LOCAL statement_timeout = '{TIMEOUT_S}s'"))
            return grant_role(connection, email, Role.ADMIN, create=False, source=source)
    finally:
        engine.dispose()


def _reason(grant: Grant) -> str:
    if grant.result is Result.PROMOTED:
        role = grant.previous_role.value if grant.previous_role else "?"
        return f"First admin: {grant.email} promoted from {role} to admin"
    if grant.result is Result.UNCHANGED:
        role = grant.role.value if grant.role else "?"
        return f"First admin: {grant.email} is already {role}, left as it is"
    return (
        f"First admin: no account with {grant.email} yet - register it, then deploy again with the same"
        " BootstrapAdminEmail (applied on every deployment)"
    )
