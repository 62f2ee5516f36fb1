"""Route dependencies that bound a request: its class's statement_timeout and, for costly routes, a quota."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from sentrix.http.bounds import RouteClass, route_class
from sentrix.http.identity import Principal, current_principal
from sentrix_report.logic.quotas import Costly, spend

__all__ = ["Costly", "RouteClass", "costly", "route_class"]


def costly(kind: Costly) -> Any:
    """`dependencies=[costly(Costly.HOTSPOTS)]`: the signed-in caller spends one of their `kind` requests."""

    def _spend(principal: Principal = Depends(current_principal)) -> None:
        spend(principal, kind)

    _spend.__name__ = f"spend_{kind.value}"
    return Depends(_spend)
