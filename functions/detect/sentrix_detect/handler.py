"""SQS entry point of the detect function: the batch goes to the pipeline, failed records come back."""

from __future__ import annotations

from typing import Any

from sentrix.db import budget
from sentrix.observability import logger, metrics, traced
from sentrix_detect.logic.pipeline import DetectPipeline
from sentrix_detect.logic.records import process_batch


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@traced  # X-Ray subsegments when tracing is on (the template's Tracing: Active); no X-Ray SDK otherwise
def handler(event: dict[str, Any], context: Any, pipeline: DetectPipeline | None = None) -> dict[str, Any]:
    """Lambda calls this with (event, context); tests may pass their own pipeline."""
    # Detect's writes run under the worker class's statement_timeout. The invocation's deadline is logic/records.py's
    # to keep: it starts no record with less than its safety margin (30 s) left, so the class bounds the rest.
    token = budget.start(None, budget.RouteClass.WORKER)
    try:
        return process_batch(event, context, pipeline)
    finally:
        budget.end(token)
