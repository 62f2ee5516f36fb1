"""The detect function's cold-start floor (issue 21): Powertools Logger/Metrics and batch processing of SQS
records, SQLAlchemy Core with the pg8000 dialect (engine built, not connected) and an httpx client."""

import httpx
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from sqlalchemy import create_engine, text

logger = Logger(service="floor")
metrics = Metrics(namespace="Floor", service="floor")
processor = BatchProcessor(event_type=EventType.SQS)
engine = create_engine("postgresql+pg8000://floor:floor@localhost:5432/floor")
client = httpx.Client(timeout=10.0)
ping = text("SELECT 1")


def record_handler(record: object) -> None:
    return None


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
