"""Presigned uploads: the pending analysis, the POST policy S3 enforces, idempotency, and the real notification."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import httpx
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.domain.status import AnalysisStatus
from sentrix.presign import policy_document
from tests.integration.upload.support import call, make_user, png_bytes

pytestmark = pytest.mark.integration


def start(user, **body):
    payload = {"filename": "foto de la calle.png", "content_type": "image/png", **body}
    return call("POST", "/api/v1/analyses/uploads", user=user, body=payload)


def drain(sqs, queue_url: str) -> None:
    # Deleted, not only received: a received message comes back after its visibility timeout, in a later test
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages"
    ):
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def receive_one(sqs, queue_url: str, key_part: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if key_part in message["Body"]:
                return message
    raise AssertionError("no notification arrived")


def test_start_creates_a_pending_analysis_under_the_incoming_key(upload_env):
    # Given a user with a default threshold in their settings
    user = make_user(settings={"default_confidence_threshold": 0.7, "language": "en"})

    # When they start an upload with a manual point at 0,0
    answer = start(user, latitude=0, longitude=0)

    # Then a pending analysis exists with the options and the key scheme
    assert answer.status == 201, answer.body
    analysis_id = uuid.UUID(answer.body["analysis_id"])
    assert answer.body["status"] == "pending_upload"
    assert answer.body["status_url"] == f"/api/v1/analyses/{analysis_id}"
    assert answer.body["replayed"] is False
    with session_scope() as session:
        row = session.get(Analysis, analysis_id)
    assert row.status is AnalysisStatus.PENDING_UPLOAD
    assert row.user_id == user.id
    assert row.image_key == f"incoming/{user.id}/{analysis_id}/foto_de_la_calle.png"
    assert row.image_bucket == upload_env.bucket
    assert row.confidence_threshold == 0.7
    assert row.include_gps is True
    assert (row.manual_latitude, row.manual_longitude) == (0.0, 0.0)
    assert row.original_filename == "foto de la calle.png"
    assert row.content_type == "image/png"
    assert answer.body["upload"]["key"] == row.image_key


def test_policy_pins_the_key_the_type_and_the_size(upload_env):
    user = make_user()

    answer = start(user, confidence_threshold=0.35, include_gps=False)

    upload = answer.body["upload"]
    policy = policy_document(upload["fields"])
    conditions = policy["conditions"]
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, 50 * 1024 * 1024] in conditions
    assert {"key": upload["key"]} in conditions
    assert {"bucket": upload_env.bucket} in conditions
    assert upload["fields"]["Content-Type"] == "image/png"
    assert upload["max_bytes"] == 50 * 1024 * 1024
    # The policy expires within the configured 10 minutes
    from datetime import UTC, datetime

    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    left = (expiration - datetime.now(UTC)).total_seconds()
    assert 540 < left <= 600
    with session_scope() as session:
        row = session.get(Analysis, uuid.UUID(answer.body["analysis_id"]))
    assert (row.confidence_threshold, row.include_gps) == (0.35, False)


def test_size_limit_is_configurable(upload_env, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    reset_caches()
    user = make_user()

    answer = start(user)
    too_big = start(user, size_bytes=1001, filename="b.png")

    assert ["content-length-range", 1, 1000] in policy_document(answer.body["upload"]["fields"])["conditions"]
    assert too_big.status == 413
    assert too_big.error["code"] == "payload_too_large"


def test_content_type_defaults_from_the_extension(upload_env):
    user = make_user()

    answer = call("POST", "/api/v1/analyses/uploads", user=user, body={"filename": "IMG_0001.HEIC"})

    assert answer.status == 201
    assert {"Content-Type": "image/heic"} in policy_document(answer.body["upload"]["fields"])["conditions"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"content_type": "application/pdf"}, 415, "unsupported_media_type"),
        ({"content_type": "image/gif"}, 415, "unsupported_media_type"),
        ({"filename": "notes.txt", "content_type": None}, 415, "unsupported_media_type"),
        ({"latitude": 91, "longitude": 0}, 422, "invalid_location"),
        ({"latitude": 10, "longitude": -180.5}, 422, "invalid_location"),
        ({"latitude": 10}, 422, "invalid_location"),
        ({"longitude": 0}, 422, "invalid_location"),
        ({"confidence_threshold": 0.05}, 422, "validation_error"),
        ({"confidence_threshold": 1.5}, 422, "validation_error"),
        ({"filename": ""}, 422, "validation_error"),
        ({"idempotency_key": "has spaces"}, 422, "validation_error"),
        ({"unknown_option": 1}, 422, "validation_error"),
    ],
)
def test_bad_requests_are_refused_in_the_envelope(upload_env, body, status, code):
    user = make_user()

    answer = start(user, **body)

    assert answer.status == status, answer.body
    assert answer.error["code"] == code
    assert {"id", "message", "type", "timestamp"} <= set(answer.error)
    with session_scope() as session:
        assert session.query(Analysis).count() == 0


def test_same_idempotency_key_returns_the_same_analysis(upload_env):
    user, other = make_user(), make_user()

    first = start(user, idempotency_key="client-1")
    again = start(user, idempotency_key="client-1")
    by_header = call(
        "POST",
        "/api/v1/analyses/uploads",
        user=user,
        body={"filename": "foto de la calle.png", "content_type": "image/png"},
        headers={"Idempotency-Key": "client-1"},
    )
    someone_else = start(other, idempotency_key="client-1")
    different = start(user, idempotency_key="client-1", filename="another.png")

    assert first.status == 201
    assert (again.status, by_header.status) == (200, 200)
    assert again.body["analysis_id"] == by_header.body["analysis_id"] == first.body["analysis_id"]
    assert again.body["replayed"] is True
    assert again.body["upload"]["key"] == first.body["upload"]["key"]  # still pending: a fresh POST, same key
    assert someone_else.status == 201
    assert someone_else.body["analysis_id"] != first.body["analysis_id"]
    assert different.status == 409
    with session_scope() as session:
        assert session.query(Analysis).count() == 2


def test_anonymous_callers_are_refused(upload_env):
    answer = call("POST", "/api/v1/analyses/uploads", body={"filename": "a.png"})

    assert answer.status == 401
    assert answer.error["code"] == "unauthorized"


def test_presigned_post_reaches_the_queue_and_detect_queues_it_on_a_detector_failure(upload_env, detector):
    from sentrix_detect.handler import handler as detect
    from tests.builders import LambdaContext, sqs_event

    sqs = boto3.client("sqs", endpoint_url=upload_env.endpoint_url)
    drain(sqs, upload_env.queue_url)
    user = make_user()
    data = png_bytes((160, 120))  # big enough for detect's minimum side
    answer = start(user)
    upload = answer.body["upload"]
    analysis_id = answer.body["analysis_id"]

    # When the client posts the photo to storage with the presigned form (moto's server, real HTTP)
    posted = httpx.post(upload["url"], data=upload["fields"], files={"file": ("x.png", data, "image/png")})
    assert posted.status_code in (200, 201, 204), posted.text

    # Then the bucket's notification announces exactly that object on the detect queue
    message = receive_one(sqs, upload_env.queue_url, analysis_id)
    record = json.loads(message["Body"])["Records"][0]
    from urllib.parse import unquote_plus

    assert unquote_plus(record["s3"]["object"]["key"]) == upload["key"]
    assert record["s3"]["bucket"]["name"] == upload_env.bucket
    assert record["s3"]["object"]["size"] == len(data)

    # And detect, with YOLO failing every call, leaves the analysis queued for another attempt
    httpx.put(f"{detector.base_url}/_admin/faults", json={"error_rate": 1.0}).raise_for_status()
    detect(sqs_event(message["Body"]), LambdaContext("DetectFunction", 120))
    with session_scope() as session:
        row = session.get(Analysis, uuid.UUID(analysis_id))
    assert row.status is AnalysisStatus.QUEUED
    assert row.attempts == 1
