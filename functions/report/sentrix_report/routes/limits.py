"""Route dependencies that bound a request: its class's statement_timeout and, for costly routes, a quota."""

from __future__ import annotations

from sentrix.http.bounds import RouteClass, route_class
from sentrix_report.logic.quotas import Costly, spend

# A costly route calls `spend(principal, Costly.X)` first thing in its body: after every parameter and the body
# validated (a route dependency would run before them and count malformed requests too).
__all__ = ["Costly", "RouteClass", "route_class", "spend"]
