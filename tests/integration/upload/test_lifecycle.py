"""Deleting and retrying analyses: owner or admin only, objects and rows gone, failed ones re-enqueued."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import unquote_plus

import boto3
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis, Detection
from sentrix.domain.status import AnalysisStatus
from tests.integration.upload.support import call, jpeg_bytes, make_user, seed_analysis

pytestmark = pytest.mark.integration


@pytest.fixture
def s3(upload_env):
    return boto3.client("s3", endpoint_url=upload_env.endpoint_url)


def put_objects(s3, bucket: str, analysis_id: uuid.UUID) -> tuple[str, str]:
    with session_scope() as session:
        row = session.get(Analysis, analysis_id)
        keys = (row.image_key, row.processed_image_key)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=jpeg_bytes())
    return keys


def listed(s3, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_the_owner_deletes_rows_and_objects(upload_env, s3):
    alice = make_user()
    keep = seed_analysis(alice)
    gone = seed_analysis(alice, classes=(0, 1, 2))
    kept_keys = put_objects(s3, upload_env.bucket, keep)
    put_objects(s3, upload_env.bucket, gone)

    answer = call("DELETE", f"/api/v1/analyses/{gone}", user=alice)

    assert answer.status == 204
    assert listed(s3, upload_env.bucket) == set(kept_keys)
    with session_scope() as session:
        assert session.get(Analysis, gone) is None
        assert session.query(Detection).filter(Detection.analysis_id == gone).count() == 0
        assert session.query(Detection).filter(Detection.analysis_id == keep).count() == 1
    assert call("GET", f"/api/v1/analyses/{gone}", user=alice).status == 404


def test_user_b_cannot_see_delete_or_retry_user_as_analysis(upload_env, s3):
    alice, bob = make_user(), make_user()
    analysis = seed_analysis(alice, status=AnalysisStatus.FAILED)

    answers = [
        call("GET", f"/api/v1/analyses/{analysis}", user=bob),
        call("GET", f"/api/v1/analyses/{analysis}/detections", user=bob),
        call("DELETE", f"/api/v1/analyses/{analysis}", user=bob),
        call("POST", f"/api/v1/analyses/{analysis}/retry", user=bob),
    ]

    assert [a.status for a in answers] == [404, 404, 404, 404]
    with session_scope() as session:
        assert session.get(Analysis, analysis).status is AnalysisStatus.FAILED


def test_experts_read_but_do_not_delete_others_analyses_admins_do(upload_env, s3):
    alice, expert, admin = make_user(), make_user("expert"), make_user("admin")
    analysis = seed_analysis(alice)
    put_objects(s3, upload_env.bucket, analysis)

    by_expert = call("DELETE", f"/api/v1/analyses/{analysis}", user=expert)
    by_admin = call("DELETE", f"/api/v1/analyses/{analysis}", user=admin)

    assert (by_expert.status, by_expert.error["code"]) == (403, "forbidden")
    assert by_admin.status == 204
    assert listed(s3, upload_env.bucket) == set()


def test_an_image_shared_with_a_duplicate_is_kept(upload_env, s3):
    alice = make_user()
    original = seed_analysis(alice)
    duplicate = seed_analysis(alice, status=AnalysisStatus.DUPLICATE)
    with session_scope() as session:
        source = session.get(Analysis, original)
        session.get(Analysis, duplicate).processed_image_key = source.processed_image_key
        shared = source.processed_image_key
    put_objects(s3, upload_env.bucket, original)

    assert call("DELETE", f"/api/v1/analyses/{duplicate}", user=alice).status == 204
    assert shared in listed(s3, upload_env.bucket)


def receive_retry(sqs, queue_url: str, analysis_id: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            records = body.get("Records") or []
            if records and records[0].get("eventName") == "ObjectCreated:Retry" and analysis_id in message["Body"]:
                return records[0]
    raise AssertionError("no retry message on the queue")


def test_retry_moves_a_failed_analysis_to_queued_and_enqueues_an_s3_shaped_message(upload_env, s3):
    alice = make_user()
    analysis = seed_analysis(alice, status=AnalysisStatus.FAILED)
    with session_scope() as session:
        row = session.get(Analysis, analysis)
        row.failure_reason = "detector unavailable"
        row.image_key = f"incoming/{alice.id}/{analysis}/foto de la calle+1.jpg"
        key = row.image_key
    data = jpeg_bytes()
    s3.put_object(Bucket=upload_env.bucket, Key=key, Body=data)
    sqs = boto3.client("sqs", endpoint_url=upload_env.endpoint_url)

    answer = call("POST", f"/api/v1/analyses/{analysis}/retry", user=alice)

    assert answer.status == 202, answer.body
    assert answer.body["status"] == "queued"
    record = receive_retry(sqs, upload_env.queue_url, str(analysis))
    assert record["eventSource"] == "aws:s3"
    assert record["s3"]["bucket"]["name"] == upload_env.bucket
    assert record["s3"]["object"]["key"] != key  # URL-encoded like S3 does
    assert unquote_plus(record["s3"]["object"]["key"]) == key
    assert record["s3"]["object"]["size"] == len(data)
    from sentrix_detect.logic.events import objects_in

    assert [o.key for o in objects_in(json.dumps({"Records": [record]}))] == [key]
    with session_scope() as session:
        row = session.get(Analysis, analysis)
    assert (row.status, row.failure_reason) == (AnalysisStatus.QUEUED, None)


def test_only_failed_analyses_can_be_retried(upload_env, s3):
    alice = make_user()
    completed = seed_analysis(alice)
    failed_without_image = seed_analysis(alice, status=AnalysisStatus.FAILED)

    not_failed = call("POST", f"/api/v1/analyses/{completed}/retry", user=alice)
    no_image = call("POST", f"/api/v1/analyses/{failed_without_image}/retry", user=alice)

    assert (not_failed.status, not_failed.error["details"]) == (409, {"status": "completed"})
    assert no_image.status == 409
    with session_scope() as session:
        assert session.get(Analysis, failed_without_image).status is AnalysisStatus.FAILED
