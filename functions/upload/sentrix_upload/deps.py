"""FastAPI dependencies the upload routes share: caller's address, strict query strings."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import Request

from sentrix.errors import ValidationFailed


def source_ip(request: Request) -> str:
    """The client address API Gateway saw (requestContext.identity.sourceIp), for per-IP limits."""
    event = request.scope.get("aws.event") or {}
    ip = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    if ip:
        return str(ip)
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"


def only_query_params(allowed: Iterable[str]) -> Callable[[Request], None]:
    """A dependency refusing query parameters the route does not know (a typo must not widen a filter)."""
    known = frozenset(allowed)

    def dependency(request: Request) -> None:
        unknown = sorted(set(request.query_params.keys()) - known)
        if unknown:
            raise ValidationFailed(
                f"Unknown query parameter(s): {', '.join(unknown)}",
                details={"unknown": unknown, "allowed": sorted(known)},
            )

    return dependency
