"""Sign-up, sign-in, refresh, sign-out and password change: throttling and account checks around the provider."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import UTC, datetime

from sentrix import ratelimit
from sentrix.db.engine import session_scope
from sentrix.db.models import User
from sentrix.errors import Forbidden, RateLimited, Unauthorized
from sentrix.observability import logger
from sentrix_auth.config import get_auth_settings
from sentrix_auth.dal import users
from sentrix_auth.providers.base import IdentityProvider, NewAccount, Tokens, WrongCurrentPassword, get_provider

BAD_CREDENTIALS = "Incorrect email or password"
TOO_MANY = "Too many failed sign-in attempts; try again later"


def _account_bucket(email: str) -> str:
    # Hashed: the rate-limit table should not become a list of the emails people tried.
    return "login:acct:" + hashlib.sha256(email.lower().encode()).hexdigest()[:32]


def _ip_bucket(source_ip: str | None) -> str:
    return f"login:ip:{source_ip or 'unknown'}"


def _limits() -> tuple[ratelimit.Limit, ratelimit.Limit]:
    settings = get_auth_settings()
    window = settings.login_failure_window_s
    return ratelimit.Limit(settings.login_failures_per_account, window), ratelimit.Limit(
        settings.login_failures_per_ip, window
    )


def _refuse_if_throttled(email: str, source_ip: str | None) -> None:
    account, ip = _limits()
    with session_scope() as session:
        ratelimit.check(session, _account_bucket(email), account, message=TOO_MANY)
        ratelimit.check(session, _ip_bucket(source_ip), ip, message=TOO_MANY)


def _record_failure(email: str, source_ip: str | None) -> None:
    account, ip = _limits()
    with session_scope() as session:
        for bucket, limit in ((_account_bucket(email), account), (_ip_bucket(source_ip), ip)):
            # This attempt is answered 401 whatever the count; the next one meets the 429.
            with contextlib.suppress(RateLimited):
                ratelimit.hit(session, bucket, limit, message=TOO_MANY)


def register(
    account: NewAccount, source_ip: str | None, provider: IdentityProvider | None = None
) -> tuple[User, Tokens]:
    """Create an account (at most N per source IP per window) and its first session."""
    settings = get_auth_settings()
    limit = ratelimit.Limit(settings.registrations_per_ip, settings.registration_window_s)
    with session_scope() as session:
        ratelimit.hit(session, f"register:ip:{source_ip or 'unknown'}", limit, message="Too many sign-ups; try later")
    user, tokens = (provider or get_provider()).register(account)
    logger.info("user registered", extra={"user_id": str(user.id)})
    return user, tokens


def login(
    email: str, password: str, source_ip: str | None, provider: IdentityProvider | None = None
) -> tuple[User, Tokens]:
    """Sign in: 429 while throttled, 401 for bad credentials (same answer for unknown emails), 403 if deactivated."""
    provider = provider or get_provider()
    _refuse_if_throttled(email, source_ip)
    found = provider.authenticate(email, password)
    if found is None:
        _record_failure(email, source_ip)
        raise Unauthorized(BAD_CREDENTIALS)
    user, provider_tokens = found
    if not user.is_active:
        if provider_tokens is not None:
            provider.sign_out(
                user.id, provider_tokens.refresh_token, everywhere=False, access_token=provider_tokens.access_token
            )
        raise Forbidden("User account is deactivated")
    tokens = provider.start_session(user, provider_tokens)
    with session_scope() as session:
        ratelimit.clear(session, _account_bucket(email))
        stored = users.get(session, user.id)
        stored.last_login = datetime.now(UTC)
        session.flush()
        session.refresh(stored)
    logger.info("user signed in", extra={"user_id": str(user.id)})
    return stored, tokens


def refresh(refresh_token: str, provider: IdentityProvider | None = None) -> Tokens:
    """Rotate a refresh token into a new pair."""
    _user, tokens = (provider or get_provider()).refresh(refresh_token)
    return tokens


def logout(user_id: uuid.UUID, refresh_token: str | None, *, everywhere: bool, access_token: str) -> None:
    """Revoke the session of `refresh_token`, or every session (and live access token) of the user."""
    get_provider().sign_out(user_id, refresh_token, everywhere=everywhere, access_token=access_token)
    logger.info("user signed out", extra={"user_id": str(user_id), "everywhere": everywhere or not refresh_token})


def change_password(
    user_id: uuid.UUID, email: str | None, current: str, new: str, source_ip: str | None, *, access_token: str
) -> Tokens:
    """Change the password (wrong current passwords count as failed sign-ins); every other session ends."""
    _refuse_if_throttled(email or str(user_id), source_ip)
    try:
        tokens = get_provider().change_password(user_id, current, new, access_token=access_token)
    except WrongCurrentPassword:
        _record_failure(email or str(user_id), source_ip)
        raise
    logger.info("password changed; sessions ended", extra={"user_id": str(user_id)})
    return tokens
