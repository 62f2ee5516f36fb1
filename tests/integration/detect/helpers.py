"""Helpers of the detect integration tests: SQL, the stand-in's admin API, uploads, handler invocations."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.builders import LambdaContext
from tests.support.detect import notification, upload_key

# A test run against the stand-in in both profiles: `default` and `original` (conftest.py's fixtures).
BOTH_PROFILES = pytest.mark.parametrize("standin_profile", ["default", "original"], indirect=True)


def drain(sqs: Any, queue_url: str, wait_s: float = 0.0) -> list[dict]:
    """Receive and delete everything on a queue (S3 puts under incoming/ notify it for real)."""
    taken: list[dict] = []
    deadline = time.monotonic() + wait_s
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if batch:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        taken += batch
        if not batch:
            if time.monotonic() >= deadline:
                return taken
            time.sleep(0.05)


def sql(statement: str, **params: Any) -> list[Any]:
    from sentrix.db.engine import get_engine

    with get_engine().begin() as connection:
        result = connection.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def analysis_row(analysis_id: uuid.UUID) -> Any:
    """The analysis with its point split into lon (ST_X) and lat (ST_Y)."""
    rows = sql(
        "SELECT a.*, ST_X(location) AS lon, ST_Y(location) AS lat, ST_SRID(location) AS srid "
        "FROM analyses a WHERE id = :id",
        id=analysis_id,
    )
    return rows[0] if rows else None


def detection_rows(analysis_id: uuid.UUID) -> list[Any]:
    return sql(
        "SELECT d.*, ST_X(location) AS lon, ST_Y(location) AS lat FROM detections d "
        "WHERE analysis_id = :id ORDER BY class_id, confidence",
        id=analysis_id,
    )


_admin: httpx.Client | None = None


def admin() -> httpx.Client:
    """One client for the stand-in's admin API (a new httpx client per call costs a TLS context)."""
    global _admin
    if _admin is None:
        _admin = httpx.Client(timeout=10)
    return _admin


def standin_calls(standin: Any) -> int:
    """How many POST /detect the stand-in has received since its last reset."""
    return admin().get(f"{standin.base_url}/_admin/stats").json()["requests"]["detect"]


def set_faults(standin: Any, **faults: Any) -> None:
    response = admin().put(f"{standin.base_url}/_admin/faults", json=faults)
    assert response.status_code == 200, response.text


def reset_standin(standin: Any) -> None:
    admin().post(f"{standin.base_url}/_admin/reset").raise_for_status()


@dataclass
class Uploads:
    """Creates users and pending analyses the way the upload function does, and puts photos in S3."""

    bucket: str
    s3: Any

    def user(self, language: str | None = None) -> uuid.UUID:
        user_id = uuid.uuid4()
        sql("INSERT INTO users (id, email) VALUES (:id, :email)", id=user_id, email=f"{user_id}@example.org")
        if language:
            sql(
                "INSERT INTO user_settings (user_id, settings) VALUES (:id, CAST(:s AS jsonb))",
                id=user_id,
                s=f'{{"language": "{language}"}}',
            )
        return user_id

    def pending(self, user_id: uuid.UUID, filename: str = "foto.jpg", **columns: Any) -> tuple[uuid.UUID, str]:
        """An analysis row in `pending_upload`, as POST /analyses/uploads leaves it."""
        analysis_id = uuid.uuid4()
        key = upload_key(user_id, analysis_id, filename)
        values = {
            "confidence_threshold": 0.5,
            "include_gps": True,
            "manual_latitude": None,
            "manual_longitude": None,
            **columns,
        }
        sql(
            "INSERT INTO analyses (id, user_id, status, image_bucket, image_key, original_filename, "
            "confidence_threshold, include_gps, manual_latitude, manual_longitude) VALUES (:id, :user_id, "
            "'pending_upload', :bucket, :key, :filename, :confidence_threshold, :include_gps, :manual_latitude, "
            ":manual_longitude)",
            id=analysis_id,
            user_id=user_id,
            bucket=self.bucket,
            key=key,
            filename=filename,
            **values,
        )
        return analysis_id, key

    def put(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def photo(
        self, data: bytes, user_id: uuid.UUID | None = None, filename: str = "foto.jpg", **columns: Any
    ) -> tuple[uuid.UUID, str]:
        """A pending analysis whose photo is already in the bucket."""
        analysis_id, key = self.pending(user_id or self.user(), filename, **columns)
        self.put(key, data)
        return analysis_id, key

    def exists(self, key: str) -> bool:
        return "Contents" in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key)

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


def run(pipeline: Any, bucket: str, key: str, *, receive_count: int = 1, redrive: bool = False) -> dict:
    """Invoke the real handler with one S3 notification for `key`; returns the batch response."""
    from sentrix_detect.handler import handler

    event = notification(bucket, key, receive_count=receive_count, redrive=redrive)
    return handler(event, LambdaContext("DetectFunction", 120), pipeline=pipeline)


def failed_ids(response: dict) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]
