"""Who is calling: read from the API Gateway authorizer context, checked against the database, enforced in one place.

The authorizer only proves the token is ours and unexpired, and API Gateway caches its answer for 300 s. So
each request also reads the user's row (one primary-key lookup): the account must exist and be active, the
token must not predate `users.tokens_valid_after` (password change, forced logout, reactivation), its session
(`sid`, the sign-in's refresh-token family) must not have ended (logout, refresh-token reuse), and the role is
the one in the database now — a demotion, deactivation or logout takes effect at the very next request. The
session check rides in the same statement as the user row (an indexed EXISTS), so it costs no round trip.
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
    session_id: uuid.UUID | None = None


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
        sid = context.get("sid")
        session_id = uuid.UUID(str(sid)) if sid not in (None, "") else None
    except ValueError:
        return None
    return TokenIdentity(principal, issued_at, session_id)


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


def session_ended_sql(identity: TokenIdentity, user_alias: str = "u") -> str:
    """SQL for the `session_ended` column of a hand-written caller row (`user_alias` = the users table's alias).

    The session id is a parsed UUID (hex and dashes only), so it is written into the text."""
    session_id = identity.session_id
    if session_id is None:
        return "false"
    if not isinstance(session_id, uuid.UUID) or not user_alias.isidentifier():
        raise TypeError("the session id must be a parsed UUID and the alias an identifier")
    return (
        f"EXISTS (SELECT 1 FROM refresh_tokens AS ended WHERE ended.family_id = '{session_id}'::uuid"  # noqa: S608
        f" AND ended.user_id = {user_alias}.id AND ended.revoked_at IS NOT NULL)"
    )


def caller_columns(identity: TokenIdentity) -> tuple:
    """The columns `checked_principal` reads, in its order, for a select over `users` (session check included)."""
    from sqlalchemy import exists, false, literal

    from sentrix.db.models import RefreshToken, User

    if identity.session_id is None:
        ended = false()
    else:
        # A revoked row in the token's family means the session ended (logout revokes the whole family).
        session_id = literal(identity.session_id, RefreshToken.family_id.type, literal_execute=True)
        ended = exists().where(
            RefreshToken.family_id == session_id,
            RefreshToken.user_id == User.id,
            RefreshToken.revoked_at.is_not(None),
        )
    return User.role, User.is_active, User.tokens_valid_after, User.email, ended.label("session_ended")


def check_against_database(identity: TokenIdentity) -> Principal:
    """The principal as the database sees it now; 401 if unknown, cut off or its session ended, 403 if
    deactivated. One statement, one round trip."""
    from sqlalchemy import literal, select

    from sentrix.db.engine import read_scope
    from sentrix.db.models import User

    # The id is a parsed UUID, so it is rendered into the SQL: pg8000 then needs one round trip, not three.
    user_id = literal(identity.principal.user_id, User.id.type, literal_execute=True)
    with read_scope() as connection:
        row = connection.execute(select(*caller_columns(identity)).where(User.id == user_id)).one_or_none()
    return checked_principal(identity, row)


def checked_principal(identity: TokenIdentity, user_row: Sequence | None) -> Principal:
    """The checks of `check_against_database` on a user row (role, is_active, tokens_valid_after, email,
    session_ended — see `caller_columns` / `session_ended_sql`) that a hot read fetched in its own statement;
    `None` when no such user exists."""
    if user_row is None:
        raise Unauthorized("Unknown user")
    role, is_active, valid_after, email, session_ended = user_row[:5]
    if not is_active:
        raise Forbidden("User account is deactivated", key="err.deactivated")
    if not isinstance(session_ended, bool):  # a row of the old shape, or columns out of order
        raise TypeError("the caller row must end with the session_ended boolean")
    if _cut_off(identity.issued_at, valid_after) or session_ended:
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
            raise Forbidden(key="err.permissions")
        return principal

    return dependency
