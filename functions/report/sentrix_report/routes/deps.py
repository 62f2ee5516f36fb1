"""Who calls a public map route: API Gateway runs no authorizer there, so a bearer token is checked here.

Public routes (heatmap-data, map-stats, tiles) give more to signed-in callers, as the original meant to
(its optional auth never worked). With no `Authorization` header the caller is anonymous. With one, the
token is verified like the authorizer does (built-in ES256 tokens, `sentrix.tokens`, against the public key
set only: this function cannot read the private signing key) and the user's row is
checked like on every other route; a bad or expired token is a 401, so clients know to refresh instead of
silently getting the anonymous view. With the Supabase provider, or when no key material is configured,
the header is ignored and the caller gets the anonymous view (documented in docs/report.md).
"""

from __future__ import annotations

import os

from fastapi import Request

from sentrix.errors import Unauthorized
from sentrix.http.identity import (
    Principal,
    TokenIdentity,
    check_against_database,
    current_principal,
    identity_from_event,
    optional_principal,
)
from sentrix.http.locale import locale_dependency
from sentrix.observability import logger


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def public_caller(request: Request) -> Principal | None:
    """FastAPI dependency for public routes: the signed-in caller, or None for anonymous calls."""
    if identity_from_event(request.scope.get("aws.event")) is not None:
        return optional_principal(request)
    token = _bearer(request)
    if token is None or (os.environ.get("AUTH_PROVIDER") or "builtin") != "builtin":
        return None
    from sentrix.tokens import InvalidToken, KeysUnavailable, verify_access_token

    try:
        claims = verify_access_token(token)
    except InvalidToken as exc:
        raise Unauthorized("Invalid or expired token") from exc
    except KeysUnavailable:
        logger.warning("token on a public route but no key material: answering as anonymous")
        return None
    principal = Principal(user_id=claims.user_id, role=claims.role, email=claims.email)
    return check_against_database(TokenIdentity(principal, claims.issued_at, claims.session_id))


# The caller's language and time zone (sentrix.http.locale): `language` is a declared query parameter of
# every route that uses one of these, so strict parameter checks know it.
caller_locale = locale_dependency(current_principal)
public_locale = locale_dependency(public_caller)
