"""The built-in identity provider: argon2id passwords in `users`, ES256 access tokens, rotating refresh tokens."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sentrix import passwords
from sentrix.db.engine import session_scope
from sentrix.db.models import User
from sentrix.errors import BadRequest, DependencyUnavailable, Forbidden, Unauthorized
from sentrix.http.identity import cut_off_second
from sentrix.observability import logger
from sentrix.tokens import KeysUnavailable, issue_access_token
from sentrix_auth.dal import refresh_tokens, users
from sentrix_auth.providers.base import NewAccount, Tokens, WrongCurrentPassword
from sentrix_auth.settings import AuthSettings

INVALID_REFRESH = "Invalid or expired refresh token"


class BuiltinProvider:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings

    # -- sessions ---------------------------------------------------------------------------------
    def _mint(self, session, user: User, family_id: uuid.UUID | None = None) -> Tokens:
        now = datetime.now(UTC)
        # The family is the session: the access token names it (`sid`) so ending the session ends the token.
        family_id = family_id or uuid.uuid4()
        try:
            access = issue_access_token(
                user_id=user.id,
                role=user.role,
                email=user.email,
                min_issued_at=cut_off_second(user.tokens_valid_after),
                session_id=family_id,
            )
        except KeysUnavailable as exc:
            raise DependencyUnavailable("Token signing is not configured") from exc
        refresh = secrets.token_urlsafe(32)
        refresh_tokens.add(
            session,
            user_id=user.id,
            token=refresh,
            family_id=family_id,
            expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl_s),
        )
        return Tokens(access.token, refresh, access.expires_in)

    def register(self, account: NewAccount) -> tuple[User, Tokens]:
        passwords.check_policy(account.password, email=account.email)
        user = User(
            email=account.email,
            password_hash=passwords.hash_password(account.password),
            display_name=account.display_name,
            organization=account.organization,
        )
        with session_scope() as session:
            users.insert(session, user)
            tokens = self._mint(session, user)
        return user, tokens

    def authenticate(self, email: str, password: str) -> tuple[User, Tokens | None] | None:
        with session_scope() as session:
            user = users.get_by_email(session, email)
            # A missing user still costs one argon2 verification: timing does not reveal which emails exist.
            if not passwords.verify_password(user.password_hash if user else None, password):
                return None
            if passwords.needs_rehash(user.password_hash):
                user.password_hash = passwords.hash_password(password)
        return user, None

    def start_session(self, user: User, tokens: Tokens | None) -> Tokens:
        with session_scope() as session:
            return self._mint(session, user)

    def refresh(self, refresh_token: str) -> tuple[User, Tokens]:
        now = datetime.now(UTC)
        reused = False
        with session_scope() as session:
            stored = refresh_tokens.find_for_update(session, refresh_token)
            if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
                raise Unauthorized(INVALID_REFRESH)
            if stored.used_at is not None:
                # Someone replays a rotated token: either the client or a thief holds a copy. End the family.
                refresh_tokens.revoke_family(session, stored.family_id, now, "reuse_detected")
                reused = True
            else:
                user = users.get(session, stored.user_id)
                if user is None:
                    raise Unauthorized(INVALID_REFRESH)
                if not user.is_active:
                    raise Forbidden("User account is deactivated", key="err.deactivated")
                stored.used_at = now
                tokens = self._mint(session, user, stored.family_id)
        if reused:  # raised after the commit, so the revocation sticks
            logger.warning("refresh token reuse; family revoked", extra={"family_id": str(stored.family_id)})
            raise Unauthorized(INVALID_REFRESH)
        return user, tokens

    def sign_out(self, user_id: uuid.UUID, refresh_token: str | None, *, everywhere: bool, access_token: str) -> None:
        now = datetime.now(UTC)
        with session_scope() as session:
            if everywhere or refresh_token is None:
                refresh_tokens.revoke_all_of(session, user_id, now, "logout_everywhere")
                users.cut_off_sessions(session, user_id, now)
                return
            stored = refresh_tokens.find_for_update(session, refresh_token)
            # Someone else's (or an unknown) token: nothing to revoke, and nothing to tell.
            if stored is not None and stored.user_id == user_id:
                refresh_tokens.revoke_family(session, stored.family_id, now, "logout")

    def change_password(self, user_id: uuid.UUID, current: str, new: str, *, access_token: str) -> Tokens:
        with session_scope() as session:
            user = users.get(session, user_id, for_update=True)
            if user is None:
                raise Unauthorized("Unknown user")
            if not passwords.verify_password(user.password_hash, current):
                raise WrongCurrentPassword("Current password is incorrect")
            if current == new:
                raise BadRequest("The new password must differ from the current one")
            passwords.check_policy(new, email=user.email)
            now = datetime.now(UTC)
            user.password_hash = passwords.hash_password(new)
            user.tokens_valid_after = now
            refresh_tokens.revoke_all_of(session, user.id, now, "password_changed")
            return self._mint(session, user)

    def end_all_sessions(self, user_id: uuid.UUID, reason: str) -> None:
        with session_scope() as session:
            refresh_tokens.revoke_all_of(session, user_id, datetime.now(UTC), reason)

    def forget(self, user_id: uuid.UUID) -> None:
        return None
