"""API Gateway REQUEST authorizer: verify the bearer token, allow the whole API, hand the identity on.

Runs in front of every protected request, so it imports only PyJWT, cryptography, the stdlib and the SnapStart
hook registry (no FastAPI, SQLAlchemy, pydantic, Powertools or supabase): `bench/bench_authorizer.py` holds its
cold import to ≤ 2× a bare `import jwt`. It decides only "is this token ours and current"; whether the account
is still active and what role it has now is checked per request by `sentrix.http.identity.current_principal`,
because API Gateway caches this answer for 300 s.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from sentrix import snapstart
from sentrix.tokens import AccessClaims, InvalidToken, KeysUnavailable, verify_access_token

UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway turns into a 401

snapstart.install("authorizer")  # SnapStart runtime hooks (docs/infra.md (SnapStart))


def _log(level: str, message: str, **facts: Any) -> None:
    # One JSON line per decision, Powertools-shaped, without Powertools' import cost. Never the token.
    record = {"level": level, "service": "authorizer", "message": message, "timestamp": time.time(), **facts}
    print(json.dumps(record, default=str), file=sys.stdout, flush=True)


def bearer_token(event: dict[str, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (header names are case-insensitive)."""
    headers = event.get("headers") or {}
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if not isinstance(value, str):
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def api_wide_resource(method_arn: str) -> str:
    """`arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/*` from the method ARN of this request.

    The policy must cover every route: API Gateway caches it by token and reuses it for other routes.
    """
    parts = method_arn.split("/")
    if len(parts) < 2 or not parts[0].startswith("arn:aws") or ":execute-api:" not in parts[0]:
        raise ValueError("Not an execute-api method ARN")
    return f"{parts[0]}/{parts[1]}/*"


def context_for(claims: AccessClaims) -> dict[str, str]:
    """The authorizer context (strings only, as API Gateway passes them on) handlers read the caller from."""
    return {
        "user_id": str(claims.user_id),
        "role": claims.role.value,
        "email": claims.email or "",
        "iat": str(claims.issued_at),
        # The session the token belongs to (checked per request against ended sessions); "" if none.
        "sid": str(claims.session_id) if claims.session_id else "",
    }


def policy_for(claims: AccessClaims, method_arn: str) -> dict[str, Any]:
    """An Allow policy for the whole API, with the caller's identity as principal and context."""
    return {
        "principalId": str(claims.user_id),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api_wide_resource(method_arn)}
            ],
        },
        "context": context_for(claims),
    }


def _verifier() -> Callable[[str], AccessClaims]:
    if (os.environ.get("AUTH_PROVIDER") or "builtin").lower() == "supabase":
        # Imported only on this path: it reads the Supabase verification settings (still PyJWT only).
        from sentrix_auth.adapters.supabase_tokens import verify_supabase_token

        return verify_supabase_token
    return verify_access_token


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: an Allow policy for a valid token, `Exception("Unauthorized")` (401) otherwise."""
    request_id = getattr(context, "aws_request_id", None)
    token = bearer_token(event)
    if token is None:
        _log("INFO", "denied", reason="no bearer token", request_id=request_id)
        raise Exception(UNAUTHORIZED)
    try:
        claims = _verifier()(token)
        policy = policy_for(claims, str(event.get("methodArn") or ""))
    except InvalidToken as exc:
        _log("INFO", "denied", reason=str(exc), request_id=request_id)
        raise Exception(UNAUTHORIZED) from None
    except ValueError as exc:
        _log("WARNING", "denied", reason=str(exc), request_id=request_id)
        raise Exception(UNAUTHORIZED) from None
    except KeysUnavailable as exc:
        # A deployment fault: answer 500 (not 401, which would send clients into refresh loops).
        _log("ERROR", "no verification keys", reason=str(exc), request_id=request_id)
        raise RuntimeError("Authorizer is not configured") from None
    _log("INFO", "allowed", user_id=str(claims.user_id), role=claims.role.value, request_id=request_id)
    return policy
