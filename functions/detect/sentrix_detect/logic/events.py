"""Turn an SQS record into the S3 objects it announces (moto and AWS quirks handled here)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

INCOMING_PREFIX = "incoming/"
# Where detect keeps an original once it has claimed it: written once, never overwritten (docs/detect.md).
ORIGINALS_PREFIX = "originals/"
RETRY_EVENT_NAME = "ObjectCreated:Retry"
# Set by scripts/redrive.py on messages it moves back from the dead-letter queue.
REDRIVE_ATTRIBUTE = "Redrive"


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    size: int | None
    etag: str | None
    version_id: str | None
    event_name: str = "ObjectCreated:Put"


@dataclass(frozen=True)
class UploadTarget:
    """The owner and analysis an `incoming/<user_id>/<analysis_id>/<filename>` key names."""

    user_id: uuid.UUID
    analysis_id: uuid.UUID
    filename: str


def objects_in(body: str) -> list[UploadedObject]:
    """The `incoming/` objects an S3 notification carries; [] for test events and other prefixes.

    Also accepts the upload function's retry message, which has S3's shape with eventName "ObjectCreated:Retry".
    """
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("SQS message body is not a JSON object")
    # S3 (and moto) send a test event when the notification is configured: nothing to do.
    if message.get("Event") == "s3:TestEvent":
        return []
    found = []
    for record in message.get("Records") or []:
        event_name = str(record.get("eventName", ""))
        if not event_name.startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        # Keys arrive URL-encoded ('+' for spaces) from S3 and from moto alike.
        key = unquote_plus(s3["object"]["key"])
        # The bucket only notifies incoming/; the retry message may name a secured original.
        retried_original = event_name == RETRY_EVENT_NAME and key.startswith(ORIGINALS_PREFIX)
        if not key.startswith(INCOMING_PREFIX) and not retried_original:
            continue
        obj = s3["object"]
        size = obj.get("size")
        found.append(
            UploadedObject(
                bucket=s3["bucket"]["name"],
                key=key,
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                etag=(obj.get("eTag") or obj.get("etag") or "").strip('"') or None,
                version_id=obj.get("versionId"),
                event_name=event_name,
            )
        )
    return found


def parse_key(key: str) -> UploadTarget | None:
    """The target of an upload (or secured original) key, or None when the key does not follow the scheme."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] + "/" not in (INCOMING_PREFIX, ORIGINALS_PREFIX) or not parts[3]:
        return None
    try:
        user_id, analysis_id = uuid.UUID(parts[1]), uuid.UUID(parts[2])
    except ValueError:
        return None
    # Only the canonical spelling: the upload function writes str(uuid), so anything else is not ours.
    if parts[1] != str(user_id) or parts[2] != str(analysis_id):
        return None
    return UploadTarget(user_id, analysis_id, parts[3])


def is_redriven(message_attributes: dict[str, Any] | None) -> bool:
    """True for a message scripts/redrive.py moved back from the DLQ (Lambda and boto3 spell attributes apart)."""
    attribute = (message_attributes or {}).get(REDRIVE_ATTRIBUTE)
    if not isinstance(attribute, dict):
        return False
    return bool(attribute.get("stringValue") or attribute.get("StringValue"))


def processed_key(user_id: uuid.UUID | str, analysis_id: uuid.UUID | str) -> str:
    """Where the annotated image of an analysis is stored."""
    return f"processed/{user_id}/{analysis_id}.jpg"


def upload_key(target: UploadTarget) -> str:
    """Where the client's upload of an analysis lands (presigned POST or the multipart route)."""
    return f"{INCOMING_PREFIX}{target.user_id}/{target.analysis_id}/{target.filename}"


def original_key(target: UploadTarget) -> str:
    """Where detect keeps the original of an analysis once claimed; nothing a client can post reaches it."""
    return f"{ORIGINALS_PREFIX}{target.user_id}/{target.analysis_id}/{target.filename}"
