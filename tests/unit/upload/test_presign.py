"""Presigned POST policies signed locally by botocore (no network): exact key, exact type, size range, expiry."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config

from sentrix.presign import policy_document, presigned_post


@pytest.fixture
def s3():
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )


def test_policy_conditions(s3):
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)

    post = presigned_post("incoming/u/a/x.jpg", "image/jpeg", max_bytes=1234, ttl_s=600, bucket="b", s3=s3, now=now)

    policy = policy_document(post.fields)
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, 1234] in policy["conditions"]
    assert {"key": "incoming/u/a/x.jpg"} in policy["conditions"]
    assert {"bucket": "b"} in policy["conditions"]
    assert post.fields["key"] == "incoming/u/a/x.jpg"
    assert post.fields["Content-Type"] == "image/jpeg"
    assert post.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert post.expires_at == datetime(2026, 3, 10, 12, 10, tzinfo=UTC)


@pytest.mark.parametrize(("ttl", "max_bytes"), [(59, 10), (3601, 10), (600, 0)])
def test_unreasonable_arguments_are_refused(s3, ttl, max_bytes):
    with pytest.raises(ValueError):
        presigned_post("k", "image/png", max_bytes=max_bytes, ttl_s=ttl, bucket="b", s3=s3)
