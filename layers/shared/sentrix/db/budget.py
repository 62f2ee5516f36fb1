"""How long a statement may run: the route class's `statement_timeout`, never past the Lambda's remaining time.

The handler starts a budget from the invocation context (`start`), a route dependency names its class
(`use_class`), and the engine reads `statement_timeout_ms()` whenever a transaction begins and sets it with
`set_config('statement_timeout', …, true)` (SET LOCAL: it ends with the transaction, so RDS Proxy pins the
connection for that transaction only). An abandoned query then dies on the server with its request.

A context variable carries the budget: each invocation runs in its own asyncio task (Mangum), which copies
the context, so one request's budget never leaks into the next.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sentrix.config import get_settings
from sentrix.errors import QueryTimeout


class RouteClass(StrEnum):
    """How long a route's statements may run (seconds in `Settings.db_timeout_<class>_s`)."""

    PUBLIC = "public"  # anonymous maps: short, they must stay fast for everyone
    USER = "user"  # signed-in reads and writes (the default)
    EXPERT = "expert"  # reports, exports, hotspots: city-sized aggregates
    WORKER = "worker"  # queue consumers (detect)


@dataclass(frozen=True)
class Budget:
    route_class: RouteClass
    # time.monotonic() by which every statement must have ended (Lambda deadline minus the margin), if known.
    deadline: float | None = None


_budget: ContextVar[Budget | None] = ContextVar("sentrix_query_budget", default=None)

# Below this many milliseconds left a statement is not worth starting: the request is answered 503 at once.
MIN_STATEMENT_MS = 50


def start(context: Any = None, route_class: RouteClass = RouteClass.USER) -> Token:
    """Open the budget of one invocation: `context` is Lambda's (its `get_remaining_time_in_millis`), if any."""
    deadline = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        margin_s = get_settings().db_timeout_margin_ms / 1000
        deadline = time.monotonic() + remaining() / 1000 - margin_s
    return _budget.set(Budget(route_class, deadline))


def end(token: Token) -> None:
    """Restore the time budget that was in force before `start`."""
    _budget.reset(token)


def use_class(route_class: RouteClass) -> None:
    """Name the route class of the current request, keeping its deadline."""
    current = _budget.get()
    _budget.set(replace(current, route_class=route_class) if current else Budget(route_class))


def class_timeout_ms(route_class: RouteClass) -> int:
    """The statement timeout of a route class from the settings, in milliseconds."""
    return int(getattr(get_settings(), f"db_timeout_{route_class.value}_s") * 1000)


def statement_timeout_ms() -> int:
    """The statement_timeout for a transaction starting now; QueryTimeout when the request has no time left."""
    budget = _budget.get() or Budget(RouteClass.USER)
    timeout = class_timeout_ms(budget.route_class)
    if budget.deadline is not None:
        left = int((budget.deadline - time.monotonic()) * 1000)
        if left < MIN_STATEMENT_MS:
            raise query_timeout()
        timeout = min(timeout, left)
    return timeout


def query_timeout() -> QueryTimeout:
    """The 503 of a statement cancelled by its timeout (or not started for want of time)."""
    return QueryTimeout(
        "The query took too long and was cancelled: narrow your filters (a smaller area, fewer days) and retry",
        retry_after=get_settings().db_timeout_retry_after_s,
        key="err.query_timeout",
    )


def set_timeout_sql(timeout_ms: int) -> str:
    """The SET LOCAL of a statement_timeout, as a select list item (an int: safe to render, no parameter)."""
    return f"set_config('statement_timeout', '{int(timeout_ms)}', true)"
