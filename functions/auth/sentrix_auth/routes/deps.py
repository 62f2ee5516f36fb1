"""Facts of the incoming API Gateway request that are not in the body: source IP and the bearer token."""

from __future__ import annotations

from fastapi import Request


def source_ip(request: Request) -> str | None:
    """The client IP API Gateway saw (`requestContext.identity.sourceIp`), not a spoofable header."""
    event = request.scope.get("aws.event") or {}
    return ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")


def bearer_token(request: Request) -> str:
    """The raw access token of this request ('' if none; the authorizer already verified it)."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
