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
