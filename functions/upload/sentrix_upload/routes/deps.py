"""FastAPI dependencies the upload routes share: the caller's address (strict query strings: sentrix.http.query)."""

from __future__ import annotations

from fastapi import Request


def source_ip(request: Request) -> str:
    """The client address API Gateway saw (requestContext.identity.sourceIp), for per-IP limits."""
    event = request.scope.get("aws.event") or {}
    ip = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    if ip:
        return str(ip)
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"
