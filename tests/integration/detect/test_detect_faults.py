"""Every fault mode of the YOLO stand-in, through the handler: what the analysis says and what SQS is told."""

from __future__ import annotations

import json

import pytest

from tests.integration.detect.helpers import (
    analysis_row,
    detection_rows,
    failed_ids,
    run,
    set_faults,
    sql,
    standin_calls,
)
from tests.support.clocks import RecordedSleeps, TravellingBreakerStorage
from tests.support.detect import photo

pytestmark = pytest.mark.integration


def emitted_metrics(output: str) -> dict[str, list[float]]:
    """The metric values of the EMF documents Powertools printed."""
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if line.startswith('{"_aws"'):
            document = json.loads(line)
            for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                values = document[definition["Name"]]
                found.setdefault(definition["Name"], []).extend(values if isinstance(values, list) else [values])
    return found


def assert_requeued(analysis_id, response, reason_part: str) -> None:
    """A transient failure: back to queued with the reason, nothing written, the message retried."""
    assert len(failed_ids(response)) == 1
    row = analysis_row(analysis_id)
    assert row.status == "queued"
    assert reason_part in row.failure_reason
    assert row.attempts == 1
    assert row.processed_image_key is None and row.risk_level is None
    assert detection_rows(analysis_id) == []


def test_yolo_500s_put_the_analysis_back_in_the_queue(uploads, make_pipeline, yolo_standin, capsys):
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, error_rate=1.0)

    response = run(make_pipeline(yolo_retry_attempts=3), uploads.bucket, key)

    assert_requeued(analysis_id, response, "HTTP 500")
    assert standin_calls(yolo_standin) == 3  # retried, with backoff, up to the attempt limit
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["YoloFailures"] == [1.0] and metrics["AnalysesRetried"] == [1.0]
    assert not uploads.exists(f"processed/{key.split('/')[1]}/{analysis_id}.jpg")


def test_a_yolo_timeout_is_transient(uploads, make_pipeline, yolo_standin):
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, timeout_rate=1.0, timeout_sleep_s=2)

    response = run(make_pipeline(yolo_read_timeout_s=0.3), uploads.bucket, key)

    # The client gave up on the read timeout: the stalled answer (after 2 s) would have been a success
    assert_requeued(analysis_id, response, "timed out")


def test_a_429_is_backpressure_not_a_failure(uploads, make_pipeline, yolo_standin):
    """Not retried in-process, no wait slept: the analysis goes back to the queue without spending an attempt."""
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, rate_limit_rate=1.0, retry_after_s=1)

    sleeps = RecordedSleeps()
    response = run(make_pipeline(yolo_retry_attempts=3, sleep=sleeps), uploads.bucket, key)

    assert_requeued(analysis_id, response, "HTTP 429")
    assert sleeps == []
    assert standin_calls(yolo_standin) == 1
    assert analysis_row(analysis_id).backpressure_delays == 1


@pytest.mark.parametrize(
    ("kind", "reason"), [("invalid_json", "not valid JSON"), ("missing_keys", "breaks the contract")]
)
def test_a_malformed_answer_is_transient(uploads, make_pipeline, yolo_standin, kind, reason):
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, malformed_rate=1.0, malformed_kind=kind)

    response = run(make_pipeline(), uploads.bucket, key)

    assert_requeued(analysis_id, response, reason)


def test_a_yolo_400_fails_the_analysis_for_good_and_consumes_the_message(uploads, make_pipeline, yolo_standin):
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, bad_request_rate=1.0)

    response = run(make_pipeline(yolo_retry_attempts=3), uploads.bucket, key)

    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert row.status == "failed"
    assert row.failure_reason.startswith("YOLO service rejected the image (HTTP 400)")
    assert standin_calls(yolo_standin) == 1  # a 4xx is never retried
    assert detection_rows(analysis_id) == []


def test_a_slow_yolo_still_completes_and_its_time_is_recorded(uploads, make_pipeline, yolo_standin):
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, latency_ms=400)

    response = run(make_pipeline(), uploads.bucket, key)

    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert row.status == "completed"
    assert row.yolo_time_ms >= 400
    assert row.pipeline_time_ms >= row.yolo_time_ms


