"""Security headers on every response of every HTTP function, set once here (issue 14, point 9).

- `X-Content-Type-Options: nosniff` always: a browser must not read a JSON error or a CSV export as HTML.
- `Strict-Transport-Security` always: the API is HTTPS-only (API Gateway serves no plain HTTP); the header keeps
  a browser from ever trying plain HTTP to the domain (max-age one year, subdomains included, no preload).
- `Cache-Control: no-store` unless the route set its own: answers carry tokens or personal data (login, refresh,
  me, users, analyses, detections, reports and files of a signed-in caller), and a response that may be cached
  says so itself (map tiles: `public` for anonymous, `private` for signed-in callers, sentrix_report.logic.tiles).

The gateway's own answers (GatewayResponses in infra/template.yaml) carry the same three headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HSTS = "max-age=31536000; includeSubDomains"
NO_STORE = "no-store"
# Set on every response, replacing any value a route gave.
ALWAYS = {"X-Content-Type-Options": "nosniff", "Strict-Transport-Security": HSTS}
# Set when the route gave none.
BY_DEFAULT = {"Cache-Control": NO_STORE}


def security_headers() -> dict[str, str]:
    """The headers of a response built outside the middleware (a 500 from Starlette's outermost error handler)."""
    return {**ALWAYS, **BY_DEFAULT}


class SecurityHeadersMiddleware:
    """Add ALWAYS to every response and BY_DEFAULT where the route did not decide (pure ASGI: no body buffering)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        always = [(name.lower().encode(), value.encode()) for name, value in ALWAYS.items()]
        defaults = [(name.lower().encode(), value.encode()) for name, value in BY_DEFAULT.items()]

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                replaced = {name for name, _ in always}
                headers = [h for h in message.get("headers", []) if h[0].lower() not in replaced]
                present = {h[0].lower() for h in headers}
                message["headers"] = [*headers, *always, *(h for h in defaults if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
