"""The real queue: S3 notifies it, failures come back until maxReceiveCount, then the DLQ, then redrive."""

from __future__ import annotations

import sys

import pytest

from tests.builders import LambdaContext
from tests.conftest import REPO_ROOT
from tests.integration.detect.helpers import analysis_row, set_faults
from tests.support.detect import photo

pytestmark = pytest.mark.integration

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import redrive  # noqa: E402

MAX_RECEIVE_COUNT = 20  # infra/template.yaml DetectQueue's RedrivePolicy (moto's queue is provisioned from it)


class DetectFunction:
    """What the local stack's poller invokes: the real handler, with the test's pipeline."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def invoke(self, event: dict) -> dict:
        from sentrix_detect.handler import handler

        return handler(event, LambdaContext("DetectFunction", 120), pipeline=self.pipeline)


@pytest.fixture
def poller(detect_env, sqs, make_pipeline):
    """Lambda's event source mapping as the local stack runs it, with failed messages visible again at once."""
    from sentrix_local.poller import QueuePoller

    arn = sqs.get_queue_attributes(QueueUrl=detect_env.queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return QueuePoller(
        sqs,
        detect_env.queue_url,
        arn["QueueArn"],
        DetectFunction(make_pipeline(yolo_retry_attempts=1)),
        batch_size=5,
        retry_delay_s=0,
        wait_s=0,
    )


def visible(sqs, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_message_that_keeps_failing_lands_in_the_dlq_and_redrive_brings_it_back(
    uploads, poller, sqs, detect_env, yolo_standin, capsys
):
    # Given an upload (S3 notifies the queue itself) and a YOLO that always fails
    set_faults(yolo_standin, error_rate=1.0)
    analysis_id, _ = uploads.photo(photo("JPEG"))

    # When the queue is polled until the message is gone from it
    deliveries = 0
    while poller.poll_once():
        deliveries += 1
        assert deliveries <= MAX_RECEIVE_COUNT, "SQS should move the message to the DLQ after maxReceiveCount receives"

    # Then it was tried DETECT_MAX_ATTEMPTS (5) times, the analysis says why it gave up, and the message, failed at
    # once on every later delivery (visibility 0), went on to the DLQ after the queue's maxReceiveCount (20)
    assert deliveries == MAX_RECEIVE_COUNT
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts) == ("failed", 5)
    assert row.failure_reason.startswith("gave up after 5 attempts: YOLO service error (HTTP 500)")
    assert visible(sqs, detect_env.dlq_url) == 1

    # And a dry run lists it without moving it
    assert redrive.main(["--source-queue", detect_env.queue_url, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "incoming/" in out
    assert "would move 1 message(s)" in out
    assert visible(sqs, detect_env.dlq_url) == 1 and visible(sqs, detect_env.queue_url) == 0

    # And once YOLO is back, `make redrive` moves it and the analysis completes
    set_faults(yolo_standin)
    assert redrive.main(["--source-queue", detect_env.queue_url]) == 0
    assert "moved 1 message(s)" in capsys.readouterr().out
    assert visible(sqs, detect_env.dlq_url) == 0
    assert poller.poll_once() == 1
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts, row.failure_reason) == ("completed", 6, None)


def test_a_permanent_failure_is_not_revived_by_a_redrive(uploads, make_pipeline):
    from tests.integration.detect.helpers import run

    analysis_id, key = uploads.photo(b"not an image at all")
    pipeline = make_pipeline()
    run(pipeline, uploads.bucket, key)
    assert analysis_row(analysis_id).status == "failed"

    response = run(pipeline, uploads.bucket, key, receive_count=1, redrive=True)

    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "not a supported image" in row.failure_reason
