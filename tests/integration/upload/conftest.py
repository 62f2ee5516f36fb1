"""Fixtures of the upload tests: a clean database, moto's bucket and queue, fresh caches."""

from __future__ import annotations

import boto3
import httpx
import pytest

from tests.conftest import reset_caches


def empty_bucket(aws) -> None:
    """Objects left by earlier tests would blur what this one stored."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket).get("Contents", [])]
    if keys:
        s3.delete_objects(Bucket=aws.bucket, Delete={"Objects": [{"Key": k} for k in keys]})


@pytest.fixture
def upload_env(clean_db, aws, monkeypatch):
    """PostGIS (emptied) + moto, with the upload function's caches forgotten before and after."""
    from sentrix_upload.logic import image_urls
    from sentrix_upload.settings import get_upload_settings

    def forget() -> None:
        reset_caches()
        get_upload_settings.cache_clear()
        image_urls.clear()

    forget()
    empty_bucket(aws)
    yield aws
    monkeypatch.undo()
    forget()


@pytest.fixture
def detector(upload_env, yolo_standin, monkeypatch):
    """The stand-in with test-sized retries and timeouts; faults reset afterwards."""
    from sentrix.adapters.yolo import reset_yolo_client

    for name, value in {
        "YOLO_SERVICE_URL": yolo_standin.base_url,
        "YOLO_RETRY_ATTEMPTS": "2",
        "YOLO_BACKOFF_INITIAL_S": "0.01",
        "YOLO_BACKOFF_MAX_S": "0.02",
        "YOLO_BACKOFF_JITTER_S": "0",
        "YOLO_READ_TIMEOUT_S": "0.5",
    }.items():
        monkeypatch.setenv(name, value)
    reset_yolo_client()
    # Counters and faults start clean: the stand-in is shared with suites that do not reset it after them
    httpx.post(f"{yolo_standin.base_url}/_admin/reset").raise_for_status()
    yield yolo_standin
    httpx.post(f"{yolo_standin.base_url}/_admin/reset").raise_for_status()
    monkeypatch.undo()
    reset_yolo_client()


@pytest.fixture
def older_bucket(upload_env):
    """A second bucket on moto's server, emptied and removed afterwards: analyses stored before a bucket change."""
    s3 = boto3.client("s3", endpoint_url=upload_env.endpoint_url)
    name = f"{upload_env.bucket[:50]}-older"
    s3.create_bucket(Bucket=name)
    yield name
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
    if keys:
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": k} for k in keys]})
    s3.delete_bucket(Bucket=name)
