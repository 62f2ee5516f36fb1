"""The SQS side of backpressure: a busy record's message is made visible again after its wait
(logic/backpressure.py decides the wait)."""

from __future__ import annotations

from typing import Any

from sentrix.adapters.aws import client
from sentrix.config import get_settings
from sentrix.observability import logger


def sqs_client() -> Any:
    return client("sqs")


def put_back(receipt_handle: str, delay: int) -> bool:
    """Make the message visible again in `delay` seconds; False (logged) if SQS could not be told.

    Then the message comes back after the queue's visibility timeout instead: later, never lost.
    """
    queue_url = get_settings().detect_queue_url
    if not queue_url:
        logger.warning("DETECT_QUEUE_URL is not set; the busy message waits out the visibility timeout")
        return False
    try:
        sqs_client().change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
        )
    except Exception as exc:
        logger.warning("could not change the message's visibility", extra={"error": f"{type(exc).__name__}: {exc}"})
        return False
    return True
