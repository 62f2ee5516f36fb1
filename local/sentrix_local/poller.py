"""Feed an SQS queue to its consumer function in batches, with Lambda's partial-failure semantics."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from sentrix_local.invoke import LocalFunction
from sentrix_local.logs import say


class QueuePoller:
    """Like Lambda's event source mapping: receive, invoke, delete what succeeded, leave the rest.

    One deliberate deviation: failed messages become visible again `retry_delay_s` after they were received
    instead of after the queue's full visibility timeout, so a local retry takes seconds, not minutes. The
    poller receives with that visibility timeout and does not touch a failed message afterwards, so a
    visibility the function itself set (detect puts a message back for later when YOLO is busy,
    ChangeMessageVisibility) is kept, as the real event source mapping keeps it. One poller per queue, one
    batch at a time: a message cannot come back to it while its batch is still being processed.

    Fault knob `redeliver_fraction` (SENTRIX_SQS_REDELIVER_FRACTION): SQS delivers at least once, so a
    message the function already processed may come again. That fraction of the messages, chosen by a
    hash of the message id (deterministic), is not deleted after it succeeds but made visible again
    `retry_delay_s` later, `redeliver_times` times (2 by default); only then is it deleted. The
    redeliveries are real SQS receives (ApproximateReceiveCount goes up), mixed into later batches.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        function: LocalFunction,
        *,
        batch_size: int,
        retry_delay_s: int = 5,
        wait_s: int = 1,
        redeliver_fraction: float = 0.0,
        redeliver_times: int = 2,
    ) -> None:
        if not 0.0 <= redeliver_fraction <= 1.0:
            raise ValueError("redeliver_fraction must be between 0 and 1")
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function = function
        self.batch_size = batch_size
        self.retry_delay_s = retry_delay_s
        self.wait_s = wait_s
        self.redeliver_fraction = redeliver_fraction
        self.redeliver_times = redeliver_times
        self._redelivered: dict[str, int] = {}  # message id -> redeliveries done so far
        self.redeliveries = 0  # redeliveries scheduled since start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": "us-east-1",
        }

    def poll_once(self) -> int:
        """Receive one batch and process it; returns how many messages were received."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            VisibilityTimeout=self.retry_delay_s,
            WaitTimeSeconds=self.wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        event = {"Records": [self._record(m) for m in received]}
        try:
            response = self.function.invoke(event) or {}
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception as exc:
            say("poller", f"invocation failed: {type(exc).__name__}: {exc}", "ERROR")
            failed = {m["MessageId"] for m in received}
        succeeded = [m for m in received if m["MessageId"] not in failed]
        again = {m["MessageId"] for m in succeeded if self._redeliver(m["MessageId"])}
        done = [m for m in succeeded if m["MessageId"] not in again]
        for message_id in again:
            say("poller", f"redelivery {message_id} {self._redelivered[message_id]}/{self.redeliver_times}")
        # Failed messages come back on their own (the receive's timeout, or what the function set); processed
        # messages chosen for redelivery come back after the retry delay.
        for message in received:
            if message["MessageId"] in again:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_s,
                )
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        say("poller", f"delivered {len(received)} message(s): {len(done)} ok, {len(failed)} failed")
        return len(received)

    def selected_for_redelivery(self, message_id: str) -> bool:
        """Whether this message is one of the `redeliver_fraction` that SQS delivers again (by id hash)."""
        if self.redeliver_fraction <= 0:
            return False
        digest = hashlib.sha256(message_id.encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.redeliver_fraction

    def _redeliver(self, message_id: str) -> bool:
        """Count one more redelivery of a processed message, or return False once it has had them all."""
        if not self.selected_for_redelivery(message_id):
            return False
        done = self._redelivered.get(message_id, 0)
        if done >= self.redeliver_times:
            self._redelivered.pop(message_id, None)
            return False
        self._redelivered[message_id] = done + 1
        self.redeliveries += 1
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                say("poller", f"error: {type(exc).__name__}: {exc}", "ERROR")
                self._stop.wait(1)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqs-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.wait_s + 5)