def test_one_failed_attempt_then_success_completes(uploads, make_pipeline, yolo_standin, capsys):
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, error_rate=0.5)  # exact schedule: error, ok, error, ok, …

    response = run(make_pipeline(), uploads.bucket, key)

    assert response == {"batchItemFailures": []}
    assert analysis_row(analysis_id).status == "completed"
    assert standin_calls(yolo_standin) == 2
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["AnalysesCompleted"] == [1.0]
    assert len(metrics["YoloLatency"]) == 1 and len(metrics["PipelineTime"]) == 1


def test_on_the_last_allowed_receive_a_transient_failure_becomes_final(uploads, make_pipeline, yolo_standin):
    # Given an analysis that already failed transiently four times
    analysis_id, key = uploads.photo(photo("JPEG"))
    sql("UPDATE analyses SET status = 'queued', attempts = 4 WHERE id = :id", id=analysis_id)
    set_faults(yolo_standin, error_rate=1.0)

    # When the fifth receive (the queue's maxReceiveCount) fails again
    response = run(make_pipeline(), uploads.bucket, key, receive_count=5)

    # Then the analysis is failed for good, and the record is still reported so SQS moves it to the DLQ
    assert len(failed_ids(response)) == 1
    row = analysis_row(analysis_id)
    assert row.status == "failed"
    assert row.failure_reason.startswith("gave up after 5 attempts: YOLO service error (HTTP 500)")


def test_the_breaker_opens_and_later_records_fail_fast(uploads, make_pipeline, yolo_standin, capsys):
    # Given a breaker that opens after 2 failures, one attempt per record
    clock = TravellingBreakerStorage()
    pipeline = make_pipeline(
        yolo_retry_attempts=1, yolo_breaker_fail_max=2, yolo_breaker_reset_timeout_s=60, breaker_storage=clock
    )
    records = [uploads.photo(photo("JPEG", index=i)) for i in range(4)]
    set_faults(yolo_standin, error_rate=1.0)

    # When three records meet a failing YOLO
    for _, key in records[:3]:
        run(pipeline, uploads.bucket, key)

    # Then the third never reached YOLO: it failed fast on the open breaker and went back to the queue
    assert standin_calls(yolo_standin) == 2
    third = analysis_row(records[2][0])
    assert third.status == "queued" and "circuit is open" in third.failure_reason
    assert emitted_metrics(capsys.readouterr().out).get("YoloBreakerOpened") == [1.0]

    # And once YOLO is back and the reset timeout has passed, the trial call goes through and closes it
    set_faults(yolo_standin)
    clock.advance(61)
    assert run(pipeline, uploads.bucket, records[3][1]) == {"batchItemFailures": []}
    assert analysis_row(records[3][0]).status == "completed"
    assert pipeline.detector.breaker_state == "closed"


def test_a_busy_host_puts_the_real_message_out_of_sight_for_the_wait(
    uploads, make_pipeline, yolo_standin, sqs, detect_env
):
    """Through moto: the message S3 sent is reported failed and stays invisible for the backpressure wait."""
    from sentrix_detect.handler import handler
    from tests.builders import LambdaContext

    set_faults(yolo_standin, rate_limit_rate=1.0, retry_after_s=None)
    analysis_id, _ = uploads.photo(photo("JPEG"))
    (message,) = sqs.receive_message(
        QueueUrl=detect_env.queue_url, AttributeNames=["All"], VisibilityTimeout=0, WaitTimeSeconds=1
    )["Messages"]
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:detect",
                "awsRegion": "us-east-1",
            }
        ]
    }

    response = handler(event, LambdaContext("DetectFunction", 120), pipeline=make_pipeline())

    assert failed_ids(response) == [message["MessageId"]]
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts, row.backpressure_delays) == ("queued", 1, 1)
    # Received with visibility 0, it would be back at once; the function put it away for 24–36 s
    assert sqs.receive_message(QueueUrl=detect_env.queue_url, WaitTimeSeconds=0).get("Messages", []) == []
