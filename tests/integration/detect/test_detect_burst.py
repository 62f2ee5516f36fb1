"""Issue 17's burst: uploads all at once against a host that allows 10 /detect per minute and IP and answers the
rest with a bare 429 (no Retry-After), as the original service does. Every analysis completes, none fails, the
circuit breaker stays closed: a 429 is backpressure, the message comes back later.

Time is simulated, never slept: the stand-in runs on a manual clock (YOLO_STANDIN_CLOCK=manual) and the test
plays SQS's clock too. It delivers whatever is visible, the way the local stack's poller does (batches of 5, as
the template's BatchSize), then moves to the moment the earliest put-back message is due: it advances the
stand-in's clock by that much and makes the messages due by then visible (ChangeMessageVisibility 0 on the
receipt the function put back), exactly what SQS would do once their visibility ran out.

Size: SENTRIX_BURST_SCALE (default 1: 30 uploads); `make test` runs it at 0.5 (15 uploads, still 5 over the
first minute's 10), `make load` at full size.
"""

from __future__ import annotations

import math
import os
from typing import Any

import boto3
import pytest

from tests.builders import LambdaContext
from tests.integration.detect.helpers import admin, analysis_row, sql
from tests.support.clocks import RecordedSleeps
from tests.support.detect import photo

pytestmark = pytest.mark.integration

SCALE = float(os.environ.get("SENTRIX_BURST_SCALE", "1"))
UPLOADS = max(12, round(30 * SCALE))  # always more than one minute's worth of the host's 10
HOST_LIMIT = 10  # the original's "10 per 1 minute" (the stand-in's `original` profile)
BATCH_SIZE = 5  # infra/template.yaml DetectQueueMessages BatchSize


class DetectFunction:
    """What the poller invokes: the real handler with the test's pipeline."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def invoke(self, event: dict) -> dict:
        from sentrix_detect.handler import handler

        return handler(event, LambdaContext("DetectFunction", 120), pipeline=self.pipeline)


class RecordingSqs:
    """The real (moto) SQS client, remembering every visibility the function set: (receipt handle, seconds)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.put_back: list[tuple[str, int]] = []

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.put_back.append((kwargs["ReceiptHandle"], kwargs["VisibilityTimeout"]))
        return self.real.change_message_visibility(**kwargs)


def advance_host_clock(standin: Any, seconds: float) -> None:
    response = admin().post(f"{standin.base_url}/_admin/clock", json={"advance_s": seconds})
    assert response.status_code == 200 and response.json()["clock"] == "manual", response.text


@pytest.mark.parametrize("standin_profile", ["original"], indirect=True)
def test_a_burst_against_a_rate_limited_host_all_completes(
    uploads, make_pipeline, sqs, detect_env, yolo_standin, monkeypatch
):
    from sentrix_detect.adapters import queue
    from sentrix_local.poller import QueuePoller

    assert admin().get(f"{yolo_standin.base_url}/health").json()["rate_limit"] == f"{HOST_LIMIT} per 1 minute"
    recorder = RecordingSqs(boto3.client("sqs", endpoint_url=detect_env.endpoint_url))
    monkeypatch.setattr(queue, "sqs_client", lambda: recorder)
    sleeps = RecordedSleeps()
    # The production breaker: 5 consecutive failures would open it.
    pipeline = make_pipeline(sleep=sleeps, yolo_retry_attempts=3, yolo_breaker_fail_max=5)
    arn = sqs.get_queue_attributes(QueueUrl=detect_env.queue_url, AttributeNames=["QueueArn"])["Attributes"]
    poller = QueuePoller(
        sqs, detect_env.queue_url, arn["QueueArn"], DetectFunction(pipeline), batch_size=BATCH_SIZE, wait_s=0,
        retry_delay_s=0,
    )  # fmt: skip

    # Given a burst of uploads, each notifying the queue (S3 does it itself)
    ids = [uploads.photo(photo("JPEG", index=i))[0] for i in range(UPLOADS)]

    # When the queue is worked off, time passing only as the put-back messages fall due
    now, due, deliveries = 0.0, {}, 0
    for _ in range(200):
        while delivered := poller.poll_once():
            deliveries += delivered
        for receipt, delay in recorder.put_back[len(due) :]:
            due[receipt] = now + delay
        waiting = {r: t for r, t in due.items() if t > now}
        if not waiting:
            break
        later = min(waiting.values())
        advance_host_clock(yolo_standin, later - now)
        now = later
        for receipt, at in waiting.items():
            if at <= now:
                sqs.change_message_visibility(QueueUrl=detect_env.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    else:
        pytest.fail("the burst did not drain")

    # Then every analysis completed on its one real attempt; the busy deliveries spent nothing
    rows = [analysis_row(i) for i in ids]
    assert [r.status for r in rows] == ["completed"] * UPLOADS, {r.status: r.failure_reason for r in rows}
    assert all(r.attempts - r.backpressure_delays == 1 for r in rows)
    stats = admin().get(f"{yolo_standin.base_url}/_admin/stats").json()
    busy = stats["detect_status_codes"].get("429", 0)
    assert stats["detect_status_codes"]["200"] == UPLOADS
    assert busy >= UPLOADS - HOST_LIMIT  # the first minute could take only 10
    assert sum(r.backpressure_delays for r in rows) == busy == len(recorder.put_back)
    assert deliveries == UPLOADS + busy
    # Not one wait slept in-process, every wait within the documented 30 s doubling to 300 s, ±20 %
    assert sleeps == []
    assert all(24 <= delay <= 360 for _, delay in recorder.put_back)
    # At 10 per minute the burst needs at least this many minutes to pass
    assert now >= (math.ceil(UPLOADS / HOST_LIMIT) - 1) * 60 * 0.8
    # The breaker never saw a failure, nothing reached the DLQ, the queue is empty
    assert pipeline.detector.breaker_state == "closed"
    assert pipeline.detector.breaker.fail_counter == 0
    assert sql("SELECT count(*) FROM analyses WHERE status = 'failed'")[0][0] == 0
    for url in (detect_env.queue_url, detect_env.dlq_url):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
