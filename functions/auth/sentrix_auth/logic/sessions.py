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
from sentrix.i18n import t
from sentrix.observability import logger
from sentrix_auth.dal import users
from sentrix_auth.providers.base import IdentityProvider, NewAccount, Tokens, WrongCurrentPassword
from sentrix_auth.providers.factory import get_provider
from sentrix_auth.settings import get_auth_settings

BAD_CREDENTIALS = "Incorrect email or password"
TOO_MANY = "Too many failed sign-in attempts; try again later"
TOO_MANY_PASSWORD_CHANGES = "Too many wrong current passwords; try again later"  # noqa: S105 - a message


def _digest(*parts: str) -> str:
    # Hashed: the rate-limit tables should not become a list of the emails people tried.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _account_key(email: str) -> str:
    return "login:acct:" + _digest(email.lower())


def _pair_bucket(email: str, source_ip: str | None) -> str:
    return "login:acct-ip:" + _digest(email.lower(), source_ip or "unknown")


def _ip_bucket(source_ip: str | None) -> str:
    return f"login:ip:{source_ip or 'unknown'}"


def _limits() -> tuple[ratelimit.Limit, ratelimit.Limit, ratelimit.Backoff]:
    settings = get_auth_settings()
    window = settings.login_failure_window_s
    backoff = ratelimit.Backoff(
        start_after=settings.login_backoff_after,
        base_s=settings.login_backoff_base_s,
        max_s=settings.login_backoff_max_s,
        ceiling=settings.login_account_ceiling,
        lockout_s=settings.login_account_lockout_s,
    )
    return (
        ratelimit.Limit(settings.login_failures_per_account_ip, window),
        ratelimit.Limit(settings.login_failures_per_ip, window),
        backoff,
    )


def _refuse_if_throttled(email: str, source_ip: str | None) -> None:
    """429 if this source IP, this (account, IP) pair, or the account's failure streak refuses the attempt.

    A source without failures on the account is refused only by its own IP limit or the account's ceiling."""
    pair, ip, backoff = _limits()
    refusal = {"message": TOO_MANY, "key": "err.login_throttled"}
    with session_scope() as session:
        ratelimit.check(session, _ip_bucket(source_ip), ip, **refusal)
        ratelimit.check(session, _pair_bucket(email, source_ip), pair, **refusal)
        # Whether this source has failed on the account lately (this window or the last): the streak's backoff
        # applies to it. A fixed window alone would forget a failure a second old at the window's boundary.
        source_failed = ratelimit.hits_lately(session, _pair_bucket(email, source_ip), pair) > 0
        ratelimit.refuse_if_backing_off(session, _account_key(email), backoff, source_failed=source_failed, **refusal)


def _record_failure(email: str, source_ip: str | None) -> None:
    pair, ip, _backoff = _limits()
    with session_scope() as session:
        for bucket, limit in ((_pair_bucket(email, source_ip), pair), (_ip_bucket(source_ip), ip)):
            # This attempt is answered 401 whatever the count; the next one meets the 429.
            with contextlib.suppress(RateLimited):
                ratelimit.hit(session, bucket, limit, message=TOO_MANY)
        ratelimit.record_failure(session, _account_key(email))


def _record_success(session, email: str, source_ip: str | None) -> None:
    # The source IP's own count stays: signing into one account must not wash out failures on others.
    ratelimit.clear(session, _pair_bucket(email, source_ip))
    ratelimit.end_streak(session, _account_key(email))


def register(
    account: NewAccount, source_ip: str | None, provider: IdentityProvider | None = None
) -> tuple[User, Tokens]:
    """Create an account (at most N per source IP per window) and its first session."""
    settings = get_auth_settings()
    limit = ratelimit.Limit(settings.registrations_per_ip, settings.registration_window_s)
    with session_scope() as session:
        ratelimit.hit(
            session,
            f"register:ip:{source_ip or 'unknown'}",
            limit,
            message=t("err.signups_throttled"),
            key="err.signups_throttled",
        )
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
        raise Forbidden("User account is deactivated", key="err.deactivated")
    tokens = provider.start_session(user, provider_tokens)
    with session_scope() as session:
        _record_success(session, email, source_ip)
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


def change_password(user_id: uuid.UUID, current: str, new: str, *, access_token: str) -> Tokens:
    """Change the password; every other session ends. Wrong current passwords are limited per account in a
    bucket of their own, so they neither lock the account's sign-in nor are locked by failed sign-ins."""
    settings = get_auth_settings()
    limit = ratelimit.Limit(settings.password_change_failures, settings.password_change_window_s)
    bucket = f"password-change:user:{user_id}"
    refusal = {"message": TOO_MANY_PASSWORD_CHANGES, "key": "err.password_change_throttled"}
    with session_scope() as session:
        ratelimit.check(session, bucket, limit, **refusal)
    try:
        tokens = get_provider().change_password(user_id, current, new, access_token=access_token)
    except WrongCurrentPassword:
        with session_scope() as session, contextlib.suppress(RateLimited):
            ratelimit.hit(session, bucket, limit, **refusal)
        raise
    logger.info("password changed; sessions ended", extra={"user_id": str(user_id)})
    return tokens
