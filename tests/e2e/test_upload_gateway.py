"""The upload routes through the local API Gateway emulator: real tokens, the authorizer, base64 bodies, moto."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from urllib.parse import unquote_plus

import boto3
import httpx
import pytest

from tests.integration.upload.support import jpeg_bytes, png_bytes
from tests.support.gateway import builtin_gateway
from tests.support.identity import bearer, create_user

pytestmark = pytest.mark.e2e

FUNCTIONS = ("UploadFunction", "AuthorizerFunction")


@pytest.fixture(scope="module")
def gateway(database_url, aws) -> Iterator[str]:
    """Base URL (…/api/v1) of an in-process gateway serving the template's routes with the real authorizer."""
    with builtin_gateway(FUNCTIONS) as url:
        yield url


@pytest.fixture
def api(gateway, clean_db) -> Iterator[httpx.Client]:
    from sentrix_upload.logic import image_urls
    from sentrix_upload.settings import get_upload_settings

    get_upload_settings.cache_clear()
    image_urls.clear()
    with httpx.Client(base_url=gateway, timeout=30) as client:
        yield client


def test_every_upload_route_is_declared_in_the_template():
    from sentrix_local.template import stack_spec

    routes = {
        (r.method, r.path, r.authorized)
        for r in stack_spec().routes
        if r.function == "UploadFunction" and r.method != "OPTIONS"  # preflights: tests/security/test_cors.py
    }
    expected_public = {("POST", "/api/v1/analyses/public"), ("GET", "/api/v1/health"), ("GET", "/api/v1/health/ready")}
    assert {(m, p) for m, p, authorized in routes if not authorized} == expected_public
    assert {(m, p) for m, p, _ in routes} >= {
        ("POST", "/api/v1/analyses/uploads"),
        ("POST", "/api/v1/analyses"),
        ("POST", "/api/v1/analyses/batch"),
        ("GET", "/api/v1/analyses"),
        ("GET", "/api/v1/analyses/{id}"),
        ("DELETE", "/api/v1/analyses/{id}"),
        ("GET", "/api/v1/analyses/{id}/detections"),
        ("POST", "/api/v1/analyses/{id}/retry"),
        ("POST", "/api/v1/detections/{id}/validate"),
        ("GET", "/api/v1/detections/pending"),
        ("POST", "/api/v1/detections/batch-validate"),
        ("GET", "/api/v1/detections/expired"),
        ("GET", "/api/v1/detections/expiring-soon"),
        ("POST", "/api/v1/detections/extend-validity"),
        ("POST", "/api/v1/detections/{id}/revalidate"),
        ("GET", "/api/v1/detections/validity-stats"),
        ("GET", "/api/v1/detections/{id}/validity"),
    }


def test_presigned_upload_through_the_gateway_then_straight_to_storage(api, aws):
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url)
    # Notifications of earlier tests, deleted (a message only received would come back in a later test)
    while messages := sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
    user = create_user()

    started = api.post("/analyses/uploads", json={"filename": "barrio norte.png"}, headers=bearer(user))
    assert started.status_code == 201, started.text
    upload = started.json()["upload"]
    data = png_bytes((160, 120))
    posted = httpx.post(upload["url"], data=upload["fields"], files={"file": ("x.png", data, "image/png")})
    assert posted.status_code in (200, 201, 204)

    deadline, record = time.monotonic() + 10, None
    while record is None and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=aws.queue_url, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])  # not left in flight
            body = json.loads(message["Body"])
            if started.json()["analysis_id"] in message["Body"]:
                record = body["Records"][0]
    assert record is not None
    assert (
        unquote_plus(record["s3"]["object"]["key"])
        == f"incoming/{user.id}/{started.json()['analysis_id']}/barrio_norte.png"
    )
    assert record["s3"]["object"]["size"] == len(data)

    status = api.get(started.json()["status_url"].removeprefix("/api/v1"), headers=bearer(user))
    assert status.status_code == 200
    assert status.json()["status"] in ("pending_upload", "queued", "processing", "completed", "failed")


def test_multipart_through_the_gateway_arrives_byte_exact(api, aws):
    user = create_user()
    data = jpeg_bytes((80, 60))

    answer = api.post(
        "/analyses",
        files={"file": ("calle.jpg", data, "image/jpeg")},
        data={"latitude": "-26.8", "longitude": "-65.2"},
        headers=bearer(user),
    )

    assert answer.status_code == 202, answer.text
    analysis_id = answer.json()["analysis_id"]
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    stored = s3.get_object(Bucket=aws.bucket, Key=f"incoming/{user.id}/{analysis_id}/calle.jpg")["Body"].read()
    assert stored == data


def test_bodies_too_big_for_lambda_get_413_in_the_envelope_and_over_10mb_the_gateways_413(api):
    user = create_user()
    big = jpeg_bytes() + b"\0" * (5 * 1024 * 1024)
    huge = b"\0" * (10 * 1024 * 1024 + 1)

    ours = api.post("/analyses", files={"file": ("big.jpg", big, "image/jpeg")}, headers=bearer(user))
    gateways = api.post("/analyses", content=huge, headers={**bearer(user), "content-type": "image/jpeg"})

    assert ours.status_code == 413
    assert ours.json()["error"]["code"] == "payload_too_large"
    assert "/api/v1/analyses/uploads" in ours.json()["error"]["message"]
    assert gateways.status_code == 413


def test_tokens_decide_who_sees_what(api):
    alice, bob, expert = create_user(), create_user(), create_user(role="expert")
    created = api.post("/analyses/uploads", json={"filename": "a.jpg"}, headers=bearer(alice)).json()
    path = f"/analyses/{created['analysis_id']}"

    assert api.get(path).status_code == 401
    assert api.get(path, headers=bearer(bob)).status_code == 404
    assert api.delete(path, headers=bearer(bob)).status_code == 404
    assert api.post(f"{path}/retry", headers=bearer(bob)).status_code == 404
    assert api.get(path, headers=bearer(expert)).status_code == 200
    assert api.get("/analyses", headers=bearer(bob)).json()["total"] == 0
    assert api.get("/analyses", headers=bearer(alice)).json()["total"] == 1
    assert api.get("/detections/pending", headers=bearer(alice)).status_code == 403
    assert api.get("/detections/pending", headers=bearer(expert)).status_code == 200
    unknown = api.post(
        f"/detections/{uuid.uuid4()}/validate",
        json={"validation_status": "validated_positive"},
        headers=bearer(expert),
    )
    assert unknown.status_code == 404
    assert api.delete(path, headers=bearer(alice)).status_code == 204
