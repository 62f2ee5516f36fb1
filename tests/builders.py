"""Builders for the events Lambda receives: API Gateway REST proxy, authorizer, SQS and S3 notifications."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any
from urllib.parse import quote_plus, urlencode

from sentrix_local.gateway import proxy_event
from sentrix_local.invoke import LambdaContext

__all__ = ["LambdaContext", "api_event", "s3_notification", "sqs_event"]


def api_event(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: bytes | str | dict | None = None,
    authorizer: dict[str, Any] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST API proxy event, built by the same code the local gateway uses; `authorizer` is its context."""
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body)
        headers.setdefault("content-type", "application/json")
    raw = body.encode() if isinstance(body, str) else (body or b"")
    event = proxy_event(
        method,
        resource or path,
        path,
        query=urlencode(query or {}),
        headers=headers,
        body=raw,
        path_parameters=path_parameters,
        source_ip="203.0.113.7",
    )
    event["requestContext"]["authorizer"] = authorizer
    return event


def s3_notification(bucket: str, key: str, *, size: int = 1234, etag: str = "abc") -> str:
    """The body S3 puts on SQS for ObjectCreated (key URL-encoded, as S3 does)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventName": "ObjectCreated:Post",
                    "s3": {
                        "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                        "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag},
                    },
                }
            ]
        }
    )


def sqs_event(*bodies: str, receive_count: int = 1, queue_arn: str = "arn:aws:sqs:us-east-1:000000000000:q"):
    """An SQS event source batch, one record per body."""
    records = []
    for body in bodies:
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": str(uuid.uuid4()),
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1700000000000"},
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}
