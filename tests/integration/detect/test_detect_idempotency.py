"""Redelivery, concurrency, retries, stale claims, duplicates and objects nobody is waiting for."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.builders import LambdaContext, s3_notification, sqs_event
from tests.integration.detect.helpers import (
    BOTH_PROFILES,
    analysis_row,
    detection_rows,
    failed_ids,
    run,
    set_faults,
    sql,
    standin_calls,
)
from tests.support.detect import photo, retry_notification, upload_key

pytestmark = pytest.mark.integration


@BOTH_PROFILES
def test_the_same_message_twice_makes_one_analysis_and_one_yolo_call(uploads, pipeline, yolo_standin):
    analysis_id, key = uploads.photo(photo("JPEG"))

    first = run(pipeline, uploads.bucket, key)
    detections = detection_rows(analysis_id)
    second = run(pipeline, uploads.bucket, key, receive_count=2)

    assert first == second == {"batchItemFailures": []}
    assert standin_calls(yolo_standin) == 1
    assert sql("SELECT count(*) FROM analyses")[0][0] == 1
    assert analysis_row(analysis_id).attempts == 1
    assert [d.id for d in detection_rows(analysis_id)] == [d.id for d in detections]


def test_the_same_message_delivered_concurrently_is_processed_once(uploads, pipeline, yolo_standin):
    # Given YOLO slow enough for two deliveries of one message to overlap
    analysis_id, key = uploads.photo(photo("JPEG"))
    set_faults(yolo_standin, latency_ms=700)
    from sentrix_detect.handler import handler

    event = sqs_event(s3_notification(uploads.bucket, key))
    responses: list[dict] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        responses.append(handler(event, LambdaContext("DetectFunction", 120), pipeline=pipeline))

    # When two workers get it at the same moment
    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then one processes it, the other hands it back to SQS, and YOLO is called once
    assert sorted(len(r["batchItemFailures"]) for r in responses) == [0, 1]
    assert standin_calls(yolo_standin) == 1
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts) == ("completed", 1)
    count = len(detection_rows(analysis_id))
    # And the handed-back copy, delivered again later, changes nothing
    assert run(pipeline, uploads.bucket, key, receive_count=2) == {"batchItemFailures": []}
    assert standin_calls(yolo_standin) == 1
    assert len(detection_rows(analysis_id)) == count


def test_a_fresh_processing_claim_is_left_to_its_worker(uploads, pipeline, yolo_standin):
    analysis_id, key = uploads.photo(photo("JPEG"))
    sql("UPDATE analyses SET status = 'processing', attempts = 1, processing_started_at = now() WHERE id = :id",
        id=analysis_id)  # fmt: skip

    response = run(pipeline, uploads.bucket, key)

    assert len(failed_ids(response)) == 1
    assert standin_calls(yolo_standin) == 0
    assert (analysis_row(analysis_id).status, analysis_row(analysis_id).attempts) == ("processing", 1)


def test_a_stale_processing_claim_is_taken_over(uploads, pipeline, yolo_standin):
    # Given a worker that died 10 minutes into the analysis (claim TTL 180 s)
    analysis_id, key = uploads.photo(photo("JPEG"))
    sql(
        "UPDATE analyses SET status = 'processing', attempts = 1, "
        "processing_started_at = now() - interval '10 minutes' WHERE id = :id",
        id=analysis_id,
    )

    response = run(pipeline, uploads.bucket, key, receive_count=2)

    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts) == ("completed", 2)
    assert standin_calls(yolo_standin) == 1


def test_the_retry_message_of_the_upload_function_is_processed(uploads, pipeline):
    from sentrix_detect.handler import handler

    # Given an analysis that failed and was moved back to queued by POST /analyses/{id}/retry
    analysis_id, key = uploads.photo(photo("JPEG"))
    sql("UPDATE analyses SET status = 'queued', attempts = 2, failure_reason = 'YOLO down' WHERE id = :id",
        id=analysis_id)  # fmt: skip

    response = handler(retry_notification(uploads.bucket, key), LambdaContext("DetectFunction", 120), pipeline=pipeline)

    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts, row.failure_reason) == ("completed", 3, None)


def test_the_object_identity_is_recorded(uploads, pipeline, s3):
    analysis_id, key = uploads.photo(photo("JPEG"))
    head = s3.head_object(Bucket=uploads.bucket, Key=key)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.image_etag == "abc"  # the builder's notification ETag
    assert row.size_bytes == head["ContentLength"]
    assert row.processing_started_at is not None and row.completed_at >= row.processing_started_at


@BOTH_PROFILES
def test_a_users_reupload_of_the_same_photo_is_a_duplicate_without_a_yolo_call(uploads, pipeline, yolo_standin):
    user = uploads.user()
    data = photo("JPEG", index=3)
    first_id, first_key = uploads.photo(data, user_id=user)
    run(pipeline, uploads.bucket, first_key)
    second_id, second_key = uploads.photo(data, user_id=user, filename="otra.jpg")

    response = run(pipeline, uploads.bucket, second_key)

    assert response == {"batchItemFailures": []}
    second = analysis_row(second_id)
    assert (second.status, second.duplicate_of) == ("duplicate", first_id)
    assert second.sha256 == analysis_row(first_id).sha256
    assert detection_rows(second_id) == []
    assert second.processed_image_key is None
    assert standin_calls(yolo_standin) == 1


def test_the_same_photo_reencoded_is_a_near_duplicate(uploads, pipeline, yolo_standin):
    user = uploads.user()
    first_id, first_key = uploads.photo(photo("JPEG", index=5), user_id=user)
    run(pipeline, uploads.bucket, first_key)
    # The same picture as a PNG: other bytes, other sha256, same perceptual hash (within the distance)
    second_id, second_key = uploads.photo(photo("PNG", index=5), user_id=user, filename="same.png")

    run(pipeline, uploads.bucket, second_key)

    second = analysis_row(second_id)
    assert second.sha256 != analysis_row(first_id).sha256
    assert (second.status, second.duplicate_of) == ("duplicate", first_id)
    assert standin_calls(yolo_standin) == 1


def test_different_photos_and_other_users_photos_are_not_duplicates(uploads, pipeline, yolo_standin):
    user = uploads.user()
    first_id, first_key = uploads.photo(photo("JPEG", index=1), user_id=user)
    other_id, other_key = uploads.photo(photo("JPEG", index=2), user_id=user, filename="b.jpg")
    stranger_id, stranger_key = uploads.photo(photo("JPEG", index=1))  # same bytes, another user

    for key in (first_key, other_key, stranger_key):
        run(pipeline, uploads.bucket, key)

    assert [analysis_row(i).status for i in (first_id, other_id, stranger_id)] == ["completed"] * 3
    assert standin_calls(yolo_standin) == 3


def test_an_object_with_an_unknown_analysis_id_is_consumed_and_tagged(uploads, pipeline, s3, yolo_standin):
    key = upload_key(uuid.uuid4(), uuid.uuid4(), "dropped.jpg")
    uploads.put(key, photo("JPEG"))

    response = run(pipeline, uploads.bucket, key)

    assert response == {"batchItemFailures": []}
    assert sql("SELECT count(*) FROM analyses")[0][0] == 0
    assert standin_calls(yolo_standin) == 0
    tags = s3.get_object_tagging(Bucket=uploads.bucket, Key=key)["TagSet"]
    assert {"Key": "sentrix-unmatched", "Value": "true"} in tags


@pytest.mark.parametrize(
    "key",
    [
        "incoming/just-a-file.jpg",
        "incoming/not-a-uuid/also-not/x.jpg",
        "incoming/{user}/{analysis}/deeper/x.jpg",
        "incoming/{USER}/{analysis}/x.jpg",  # not the canonical spelling the upload function writes
    ],
)
def test_keys_outside_the_upload_scheme_are_consumed_without_an_analysis(uploads, pipeline, s3, key):
    user = uploads.user()
    analysis_id, _ = uploads.pending(user)
    key = key.format(user=user, USER=str(user).upper(), analysis=analysis_id)
    uploads.put(key, photo("JPEG"))

    response = run(pipeline, uploads.bucket, key)

    assert response == {"batchItemFailures": []}
    assert analysis_row(analysis_id).status == "pending_upload"  # the real analysis is untouched
    assert sql("SELECT count(*) FROM analyses")[0][0] == 1
    assert {"Key": "sentrix-unmatched", "Value": "true"} in s3.get_object_tagging(Bucket=uploads.bucket, Key=key)[
        "TagSet"
    ]


def test_a_notification_from_another_bucket_is_ignored(uploads, pipeline, yolo_standin):
    user = uploads.user()
    analysis_id, key = uploads.pending(user)

    response = run(pipeline, "some-other-bucket", key)

    assert response == {"batchItemFailures": []}
    assert analysis_row(analysis_id).status == "pending_upload"
    assert standin_calls(yolo_standin) == 0
