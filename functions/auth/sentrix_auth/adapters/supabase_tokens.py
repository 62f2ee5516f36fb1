"""Verification of Supabase-issued access tokens for the authorizer (AUTH_PROVIDER=supabase). PyJWT only.

HS256 with the project's JWT secret (`SUPABASE_JWT_SECRET` locally, `jwt_secret` of the `SUPABASE_SECRET_ARN`
secret in the cloud), or the project's asymmetric keys from `SUPABASE_JWKS_URL` (ES256 by default, RS256 if
`SUPABASE_JWT_ALGORITHM` says so). Exactly one algorithm is accepted either way.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from sentrix.domain.roles import Role
from sentrix.tokens import AccessClaims, InvalidToken, KeysUnavailable

_ASYMMETRIC = ("ES256", "RS256")


@dataclass(frozen=True)
class SupabaseVerification:
    issuer: str
    audience: str
    algorithm: str
    secret: str | None
    jwks_url: str | None
    leeway_s: int


@functools.cache
def _read_secret(arn: str) -> dict[str, Any]:
    import boto3  # cloud path only

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    client = boto3.client("secretsmanager", region_name=os.environ.get("AWS_REGION"), endpoint_url=endpoint)
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])


def verification_settings() -> SupabaseVerification:
    """Read (cheaply, every call) how Supabase tokens are verified; KeysUnavailable if it is not configured."""
    url = (os.environ.get("SUPABASE_URL") or "").rstrip("/")
    if not url:
        raise KeysUnavailable("SUPABASE_URL is not set")
    jwks_url = os.environ.get("SUPABASE_JWKS_URL") or None
    secret = os.environ.get("SUPABASE_JWT_SECRET") or None
    if not jwks_url and not secret and os.environ.get("SUPABASE_SECRET_ARN"):
        try:
            secret = _read_secret(os.environ["SUPABASE_SECRET_ARN"]).get("jwt_secret")
        except Exception as exc:
            raise KeysUnavailable("The Supabase secret cannot be read") from exc
    if not jwks_url and not secret:
        raise KeysUnavailable("Neither SUPABASE_JWKS_URL nor a Supabase JWT secret is configured")
    algorithm = os.environ.get("SUPABASE_JWT_ALGORITHM") or ("ES256" if jwks_url else "HS256")
    if (algorithm in _ASYMMETRIC) != bool(jwks_url) or algorithm not in (*_ASYMMETRIC, "HS256"):
        raise KeysUnavailable("SUPABASE_JWT_ALGORITHM does not fit the configured key source")
    return SupabaseVerification(
        issuer=f"{url}/auth/v1",
        audience=os.environ.get("SUPABASE_JWT_AUDIENCE") or "authenticated",
        algorithm=algorithm,
        secret=secret,
        jwks_url=jwks_url,
        leeway_s=int(os.environ.get("AUTH_CLOCK_LEEWAY_S") or 30),
    )


@functools.cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    # Caches the key set for the life of the execution environment and refetches on an unknown kid.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def forget_secrets() -> None:
    """Drop the Supabase JWT secret and the JWKS clients read so far (SnapStart: sentrix.snapstart)."""
    _read_secret.cache_clear()
    _jwks_client.cache_clear()


def verify_supabase_token(token: str) -> AccessClaims:
    """Verify a Supabase access token; its role here is only a hint (the database's role is the one used)."""
    settings = verification_settings()
    try:
        if settings.jwks_url:
            key: Any = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token).key
        else:
            key = settings.secret
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_s,
            options={"require": ["sub", "aud", "iss", "exp", "iat"]},
        )
        hinted = (claims.get("app_metadata") or {}).get("sentrix_role")
        return AccessClaims(
            user_id=uuid.UUID(str(claims["sub"])),
            role=Role(hinted) if hinted in {r.value for r in Role} else Role.USER,
            email=claims.get("email") if isinstance(claims.get("email"), str) else None,
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            jti=str(claims.get("session_id") or claims.get("jti") or ""),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken("Invalid or expired token") from exc
