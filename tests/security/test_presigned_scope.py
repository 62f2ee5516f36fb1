"""Presigned-POST scope: the signed policy binds the caller's own key, one image type and the size range, and the
detect function re-checks what S3 would have enforced (moto accepts any form, so both halves are shown here).

First half: the policy document of `POST /analyses/uploads`, its signature, and S3's documented POST-policy rules
(`support.policy_violations`) applied to forms a client bent (other user's prefix, other analysis, other type,
oversize, extra fields, an edited policy). Second half: those bent uploads really land in moto, moto's S3
notification reaches the queue, and the real detect handler processes the real messages: non-image content and
oversize end as `failed` with a reason; an object under a key no analysis waits for creates no analysis at all.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.security.support import (
    PostAttempt,
    analysis_count,
    analysis_state,
    db_snapshot,
    jpeg,
    png,
    policy_violations,
    refused,
    signature_matches,
)

pytestmark = pytest.mark.integration

SMALL_LIMIT = 64 * 1024  # MAX_UPLOAD_BYTES for the oversize cases: a real 50 MB POST would only cost time


def start(api, world, who: str = "alice", **body: Any) -> dict[str, Any]:
    response = api.post("/analyses/uploads", json={"filename": "foto.png", **body}, headers=world.headers(who))
    assert response.status_code == 201, response.text
    return response.json()


def test_the_policy_binds_exactly_the_callers_key_type_and_size(api, world, aws):
    from sentrix.config import get_settings
    from sentrix.presign import policy_document

    started = start(api, world, filename="../../x/..\\barrio norte.png")
    upload = started["upload"]
    policy = policy_document(upload["fields"])
    key = f"incoming/{world.alice.id}/{started['analysis_id']}/barrio_norte.png"

    assert upload["key"] == upload["fields"]["key"] == key
    assert "${filename}" not in key  # S3 would substitute the client's own file name there
    conditions = policy["conditions"]
    assert {"bucket": aws.bucket} in conditions
    assert {"key": key} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, get_settings().max_upload_bytes] in conditions
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=600 + 5)
    assert signature_matches(upload["fields"], os.environ["AWS_SECRET_ACCESS_KEY"])


def test_s3_would_refuse_every_form_the_client_bends(api, world, aws):
    from sentrix.config import get_settings
    from sentrix.presign import policy_document

    alice = start(api, world)
    bob = start(api, world, "bob")
    fields = alice["upload"]["fields"]
    policy = policy_document(fields)
    limit = get_settings().max_upload_bytes

    def violations(size: int = 1000, at: datetime | None = None, **changes: str) -> list[str]:
        return policy_violations(policy, PostAttempt({**fields, **changes}, aws.bucket, size, at))

    assert violations() == []  # the genuine form passes: the checks below are about the changes
    assert violations(key=bob["upload"]["key"])  # Bob's prefix and analysis
    assert violations(key=f"incoming/{world.bob.id}/{alice['analysis_id']}/foto.png")  # Bob's prefix
    assert violations(key=f"incoming/{world.alice.id}/{uuid.uuid4()}/foto.png")  # another analysis of Alice's
    assert violations(key=f"incoming/{world.alice.id}/{alice['analysis_id']}/other.png")  # another name
    assert violations(**{"Content-Type": "text/html"})
    assert violations(**{"Content-Type": "image/svg+xml"})
    assert violations(size=limit + 1)
    assert violations(size=0)
    assert violations(acl="public-read")
    assert violations(success_action_redirect="https://evil.example/")
    assert violations(at=datetime.now(UTC) + timedelta(seconds=601))
    assert policy_violations(policy, PostAttempt(fields, "another-bucket", 1000))
    # Loosening the policy itself breaks the signature: only our credentials sign a policy.
    loose = {**policy, "conditions": [["starts-with", "$key", "incoming/"], ["starts-with", "$Content-Type", ""]]}
    edited = {**fields, "policy": base64.b64encode(json.dumps(loose).encode()).decode()}
    assert not signature_matches(edited, os.environ["AWS_SECRET_ACCESS_KEY"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"filename": "page.html", "content_type": "text/html"}, 415, "unsupported_media_type"),
        ({"filename": "logo.svg", "content_type": "image/svg+xml"}, 415, "unsupported_media_type"),
        ({"filename": "run.exe"}, 415, "unsupported_media_type"),
        ({"filename": "foto.png", "content_type": "application/octet-stream"}, 415, "unsupported_media_type"),
        ({"filename": "foto.png", "size_bytes": 50 * 1024 * 1024 + 1}, 413, "payload_too_large"),
        ({"filename": "foto.png", "size_bytes": 0}, 422, "validation_error"),
    ],
    ids=["html", "svg", "exe-by-name", "octet-stream", "oversize", "zero-bytes"],
)
def test_no_policy_is_signed_for_other_types_or_sizes(api, world, body, status, code):
    before = db_snapshot()
    refused(api.post("/analyses/uploads", json=body, headers=world.headers("alice")), status, code)
    assert db_snapshot() == before


# --------------------------------------------------------------------------------------------------
# The detect function's re-check, on what moto really stored and really announced
# --------------------------------------------------------------------------------------------------
def drain(sqs: Any, queue_url: str) -> None:
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def post_form(upload: dict[str, Any], data: bytes, **changes: str) -> None:
    fields = {**upload["fields"], **changes}
    answer = httpx.post(
        upload["url"], data=fields, files={"file": ("x", data, fields.get("Content-Type", "image/png"))}
    )
    assert answer.status_code in (200, 201, 204), answer.text  # moto takes it: the policy is not enforced


def run_detect(sqs: Any, queue_url: str, expected: int) -> dict[str, Any]:
    """Receive the notifications moto sent and hand them to the real detect handler, as the SQS poller does."""
    from sentrix_detect.handler import handler
    from sentrix_local.invoke import LambdaContext

    received: list[dict] = []
    deadline = time.monotonic() + 15
    while len(received) < expected and time.monotonic() < deadline:
        received += sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:detect",
            "awsRegion": "us-east-1",
        }
        for m in received
        if json.loads(m["Body"]).get("Event") != "s3:TestEvent"
    ]
    assert len(records) == expected, [r["body"][:200] for r in records]
    answer = handler({"Records": records}, LambdaContext("DetectFunction", 120))
    for message in received:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return answer


@pytest.fixture
def detect_ready(api, aws, sqs) -> Iterator[None]:
    """Detect caches reset to this environment, and an empty queue before and after."""
    from sentrix.adapters.yolo import reset_yolo_client
    from sentrix_detect.logic.records import reset_default_pipeline
    from sentrix_detect.settings import get_detect_settings

    def forget() -> None:
        reset_yolo_client()
        reset_default_pipeline()
        get_detect_settings.cache_clear()

    forget()
    drain(sqs, aws.queue_url)
    yield
    drain(sqs, aws.queue_url)
    forget()


@pytest.fixture
def small_limit(detect_ready) -> Iterator[int]:
    """MAX_UPLOAD_BYTES lowered for upload and detect alike (the same setting both read)."""
    from sentrix.config import get_settings
    from sentrix_detect.logic.records import reset_default_pipeline

    os.environ["MAX_UPLOAD_BYTES"] = str(SMALL_LIMIT)
    get_settings.cache_clear()
    reset_default_pipeline()
    yield SMALL_LIMIT
    os.environ.pop("MAX_UPLOAD_BYTES")
    get_settings.cache_clear()
    reset_default_pipeline()


def test_detect_fails_non_image_content_posted_under_the_right_key(api, world, sqs, aws, detect_ready):
    started = start(api, world)
    post_form(started["upload"], b"<html><script>alert(1)</script></html>", **{"Content-Type": "text/html"})

    answer = run_detect(sqs, aws.queue_url, expected=1)

    assert answer == {"batchItemFailures": []}
    status, reason = analysis_state(started["analysis_id"])
    assert status == "failed"
    assert reason.startswith("The uploaded file is not a supported image"), reason


def test_detect_fails_an_oversize_upload_the_policy_would_have_refused(api, world, sqs, aws, small_limit):
    from sentrix.presign import policy_document

    started = start(api, world, filename="big.jpg")
    assert ["content-length-range", 1, small_limit] in policy_document(started["upload"]["fields"])["conditions"]
    photo = jpeg((640, 480))
    assert len(photo) > small_limit
    post_form(started["upload"], photo, **{"Content-Type": "image/jpeg"})

    run_detect(sqs, aws.queue_url, expected=1)

    status, reason = analysis_state(started["analysis_id"])
    assert status == "failed"
    assert f"over the limit of {small_limit} bytes" in reason, reason


def test_detect_creates_nothing_for_objects_under_keys_no_analysis_waits_for(api, world, s3, sqs, aws, detect_ready):
    started = start(api, world)
    upload = started["upload"]
    keys = [
        f"incoming/{world.bob.id}/{started['analysis_id']}/foto.png",  # Alice's analysis under Bob's prefix
        f"incoming/{world.alice.id}/{uuid.uuid4()}/foto.png",  # an analysis that does not exist
        f"incoming/{world.alice.id}/{started['analysis_id']}/other.png",  # the right analysis, another name
        f"incoming/{world.alice.id}/{started['analysis_id']}/../../{world.bob.id}/x.png",  # traversal in the key
    ]
    count = analysis_count()
    for key in keys:
        post_form(upload, png(), key=key)

    answer = run_detect(sqs, aws.queue_url, expected=len(keys))

    assert answer == {"batchItemFailures": []}
    assert analysis_count() == count  # no analysis made for any of them
    assert analysis_state(started["analysis_id"]) == ("pending_upload", None)  # still waiting for its own key
    for key in keys:
        tags = s3.get_object_tagging(Bucket=aws.bucket, Key=key)["TagSet"]
        assert {"Key": "sentrix-unmatched", "Value": "true"} in tags, key


def test_the_genuine_upload_completes(api, world, sqs, aws, yolo_standin, detect_ready):
    # The control of the refusals above: same path, the form unchanged, a real photo.
    started = start(api, world, filename="foto.jpg")
    post_form(started["upload"], jpeg(), **{"Content-Type": "image/jpeg"})

    run_detect(sqs, aws.queue_url, expected=1)

    assert analysis_state(started["analysis_id"]) == ("completed", None)
