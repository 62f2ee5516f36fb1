"""The detect queue: re-enqueue work (retries, redrive) and check reachability."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sentrix.adapters.aws import client
from sentrix.config import get_settings
from sentrix.errors import DependencyUnavailable


class WorkQueue(Protocol):
    def send(self, body: dict[str, Any]) -> str: ...
    def ping(self) -> None: ...


class SqsWorkQueue:
    def __init__(self, queue_url: str | None = None, sqs: Any | None = None) -> None:
        self.queue_url = queue_url or get_settings().detect_queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = client("sqs")
        return self._sqs

    def _url(self) -> str:
        if not self.queue_url:
            raise DependencyUnavailable("Detect queue is not configured (DETECT_QUEUE_URL)")
        return self.queue_url

    def send(self, body: dict[str, Any]) -> str:
        try:
            response = self.sqs.send_message(QueueUrl=self._url(), MessageBody=json.dumps(body))
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailable("Queue unavailable") from exc
        return response["MessageId"]

    def ping(self) -> None:
        try:
            self.sqs.get_queue_attributes(QueueUrl=self._url(), AttributeNames=["QueueArn"])
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailable("Queue unavailable") from exc
