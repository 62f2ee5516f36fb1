"""Turn an SQS record into the S3 objects it announces (moto and AWS quirks handled here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

INCOMING_PREFIX = "incoming/"


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    size: int | None
    etag: str | None
    version_id: str | None


def objects_in(body: str) -> list[UploadedObject]:
    """The `incoming/` objects an S3 notification carries; [] for test events and other prefixes."""
    message = json.loads(body)
    # S3 (and moto) send a test event when the notification is configured: nothing to do.
    if message.get("Event") == "s3:TestEvent":
        return []
    found = []
    for record in message.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        # Keys arrive URL-encoded ('+' for spaces) from S3 and from moto alike.
        key = unquote_plus(s3["object"]["key"])
        if not key.startswith(INCOMING_PREFIX):
            continue
        obj = s3["object"]
        found.append(
            UploadedObject(
                bucket=s3["bucket"]["name"],
                key=key,
                size=obj.get("size"),
                etag=(obj.get("eTag") or obj.get("etag") or "").strip('"') or None,
                version_id=obj.get("versionId"),
            )
        )
    return found
