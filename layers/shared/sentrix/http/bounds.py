"""The route class of a request, as a FastAPI dependency: how long its statements may run (sentrix.db.budget)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from sentrix.db import budget
from sentrix.db.budget import RouteClass

__all__ = ["RouteClass", "route_class"]


def route_class(kind: RouteClass) -> Any:
    """`dependencies=[route_class(RouteClass.PUBLIC)]` on a router or a route; routes without one are USER.

    Route dependencies run before the parameters' (the caller's identity read included), so every statement
    of the request runs under the class. Async: it runs in the request's own task, whose context it sets.
    """

    async def _route_class() -> None:
        budget.use_class(kind)

    _route_class.__name__ = f"route_class_{kind.value}"
    return Depends(_route_class)
