"""Who is calling: read from the API Gateway authorizer context, checked against the database, enforced in one place.

The authorizer only proves the token is ours and unexpired, and API Gateway caches its answer for 300 s. So
each request also reads the user's row (one primary-key lookup): the account must exist and be active, the
token must not predate `users.tokens_valid_after` (password change, forced logout), and the role is the one
in the database now — a demotion or deactivation takes effect at the very next request.
Deactivated accounts answer 403 (the credentials are right, the account may not act); cut-off or unknown
tokens answer 401 (sign in again).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from sentrix.domain.roles import Role
from sentrix.errors import Forbidden, Unauthorized


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    role: Role
    email: str | None = None

    def has_role(self, minimum: Role) -> bool:
        return self.role.at_least(minimum)

    @property
    def sees_everything(self) -> bool:
        """Experts and admins read every user's analyses; users read their own."""
        return self.has_role(Role.EXPERT)


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """What the authorizer vouched for: a principal plus the token's issue time (epoch seconds)."""

    principal: Principal
    issued_at: int | None


def identity_from_event(event: dict | None) -> TokenIdentity | None:
    """The identity the authorizer put in `requestContext.authorizer`, or None for anonymous calls."""
    context = ((event or {}).get("requestContext") or {}).get("authorizer") or {}
    user_id, role = context.get("user_id"), context.get("role")
    if not user_id or not role:
        return None
    try:
        principal = Principal(user_id=uuid.UUID(str(user_id)), role=Role(str(role)), email=context.get("email") or None)
        issued = context.get("iat")
        # API Gateway hands context values on as strings; accept numbers too.
        issued_at = int(str(issued)) if issued not in (None, "") else None
    except ValueError:
        return None
    return TokenIdentity(principal, issued_at)


def principal_from_event(event: dict | None) -> Principal | None:
    """The principal the authorizer vouched for (not yet checked against the database)."""
    identity = identity_from_event(event)
    return identity.principal if identity else None


def cut_off_second(valid_after: datetime | None) -> int | None:
    """The first whole second (epoch) whose tokens are still valid after a cut-off at `valid_after`.

    JWT `iat` has whole seconds, so every token of the cut-off's own second is refused too; tokens minted
    right after a cut-off (change-password's new session) carry `iat` = this second (see `sentrix.tokens`).
    """
    return None if valid_after is None else math.ceil(valid_after.timestamp())


def _cut_off(issued_at: int | None, valid_after: datetime | None) -> bool:
    first_valid = cut_off_second(valid_after)
    if first_valid is None:
        return False
    return issued_at is None or issued_at < first_valid


def check_against_database(identity: TokenIdentity) -> Principal:
    """The principal as the database sees it now; 401 if unknown or cut off, 403 if deactivated."""
    from sqlalchemy import literal, select

    from sentrix.db.engine import read_scope
    from sentrix.db.models import User

    # The id is a parsed UUID, so it is rendered into the SQL: pg8000 then needs one round trip, not three.
    user_id = literal(identity.principal.user_id, User.id.type, literal_execute=True)
    with read_scope() as connection:
        row = connection.execute(
            select(User.role, User.is_active, User.tokens_valid_after, User.email).where(User.id == user_id)
        ).one_or_none()
    return checked_principal(identity, row)


def checked_principal(identity: TokenIdentity, user_row: Sequence | None) -> Principal:
    """The checks of `check_against_database` on a user row (role, is_active, tokens_valid_after, email)
    that a hot read fetched in its own statement; `None` when no such user exists."""
    if user_row is None:
        raise Unauthorized("Unknown user")
    role, is_active, valid_after, email = user_row[:4]
    if not is_active:
        raise Forbidden("User account is deactivated", key="err.deactivated")
    if _cut_off(identity.issued_at, valid_after):
        raise Unauthorized("Session has ended; sign in again", key="err.session_ended")
    return Principal(user_id=identity.principal.user_id, role=Role(role), email=email)


def unchecked_identity(request: Request) -> TokenIdentity:
    """FastAPI dependency for a hot read that checks the caller in its own statement (one round trip instead
    of two): the authorizer's identity, or 401. The route MUST pass its user row through `checked_principal`
    before using anything it read."""
    identity = identity_from_event(request.scope.get("aws.event"))
    if identity is None:
        raise Unauthorized("Authentication required")
    return identity


def optional_principal(request: Request) -> Principal | None:
    """FastAPI dependency: the caller if the authorizer identified one (checked like `current_principal`)."""
    identity = identity_from_event(request.scope.get("aws.event"))
    return check_against_database(identity) if identity else None


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, or 401 when the request reached us without an identity."""
    principal = optional_principal(request)
    if principal is None:
        raise Unauthorized("Authentication required")
    return principal


def require_role(minimum: Role):
    """FastAPI dependency factory: the caller, or 403 unless their role ranks at least `minimum`."""

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if not principal.has_role(minimum):
            raise Forbidden("Not enough permissions", key="err.permissions")
        return principal

    return dependency
