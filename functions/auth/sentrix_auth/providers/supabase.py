"""Supabase Auth as identity provider: passwords and sessions live in Supabase, role and active flag here.

The local `users` row is keyed by the Supabase user id and created on sign-up (or on the first sign-in of an
account made elsewhere). Imported only when AUTH_PROVIDER=supabase: `supabase_auth` pulls its own HTTP stack.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import UTC, datetime

from supabase_auth import SyncGoTrueAdminAPI, SyncGoTrueClient
from supabase_auth.errors import AuthApiError, AuthError, AuthWeakPasswordError

from sentrix import passwords
from sentrix.db.engine import session_scope
from sentrix.db.models import User
from sentrix.errors import Conflict, DependencyUnavailable, Forbidden, Unauthorized, ValidationFailed
from sentrix.observability import logger
from sentrix_auth.dal import users
from sentrix_auth.providers.base import NewAccount, Tokens, WrongCurrentPassword
from sentrix_auth.settings import AuthSettings

INVALID_REFRESH = "Invalid or expired refresh token"


def _tokens(session) -> Tokens:
    return Tokens(session.access_token, session.refresh_token, int(session.expires_in))


class SupabaseProvider:
    def __init__(self, settings: AuthSettings) -> None:
        if not settings.supabase_url or not settings.supabase_anon_key:
            raise DependencyUnavailable("Supabase is not configured (SUPABASE_URL, SUPABASE_ANON_KEY)")
        self.settings = settings
        self.auth_url = settings.supabase_url.rstrip("/") + "/auth/v1"

    def _client(self) -> SyncGoTrueClient:
        # One client per call: the client keeps "the current session" in memory, which must not leak
        # between users of a warm execution environment.
        key = self.settings.supabase_anon_key
        return SyncGoTrueClient(
            url=self.auth_url,
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
            auto_refresh_token=False,
            persist_session=False,
        )

    @functools.cached_property
    def _admin(self) -> SyncGoTrueAdminAPI:
        key = self.settings.supabase_service_role_key
        if not key and self.settings.supabase_secret_arn:
            from aws_lambda_powertools.utilities import parameters

            secret = json.loads(parameters.get_secret(self.settings.supabase_secret_arn, max_age=300))
            key = secret.get("service_role_key")
        if not key:
            raise DependencyUnavailable("The Supabase service-role key is not configured")
        return SyncGoTrueAdminAPI(url=self.auth_url, headers={"apikey": key, "Authorization": f"Bearer {key}"})

    def _local_user(self, supabase_user, *, display_name=None, organization=None) -> User:
        """The local row for a Supabase user, created on first sight."""
        user_id = uuid.UUID(supabase_user.id)
        with session_scope() as session:
            user = users.get(session, user_id)
            if user is None:
                metadata = supabase_user.user_metadata or {}
                user = User(
                    id=user_id,
                    email=(supabase_user.email or "").lower(),
                    password_hash=None,
                    display_name=display_name or metadata.get("display_name"),
                    organization=organization or metadata.get("organization"),
                )
                users.insert(session, user)
            return user

    def register(self, account: NewAccount) -> tuple[User, Tokens]:
        passwords.check_policy(account.password, email=account.email)
        data = {"display_name": account.display_name, "organization": account.organization}
        try:
            response = self._client().sign_up(
                {"email": account.email, "password": account.password, "options": {"data": data}}
            )
        except AuthWeakPasswordError as exc:
            raise ValidationFailed(f"Supabase refused the password: {exc.message}") from exc
        except AuthApiError as exc:
            if exc.code in ("user_already_exists", "email_exists") or "already registered" in exc.message:
                raise Conflict(key="err.email_taken") from exc
            raise DependencyUnavailable("Supabase Auth refused the sign-up") from exc
        except AuthError as exc:
            raise DependencyUnavailable("Supabase Auth is unavailable") from exc
        user = self._local_user(response.user, display_name=account.display_name, organization=account.organization)
        if response.session is None:
            raise Forbidden("Confirm your email address, then sign in")
        return user, _tokens(response.session)

    def authenticate(self, email: str, password: str) -> tuple[User, Tokens | None] | None:
        try:
            response = self._client().sign_in_with_password({"email": email, "password": password})
        except AuthApiError as exc:
            if exc.status in (400, 401, 422):
                return None
            raise DependencyUnavailable("Supabase Auth is unavailable") from exc
        except AuthError as exc:
            raise DependencyUnavailable("Supabase Auth is unavailable") from exc
        if response.session is None:
            return None
        return self._local_user(response.user), _tokens(response.session)

    def start_session(self, user: User, tokens: Tokens | None) -> Tokens:
        assert tokens is not None  # Supabase made the session at sign-in
        return tokens

    def refresh(self, refresh_token: str) -> tuple[User, Tokens]:
        try:
            response = self._client().refresh_session(refresh_token)
        except AuthApiError as exc:
            raise Unauthorized(INVALID_REFRESH) from exc
        except AuthError as exc:
            raise DependencyUnavailable("Supabase Auth is unavailable") from exc
        user = self._local_user(response.user)
        if not user.is_active:
            raise Forbidden("User account is deactivated", key="err.deactivated")
        return user, _tokens(response.session)

    def sign_out(self, user_id: uuid.UUID, refresh_token: str | None, *, everywhere: bool, access_token: str) -> None:
        scope = "global" if everywhere or refresh_token is None else "local"
        try:
            self._client().admin.sign_out(access_token, scope)
        except AuthError as exc:
            logger.warning("Supabase sign-out failed", extra={"user_id": str(user_id), "error": type(exc).__name__})
        if scope == "global":
            self._cut_off(user_id)

    def _cut_off(self, user_id: uuid.UUID) -> None:
        # Whole second: Supabase dates the tokens it mints right after this to the same second (no forward dating).
        with session_scope() as session:
            users.cut_off_sessions(session, user_id, datetime.now(UTC).replace(microsecond=0))

    def change_password(self, user_id: uuid.UUID, current: str, new: str, *, access_token: str) -> Tokens:
        with session_scope() as session:
            user = users.get(session, user_id)
        if user is None:
            raise Unauthorized("Unknown user")
        if self.authenticate(user.email, current) is None:
            raise WrongCurrentPassword("Current password is incorrect")
        if current == new:
            raise ValidationFailed("The new password must differ from the current one")
        passwords.check_policy(new, email=user.email)
        try:
            self._admin.update_user_by_id(str(user_id), {"password": new})
            self._client().admin.sign_out(access_token, "global")
        except AuthError as exc:
            raise DependencyUnavailable("Supabase Auth refused the password change") from exc
        self._cut_off(user_id)
        found = self.authenticate(user.email, new)
        if found is None or found[1] is None:
            raise DependencyUnavailable("Supabase Auth did not accept the new password")
        return found[1]

    def end_all_sessions(self, user_id: uuid.UUID, reason: str) -> None:
        # GoTrue revokes sessions only with the user's own JWT; a deactivated user is refused here instead
        # (every request checks `is_active`, and refresh through this API checks it too).
        logger.info("deactivation: Supabase sessions left to expire", extra={"user_id": str(user_id), "reason": reason})

    def forget(self, user_id: uuid.UUID) -> None:
        try:
            self._admin.delete_user(str(user_id))
        except AuthError as exc:
            logger.warning(
                "could not delete the Supabase user", extra={"user_id": str(user_id), "error": type(exc).__name__}
            )
