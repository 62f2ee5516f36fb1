"""An SQS batch through the pipeline: partial batch failures, and a deadline taken from the Lambda context."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from sentrix.observability import logger
from sentrix_detect.adapters.queue import put_back
from sentrix_detect.logic.backpressure import Delayed
from sentrix_detect.logic.events import is_redriven, objects_in
from sentrix_detect.logic.model import RetryLater
from sentrix_detect.logic.pipeline import DetectPipeline
from sentrix_detect.settings import get_detect_settings


class TimeBudget:
    """Whether there is still time to start a record: Lambda kills the whole batch at its timeout."""

    def __init__(self, context: Any, margin_ms: int) -> None:
        self._remaining = getattr(context, "get_remaining_time_in_millis", None)
        self.margin_ms = margin_ms

    def exhausted(self) -> bool:
        return self._remaining is not None and self._remaining() < self.margin_ms


def handle_record(record: SQSRecord, pipeline: DetectPipeline, budget: TimeBudget) -> None:
    """Process every object of one message; RetryLater (or any error) marks the message failed."""
    if budget.exhausted():
        # Not started, so nothing to undo: the message simply comes back after its visibility timeout.
        raise RetryLater("not started: too little time left in this invocation")
    objects = objects_in(record.body)
    receive_count = int(record.attributes.approximate_receive_count or 1)
    redriven = is_redriven(record.raw_event.get("messageAttributes"))
    retry: list[str] = []
    wait: int | None = None
    for index, obj in enumerate(objects):
        if index and budget.exhausted():
            retry.append(f"{obj.key}: not started, too little time left")
            continue
        try:
            pipeline.process(obj, receive_count=receive_count, redriven=redriven)
        except Delayed as exc:
            wait = max(wait or 0, exc.delay_s)
            retry.append(f"{obj.key}: {exc}")
        except RetryLater as exc:
            retry.append(f"{obj.key}: {exc}")
    if wait is not None:
        # YOLO is busy (or the message is on its way to the DLQ): it comes back after the wait, not after the
        # queue's visibility timeout.
        put_back(record.receipt_handle, wait)
    if retry:
        raise RetryLater("; ".join(retry))


def process_batch(event: dict[str, Any], context: Any, pipeline: DetectPipeline | None = None) -> dict[str, Any]:
    """Run an SQS event through the pipeline and answer with the records SQS must deliver again."""
    pipeline = pipeline or default_pipeline()
    budget = TimeBudget(context, get_detect_settings().time_margin_ms)
    # One processor per invocation: it keeps per-batch state, and tests invoke the handler from threads.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event,
        record_handler=lambda record: handle_record(record, pipeline, budget),
        processor=processor,
        context=context,
    )
    failures = response.get("batchItemFailures", [])
    if failures:
        logger.info("records to be delivered again", extra={"failed": len(failures), "total": len(event["Records"])})
    return response


_pipeline: DetectPipeline | None = None


def default_pipeline() -> DetectPipeline:
    """The pipeline with the real collaborators, built once per execution environment."""
    global _pipeline
    if _pipeline is None:
        _pipeline = DetectPipeline()
    return _pipeline


def reset_default_pipeline() -> None:
    """Forget the cached pipeline (tests that change settings)."""
    global _pipeline
    _pipeline = None
