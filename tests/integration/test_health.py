"""Liveness and readiness through the real handler with API Gateway events, against PostGIS and moto."""

from __future__ import annotations

import json

import pytest

from tests.builders import LambdaContext, api_event
from tests.conftest import reset_caches

pytestmark = pytest.mark.integration


def call(event: dict) -> tuple[int, dict]:
    from sentrix_upload.api import handler

    response = handler(event, LambdaContext("UploadFunction", 30))
    return response["statusCode"], json.loads(response["body"])


def test_liveness_answers_without_dependencies():
    status, body = call(api_event("GET", "/api/v1/health"))
    assert status == 200
    assert body["status"] == "healthy"


def test_ready_with_everything_up_except_yolo_is_degraded(database_url, aws, monkeypatch):
    monkeypatch.setenv("YOLO_SERVICE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    reset_caches()
    status, body = call(api_event("GET", "/api/v1/health/ready"))
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    from tests.integration.test_migrations import head_revision

    assert body["checks"]["database"]["schema_revision"] == head_revision()
    assert body["checks"]["storage"]["status"] == "ok"
    assert body["checks"]["queue"]["status"] == "ok"
    assert body["checks"]["yolo_service"]["status"] == "error"
    # Which host did not answer: readiness names it
    assert body["checks"]["yolo_service"]["url"] == "http://127.0.0.1:9"


def test_ready_is_503_when_the_database_is_down(database_url, aws, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+pg8000://sentrix:sentrix@127.0.0.1:9/sentrix")
    reset_caches()
    try:
        status, body = call(api_event("GET", "/api/v1/health/ready"))
    finally:
        monkeypatch.undo()
        reset_caches()
    assert status == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["database"]["status"] == "error"


def ready_with(monkeypatch, **env: str) -> tuple[int, dict]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    try:
        return call(api_event("GET", "/api/v1/health/ready"))
    finally:
        monkeypatch.undo()
        reset_caches()


def statuses(body: dict) -> dict[str, str]:
    return {name: check["status"] for name, check in body["checks"].items()}


def test_ready_with_every_dependency_up_is_ready(database_url, aws, yolo_standin, monkeypatch):
    status, body = ready_with(monkeypatch, YOLO_SERVICE_URL=yolo_standin.base_url)
    assert (status, body["status"]) == (200, "ready")
    assert statuses(body) == {"database": "ok", "yolo_service": "ok", "storage": "ok", "queue": "ok"}


def test_ready_without_the_images_bucket_is_degraded(database_url, aws, yolo_standin, monkeypatch):
    status, body = ready_with(monkeypatch, YOLO_SERVICE_URL=yolo_standin.base_url, IMAGES_BUCKET="sentrix-no-such")
    assert (status, body["status"]) == (200, "degraded")
    assert statuses(body) == {"database": "ok", "yolo_service": "ok", "storage": "error", "queue": "ok"}


def test_ready_without_the_detect_queue_is_degraded(database_url, aws, yolo_standin, monkeypatch):
    gone = aws.queue_url.rsplit("/", 1)[0] + "/sentrix-no-such-queue"
    status, body = ready_with(monkeypatch, YOLO_SERVICE_URL=yolo_standin.base_url, DETECT_QUEUE_URL=gone)
    assert (status, body["status"]) == (200, "degraded")
    assert statuses(body) == {"database": "ok", "yolo_service": "ok", "storage": "ok", "queue": "error"}


def test_ready_with_s3_and_sqs_unreachable_is_degraded_not_down(database_url, aws, yolo_standin, monkeypatch):
    # The AWS endpoint on the discard port: nothing listens, S3 and SQS both fail to connect.
    status, body = ready_with(
        monkeypatch, YOLO_SERVICE_URL=yolo_standin.base_url, AWS_ENDPOINT_URL="http://127.0.0.1:9"
    )
    assert (status, body["status"]) == (200, "degraded")
    assert statuses(body) == {"database": "ok", "yolo_service": "ok", "storage": "error", "queue": "error"}
    # Each says what failed by the exception's type only: no endpoint, no message.
    assert body["checks"]["storage"]["error"].isidentifier() and body["checks"]["queue"]["error"].isidentifier()


def test_ready_names_the_yolo_host_and_what_it_reports_without_its_credentials(
    database_url, aws, yolo_standin, monkeypatch
):
    # Given a YOLO host whose URL carries a user, a password and a trailing slash
    with_credentials = yolo_standin.base_url.replace("http://", "http://sentrix:tok-5ec2e7@") + "/"
    reported = yolo_standin_health(yolo_standin)
    # When readiness is asked
    status, body = ready_with(monkeypatch, YOLO_SERVICE_URL=with_credentials)
    # Then it names the host without them, and passes on the version the host reports
    yolo = body["checks"]["yolo_service"]
    assert (status, yolo["status"]) == (200, "ok")
    assert yolo["url"] == f"{yolo_standin.base_url}/"
    assert yolo["reported"]["version"] == reported["version"]
    assert "tok-5ec2e7" not in json.dumps(body)


def test_production_readiness_does_not_name_the_yolo_host(database_url, aws, yolo_standin, monkeypatch):
    status, body = ready_with(monkeypatch, YOLO_SERVICE_URL=yolo_standin.base_url, ENVIRONMENT="production")
    yolo = body["checks"]["yolo_service"]
    assert (status, yolo["status"]) == (200, "ok")
    assert "url" not in yolo
    assert "127.0.0.1" not in json.dumps(body)  # the host, in no other key either


def yolo_standin_health(standin) -> dict:
    import httpx

    return httpx.get(f"{standin.base_url}/health", timeout=10).json()
