"""The first admin (or expert): give a role to the account with an e-mail address, creating it if asked to.

Nobody can reach the admin routes before some account is an admin, so this is done outside the API: locally by
`make admin EMAIL=...` (sentrix_local), in the cloud by the deploy hook from the stack parameter
BootstrapAdminEmail (sentrix.db.deploy_first_admin). Both call `grant_role`.

- Idempotent: an account already holding the role (or a higher one) is left as it is.
- Never a demotion: asking for `expert` leaves an admin an admin.
- Creation only where the caller holds the database itself (`make admin`): the deploy hook promotes an account
  that exists and never creates one, so whoever registered that address first is the one promoted. The operator
  registers, then deploys with the parameter (README, *The first admin*).

Written against the `users` table with the columns it needs only (Core, not the ORM), so it also works on a
database a newer build has migrated.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from sentrix.db.models import User
from sentrix.domain.emails import normalise_email
from sentrix.domain.roles import Role
from sentrix.observability import logger

USERS = User.__table__
# Long enough to need no policy check (sentrix.passwords): 144 random bits.
GENERATED_PASSWORD_BYTES = 18


class InvalidEmail(ValueError):
    """The address given for the first admin is not one an account could have."""


class Result(StrEnum):
    CREATED = "created"  # a new account with the role and a generated password
    PROMOTED = "promoted"  # an existing account raised to the role
    UNCHANGED = "unchanged"  # the account already held the role or a higher one
    NOT_FOUND = "not_found"  # no account with that address, and creation was not asked for


@dataclass(frozen=True)
class Grant:
    """What `grant_role` did."""

    result: Result
    email: str
    role: Role | None = None  # the account's role now
    previous_role: Role | None = None
    user_id: uuid.UUID | None = None
    # Only when the account was created: shown once to the operator, stored nowhere but as its hash.
    password: str | None = None


def checked_email(value: str) -> str:
    """The address normalised as sign-up normalises it; InvalidEmail with the address if it is not one."""
    try:
        return normalise_email(value)
    except ValueError as exc:
        raise InvalidEmail(f"Not a valid e-mail address: {value.strip()!r}") from exc


def grant_role(
    connection: Connection, email: str, role: Role = Role.ADMIN, *, create: bool = False, source: str
) -> Grant:
    """Give `role` to the account with `email` (case-insensitively), in the caller's transaction.

    `create`: make the account when there is none, with a generated password returned once in the Grant.
    `source` says who asked (the CLI, or the deployment) and goes into the audit log line.
    """
    address = checked_email(email)
    if role is Role.USER:
        raise ValueError("The first admin is given the admin or expert role, not user")
    found = connection.execute(
        select(USERS.c.id, USERS.c.role).where(func.lower(USERS.c.email) == address).with_for_update()
    ).first()
    if found is None and create:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        from sentrix.passwords import hash_password  # argon2: only the path that creates an account needs it

        user_id = uuid.uuid4()
        inserted = connection.execute(
            insert(USERS)
            .values(id=user_id, email=address, password_hash=hash_password(password), role=role)
            .on_conflict_do_nothing()
            .returning(USERS.c.id)
        ).first()
        if inserted is not None:
            grant = Grant(Result.CREATED, address, role, None, user_id, password)
            _audit(grant, source)
            return grant
        # Someone registered the address between the two statements: promote that account instead.
        found = connection.execute(
            select(USERS.c.id, USERS.c.role).where(func.lower(USERS.c.email) == address).with_for_update()
        ).first()
    if found is None:
        grant = Grant(Result.NOT_FOUND, address)
        _audit(grant, source)
        return grant
    current = Role(found.role)
    if current.at_least(role):
        grant = Grant(Result.UNCHANGED, address, current, current, found.id)
    else:
        connection.execute(update(USERS).where(USERS.c.id == found.id).values(role=role, updated_at=func.now()))
        grant = Grant(Result.PROMOTED, address, role, current, found.id)
    _audit(grant, source)
    return grant


def _audit(grant: Grant, source: str) -> None:
    """One structured line per call: who got which role, from what, asked by whom (the log's time is when)."""
    facts = {
        "email": grant.email,
        "user_id": str(grant.user_id) if grant.user_id else None,
        "role": grant.role.value if grant.role else None,
        "previous_role": grant.previous_role.value if grant.previous_role else None,
        "result": grant.result.value,
        "source": source,
    }
    if grant.result is Result.NOT_FOUND:
        logger.warning("first admin: no account with this address", extra=facts)
    else:
        logger.info("first admin: role granted", extra=facts)
