"""Scheduled entry point of the delivery worker (EventBridge, every minute): one run of logic/delivery_run.py."""

from __future__ import annotations

from typing import Any

from sentrix.db import budget
from sentrix.observability import logger, metrics, traced
from sentrix_report.logic.delivery_run import run_deliveries


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = budget.start(None, budget.RouteClass.WORKER)
    try:
        time_left = getattr(context, "get_remaining_time_in_millis", None)
        summary = run_deliveries(time_left_ms=time_left)
    finally:
        budget.end(token)
    return {
        "claimed": summary.claimed,
        "delivered": summary.delivered,
        "retried": summary.retried,
        "dead": summary.dead,
        "left": summary.left,
    }
