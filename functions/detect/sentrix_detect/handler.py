"""SQS entry point of the detect function: one record at a time, partial batch failures reported."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from sentrix.observability import logger, metrics, tracer
from sentrix_detect.events import objects_in

processor = BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord) -> list[str]:
    """Handle one SQS message; raising marks it failed so SQS delivers it again."""
    objects = objects_in(record.body)
    for obj in objects:
        logger.info("object received", extra={"bucket": obj.bucket, "key": obj.key, "size": obj.size})
    return [obj.key for obj in objects]


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)
