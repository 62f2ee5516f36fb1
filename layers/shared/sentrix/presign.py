"""Presigned POSTs: the browser sends the photo straight to S3, under conditions S3 enforces (moto does not)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sentrix.adapters import sigv4
from sentrix.adapters.aws import client
from sentrix.config import get_settings
from sentrix.errors import DependencyUnavailable

MIN_TTL_S = 60
MAX_TTL_S = 3600


@dataclass(frozen=True, slots=True)
class PresignedPost:
    """Where and how to POST one object: `fields` go first in the form, the file part last."""

    url: str
    fields: dict[str, str]
    key: str
    content_type: str
    max_bytes: int
    expires_at: datetime


def presigned_post(
    key: str,
    content_type: str,
    *,
    max_bytes: int,
    ttl_s: int,
    bucket: str | None = None,
    s3: Any | None = None,
    now: datetime | None = None,
) -> PresignedPost:
    """A POST policy for exactly `key`, exactly `content_type` and 1..`max_bytes` bytes, valid for `ttl_s`."""
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be within [{MIN_TTL_S}, {MAX_TTL_S}], got {ttl_s}")
    if max_bytes < 1:
        raise ValueError("max_bytes must be positive")
    settings = get_settings()
    bucket = bucket or settings.images_bucket
    # An exact Content-Type condition (not "starts-with image/"): the type the client declared is the
    # one S3 stores, and it was checked against the allowed list before we signed anything.
    conditions: list[Any] = [{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]]
    fields = {"Content-Type": content_type}
    signed_at = now or datetime.now(UTC)
    # Signed without boto3 when botocore's answer is certain (sentrix.adapters.sigv4); a caller's client signs itself.
    answer = None
    if s3 is None:
        endpoint = settings.aws_endpoint_url or None
        answer = sigv4.presigned_post(
            bucket, key, fields, conditions, ttl_s, region=settings.aws_region, endpoint_url=endpoint, now=signed_at
        )
    if answer is None:
        try:
            answer = (s3 or client("s3")).generate_presigned_post(
                Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=ttl_s
            )
        except (BotoCoreError, ClientError) as exc:  # no credentials in the environment, for instance
            raise DependencyUnavailable("Image storage unavailable") from exc
    expires_at = signed_at + timedelta(seconds=ttl_s)
    return PresignedPost(answer["url"], dict(answer["fields"]), key, content_type, max_bytes, expires_at)


def policy_document(fields: dict[str, str]) -> dict[str, Any]:
    """The decoded POST policy of a presigned POST's fields (what S3 will enforce)."""
    return json.loads(base64.b64decode(fields["policy"]))
