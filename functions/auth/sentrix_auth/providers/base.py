"""The identity-provider port: what sign-up, sign-in, refresh, sign-out and password change need from a provider."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sentrix.db.models import User
from sentrix.errors import BadRequest


class WrongCurrentPassword(BadRequest):
    """Change-password with a wrong current password (counted like a failed login)."""

    code = "wrong_password"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    display_name: str | None = None
    organization: str | None = None


class IdentityProvider(Protocol):
    """Every method manages its own transaction(s); errors are `sentrix.errors` types."""

    def register(self, account: NewAccount) -> tuple[User, Tokens]:
        """Create the account and its first session; Conflict if the email is taken."""

    def authenticate(self, email: str, password: str) -> tuple[User, Tokens | None] | None:
        """The user if the credentials match (with a session if the provider makes one there), else None."""

    def start_session(self, user: User, tokens: Tokens | None) -> Tokens:
        """The session to hand out after the caller's checks passed (active account, throttling)."""

    def refresh(self, refresh_token: str) -> tuple[User, Tokens]:
        """Rotate a refresh token; Unauthorized if unknown, expired, revoked or reused."""

    def sign_out(self, user_id: uuid.UUID, refresh_token: str | None, *, everywhere: bool, access_token: str) -> None:
        """End one session (the refresh token's) or all of the user's."""

    def change_password(self, user_id: uuid.UUID, current: str, new: str, *, access_token: str) -> Tokens:
        """Check the current password, set the new one, end every session, return a fresh one."""

    def end_all_sessions(self, user_id: uuid.UUID, reason: str) -> None:
        """Revoke every session of a user (deactivation)."""

    def forget(self, user_id: uuid.UUID) -> None:
        """Remove the provider's own record of a deleted user (no-op for the built-in provider)."""
