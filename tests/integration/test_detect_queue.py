"""The S3 → SQS → detect path on moto's server: the notification from the template reaches the handler."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import unquote_plus

import boto3
import pytest

from tests.builders import LambdaContext, s3_notification, sqs_event

pytestmark = pytest.mark.integration


def receive_all(sqs, queue_url: str, expected: int, timeout: float = 10, about: str | None = None) -> list[dict]:
    """Messages received (and deleted) until `expected` of them name `about` (any message when None).

    The queue is the session's: a message another test received without deleting comes back when its visibility
    ends, whatever was drained before, so a test counts only the messages about its own objects."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout

    def counted() -> int:
        return sum(1 for m in messages if about is None or about in keys_in(m["Body"]))

    while counted() < expected and time.monotonic() < deadline:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in batch.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            messages.append(message)
    return messages


def keys_in(body: str) -> list[str]:
    """The object keys an S3 notification names, decoded as S3 sends them (our parser is not used for this)."""
    try:
        records = json.loads(body).get("Records", [])
    except (ValueError, AttributeError):
        return []
    return [unquote_plus(r["s3"]["object"]["key"]) for r in records if "s3" in r]


@pytest.fixture
def clients(aws):
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url)
    receive_all(sqs, aws.queue_url, expected=100, timeout=1)  # drain the s3:TestEvent and leftovers
    return s3, sqs


def test_upload_under_incoming_notifies_the_queue_and_the_handler_reads_it(aws, clients):
    from sentrix_detect.handler import handler

    s3, sqs = clients
    analysis = uuid.uuid4()
    key = f"incoming/user-1/{analysis}/foto de la calle.jpg"
    processed = f"processed/user-1/{analysis}.jpg"
    s3.put_object(Bucket=aws.bucket, Key=processed, Body=b"ignored")
    s3.put_object(Bucket=aws.bucket, Key=key, Body=b"\xff\xd8\xff fake jpeg")

    received = receive_all(sqs, aws.queue_url, expected=1, about=key)
    messages = [m for m in received if key in keys_in(m["Body"])]
    assert len(messages) == 1
    assert not [m for m in received if processed in keys_in(m["Body"])]  # only incoming/ notifies
    record = json.loads(messages[0]["Body"])["Records"][0]
    assert record["s3"]["object"]["key"] != key  # moto, like S3, URL-encodes the key

    from sentrix_detect.logic.events import objects_in

    objects = objects_in(messages[0]["Body"])
    assert [o.key for o in objects] == [key]
    assert objects[0].bucket == aws.bucket

    response = handler(sqs_event(messages[0]["Body"]), LambdaContext("DetectFunction", 60))
    assert response == {"batchItemFailures": []}


def test_test_event_and_foreign_prefixes_are_no_ops():
    from sentrix_detect.logic.events import objects_in

    assert objects_in(json.dumps({"Event": "s3:TestEvent", "Bucket": "b"})) == []
    assert objects_in(s3_notification("b", "processed/x.jpg")) == []
    assert [o.key for o in objects_in(s3_notification("b", "incoming/u/a/a+b c.jpg"))] == ["incoming/u/a/a+b c.jpg"]


def test_unparseable_message_is_reported_as_a_batch_item_failure():
    from sentrix_detect.handler import handler

    event = sqs_event("not json", s3_notification("b", "incoming/u/a/x.jpg"))
    response = handler(event, LambdaContext("DetectFunction", 60))
    assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
