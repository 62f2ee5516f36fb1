"""`make admin EMAIL=... [ROLE=expert]`: the first admin (or an expert) of the local database.

Creates the account when there is none, with a generated password printed once (only its hash is kept; change
it after signing in, POST /api/v1/change-password), or promotes the existing one. Idempotent; never a demotion.
With AUTH_PROVIDER=supabase it only promotes: that provider's users rows are keyed by the Supabase user id and made
at sign-up, so a row made here would only block the real sign-up (its address taken).
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine

from sentrix.domain.roles import Role
from sentrix.first_admin import Grant, InvalidEmail, Result, grant_role


def grant(url: str, email: str, role: str = "admin", *, create: bool = True) -> Grant:
    """Give `role` to the account with `email` in the database at `url`, creating the account if asked to."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            return grant_role(connection, email, Role(role), create=create, source="make admin")
    finally:
        engine.dispose()


def describe(result: Grant) -> str:
    """What to tell the operator: one line, plus the password when the account was just created."""
    role = result.role.value if result.role else "?"
    if result.result is Result.CREATED:
        return f"created {result.email} as {role}\npassword (shown once; change it after signing in): {result.password}"
    if result.result is Result.NOT_FOUND:
        return f"no account with {result.email}: sign up first (AUTH_PROVIDER=supabase), then run make admin again"
    if result.result is Result.PROMOTED:
        previous = result.previous_role.value if result.previous_role else "?"
        return f"promoted {result.email} from {previous} to {role}"
    return f"{result.email} is already {role}: nothing changed"


def make_admin(url: str, email: str, role: str = "admin", *, auth_provider: str = "builtin") -> int:
    """The CLI: 0 once the account holds the role, 1 if there is no account to promote (Supabase), 2 with a message
    on stderr for an address that is not one."""
    try:
        result = grant(url, email, role, create=auth_provider != "supabase")
    except InvalidEmail as exc:
        print(f"make admin: {exc}", file=sys.stderr)
        return 2
    if result.result is Result.NOT_FOUND:
        print(f"make admin: {describe(result)}", file=sys.stderr)
        return 1
    print(describe(result))
    return 0
