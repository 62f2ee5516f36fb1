"""Database and S3 outages, bad uploads and the time budget: no partial rows, no orphans, nothing lost."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, text

from sentrix_detect.dal.store import SqlAnalysisStore
from tests.builders import LambdaContext, s3_notification, sqs_event
from tests.integration.detect.helpers import (
    analysis_row,
    detection_rows,
    failed_ids,
    run,
    sql,
    standin_calls,
)
from tests.support.detect import photo

pytestmark = pytest.mark.integration


@pytest.fixture
def dead_database():
    """A session factory for a PostgreSQL that is not there (nothing listens on the port)."""
    from sentrix.db.engine import build_engine
    from sentrix_local.processes import free_port

    engine = build_engine(f"postgresql+pg8000://sentrix:x@127.0.0.1:{free_port()}/sentrix", socket_timeout=1)
    yield engine
    engine.dispose()


class DatabaseGoesDown(SqlAnalysisStore):
    """The real store, until the database vanishes after the chosen operation."""

    def __init__(self, dead, *, after: str, times: int = 1) -> None:
        super().__init__()
        self.dead, self.after, self.left = dead, after, times

    def _maybe_die(self, operation: str) -> None:
        if operation == self.after:
            self.left -= 1
            if self.left == 0:
                self.engine = self.dead

    def claim(self, *args, **kwargs):
        claim = super().claim(*args, **kwargs)
        self._maybe_die("claim")
        return claim

    def find_duplicate(self, *args, **kwargs):
        found = super().find_duplicate(*args, **kwargs)
        self._maybe_die("find_duplicate")
        return found

    def complete(self, *args, **kwargs):
        won = super().complete(*args, **kwargs)
        self._maybe_die("complete")
        return won


def batch(bucket: str, *keys: str, receive_count: int = 1) -> dict:
    return sqs_event(*(s3_notification(bucket, key) for key in keys), receive_count=receive_count)


def test_database_down_mid_batch_leaves_no_partial_rows_and_retries(uploads, make_pipeline, dead_database):
    from sentrix_detect.handler import handler

    # Given a batch of three uploads, and a database that goes away after the first is written
    records = [uploads.photo(photo("JPEG", index=i)) for i in range(3)]
    event = batch(uploads.bucket, *(key for _, key in records))
    store = DatabaseGoesDown(dead_database, after="complete")

    response = handler(event, LambdaContext("DetectFunction", 120), pipeline=make_pipeline(store=store))

    # Then the first is complete, the other two are handed back to SQS untouched
    assert failed_ids(response) == [r["messageId"] for r in event["Records"][1:]]
    assert analysis_row(records[0][0]).status == "completed"
    for analysis_id, key in records[1:]:
        row = analysis_row(analysis_id)
        assert (row.status, row.attempts, row.processed_image_key) == ("pending_upload", 0, None)
        assert detection_rows(analysis_id) == []
        assert not uploads.exists(f"processed/{key.split('/')[1]}/{analysis_id}.jpg")

    # And when SQS delivers them again with the database back, they complete
    retry = batch(uploads.bucket, *(key for _, key in records[1:]), receive_count=2)
    assert handler(retry, LambdaContext("DetectFunction", 120), pipeline=make_pipeline()) == {"batchItemFailures": []}
    assert [analysis_row(i).status for i, _ in records] == ["completed"] * 3


def test_database_lost_after_yolo_leaves_no_orphan_annotated_image(uploads, make_pipeline, dead_database, yolo_standin):
    # Given a database that goes away after the duplicate check, i.e. between YOLO and the final write
    analysis_id, key = uploads.photo(photo("JPEG"))
    store = DatabaseGoesDown(dead_database, after="find_duplicate")

    response = run(make_pipeline(store=store), uploads.bucket, key)

    # Then YOLO ran, but neither detections nor the annotated image survive, and the message is retried
    assert len(failed_ids(response)) == 1
    assert standin_calls(yolo_standin) == 1
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts, row.processed_image_key) == ("processing", 1, None)
    assert detection_rows(analysis_id) == []
    assert not uploads.exists(f"processed/{key.split('/')[1]}/{analysis_id}.jpg")

    # And once the claim TTL has passed, the redelivered message finishes the job
    sql("UPDATE analyses SET processing_started_at = now() - interval '1 hour' WHERE id = :id", id=analysis_id)
    assert run(make_pipeline(), uploads.bucket, key, receive_count=2) == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts) == ("completed", 2)
    assert uploads.exists(row.processed_image_key)


def test_connection_killed_at_commit_rolls_the_whole_result_back(uploads, make_pipeline, database_url):
    """The backend is terminated between the detection INSERTs and COMMIT: nothing of the result remains."""
    from sentrix.db.engine import build_engine, get_engine

    engine = build_engine(database_url)  # the store's own: the listener below stays off the shared one
    armed = {"kill": False}

    @event.listens_for(engine, "commit")
    def kill_own_backend(connection):
        if armed["kill"]:
            armed["kill"] = False
            cursor = connection.connection.driver_connection.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
            with get_engine().connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    class KilledAtCommit(SqlAnalysisStore):
        def complete(self, analysis, result):
            assert result.detections, "the test needs detections to be inserted before the kill"
            armed["kill"] = True
            return super().complete(analysis, result)

    from yolo_standin.detector import image_with_class

    analysis_id, key = uploads.photo(image_with_class(0, size=(320, 240), fmt="JPEG"))

    try:
        response = run(make_pipeline(store=KilledAtCommit(engine)), uploads.bucket, key)
    finally:
        engine.dispose()

    assert len(failed_ids(response)) == 1
    row = analysis_row(analysis_id)
    assert row.status == "queued"  # requeued on a fresh connection, with the reason
    assert "Database" in row.failure_reason
    assert (row.risk_level, row.processed_image_key, row.total_detections) == (None, None, 0)
    assert detection_rows(analysis_id) == []
    assert not uploads.exists(f"processed/{key.split('/')[1]}/{analysis_id}.jpg")


def test_storage_unavailable_is_transient(uploads, detect_env):
    import boto3
    from botocore.config import Config

    from sentrix_detect.adapters.objects import S3Objects
    from sentrix_detect.logic.pipeline import DetectPipeline
    from sentrix_local.processes import free_port
    from tests.support.detect import FakeDetector

    dead_s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(connect_timeout=0.5, retries={"max_attempts": 1}),
    )
    analysis_id, key = uploads.photo(photo("JPEG"))

    response = run(DetectPipeline(objects=S3Objects(dead_s3), detector=FakeDetector()), uploads.bucket, key)

    assert len(failed_ids(response)) == 1
    row = analysis_row(analysis_id)
    assert (row.status, row.failure_reason) == ("queued", "Image storage unavailable")


def test_an_upload_deleted_before_processing_fails_with_a_reason(uploads, pipeline, yolo_standin):
    analysis_id, key = uploads.pending(uploads.user())

    response = run(pipeline, uploads.bucket, key)

    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert row.status == "failed"
    assert "no longer in storage" in row.failure_reason
    assert standin_calls(yolo_standin) == 0


def test_the_size_limit_is_checked_again_before_reading(uploads, detect_env, yolo_standin):
    from sentrix_detect.logic.pipeline import DetectPipeline

    # Presigned POST limits are not enforced by moto, so the detect function re-checks the real size
    data = photo("JPEG")
    analysis_id, key = uploads.photo(data)

    run(DetectPipeline(max_upload_bytes=len(data) - 1), uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "failed"
    assert f"{len(data)} bytes, over the limit of {len(data) - 1} bytes" in row.failure_reason
    assert standin_calls(yolo_standin) == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<?php system($_GET['c']); ?>", "not a supported image"),
        (b"", "empty"),
        (photo("JPEG")[:2000], "corrupt or truncated"),
        (b"GIF89a" + b"\x00" * 100, "not a supported image"),
    ],
    ids=["php", "empty", "truncated-jpeg", "gif"],
)
def test_bad_uploads_fail_with_a_reason_and_never_reach_yolo(uploads, pipeline, yolo_standin, data, reason):
    analysis_id, key = uploads.photo(data)

    response = run(pipeline, uploads.bucket, key)

    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert row.status == "failed"
    assert reason in row.failure_reason
    assert standin_calls(yolo_standin) == 0


class Clock:
    """A Lambda context whose remaining time drops by `step_ms` on every look."""

    def __init__(self, start_ms: int, step_ms: int) -> None:
        self.left, self.step = start_ms, step_ms
        self.function_name, self.memory_limit_in_mb = "DetectFunction", 2048
        self.aws_request_id, self.invoked_function_arn = str(uuid.uuid4()), "arn:aws:lambda:::function:detect"

    def get_remaining_time_in_millis(self) -> int:
        left, self.left = self.left, self.left - self.step
        return left


def test_records_not_reached_before_the_deadline_are_handed_back_unstarted(uploads, pipeline, yolo_standin):
    from sentrix_detect.handler import handler

    # Given 3 records, and time for only the first one before the 30 s safety margin
    records = [uploads.photo(photo("JPEG", index=i)) for i in range(3)]
    event = batch(uploads.bucket, *(key for _, key in records))

    response = handler(event, Clock(start_ms=31_000, step_ms=5_000), pipeline=pipeline)

    assert failed_ids(response) == [r["messageId"] for r in event["Records"][1:]]
    assert analysis_row(records[0][0]).status == "completed"
    assert [analysis_row(i).status for i, _ in records[1:]] == ["pending_upload"] * 2
    assert standin_calls(yolo_standin) == 1


def test_an_upload_posted_then_deleted_fails_with_a_reason_and_is_not_retried(uploads, pipeline, yolo_standin):
    # Given a photo that arrived, then was deleted before the detect function read it
    analysis_id, key = uploads.photo(photo("JPEG"))
    uploads.s3.delete_object(Bucket=uploads.bucket, Key=key)

    response = run(pipeline, uploads.bucket, key)

    # Then the analysis ends failed with the reason, and the message is consumed (no redelivery, no DLQ)
    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "no longer in storage" in row.failure_reason
    assert standin_calls(yolo_standin) == 0


def _refused_by_s3(s3, operation: str) -> None:
    """Make `s3` answer `operation` as S3 does to a role without the permission (or a missing object read
    without s3:ListBucket): 403 AccessDenied. moto's server enforces no IAM, so the refusal is given here."""
    from botocore.awsrequest import AWSResponse

    def refuse(**_: Any) -> tuple[AWSResponse, dict]:
        parsed = {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return AWSResponse("https://s3.example", 403, {}, None), parsed

    s3.meta.events.register(f"before-call.s3.{operation}", refuse)


@pytest.mark.parametrize("receive_count", [1, 4])
def test_a_read_refused_by_s3_fails_the_analysis_at_once(uploads, detect_env, yolo_standin, receive_count):
    import boto3

    from sentrix_detect.adapters.objects import S3Objects
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.detect import FakeDetector

    # Given a photo in the bucket that S3 refuses to let the function read (403 AccessDenied)
    refusing = boto3.client("s3", endpoint_url=detect_env.endpoint_url)
    _refused_by_s3(refusing, "GetObject")
    analysis_id, key = uploads.photo(photo("JPEG"))

    response = run(
        DetectPipeline(objects=S3Objects(refusing), detector=FakeDetector()),
        uploads.bucket,
        key,
        receive_count=receive_count,
    )

    # Then it is not taken for an outage: no retry for an hour into the DLQ, the analysis fails with the reason
    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert row.status == "failed"
    assert "refused access (403)" in row.failure_reason
    assert not row.failure_reason.startswith("gave up")
