"""What moto holds (S3 objects, queued SQS messages) saved when the stack stops and put back when it starts.

PostgreSQL keeps its data in the state dir; moto's server keeps everything in memory. Without this, a
restart would leave analyses whose images are gone (NoSuchKey, PDFs without the photo) and uploads that are
`duplicate`s of them. moto's recorder (MOTO_ENABLE_RECORDING) would replay every request instead, the
poller's one-a-second ReceiveMessage calls included, so the stack saves the state itself.

Saved: every object of every bucket (body, content type, user metadata, tags) and every message still in
a queue (body, message attributes). Not saved: a message's receive count (it starts again at 1).
A stack killed without stopping (SIGKILL, power loss) saves nothing. `restore` leaves a marker that the
next save removes, so the start after such a run knows (`unclean`): it restores the objects of the last
clean stop but not its messages (the killed run may have processed them already).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from sentrix_local.provision import Provisioned, aws_client

INDEX = "state.json"
RUNNING = "running"  # present from a start until the stop's save replaces the directory


def save(endpoint_url: str, resources: Provisioned, directory: Path, *, settle_s: float = 6.0) -> dict[str, int]:
    """Write moto's objects and messages under `directory` (replacing what was there); returns counts."""
    s3, sqs = aws_client("s3", endpoint_url), aws_client("sqs", endpoint_url)
    staging = directory.with_name(directory.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "objects").mkdir(parents=True)
    objects: list[dict[str, Any]] = []
    for logical_id, bucket in resources.buckets.items():
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                key = item["Key"]
                got = s3.get_object(Bucket=bucket, Key=key)
                blob = f"{len(objects):08d}"
                (staging / "objects" / blob).write_bytes(got["Body"].read())
                tags = s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
                objects.append(
                    {
                        "bucket": logical_id,
                        "key": key,
                        "blob": blob,
                        "content_type": got.get("ContentType"),
                        "metadata": got.get("Metadata", {}),
                        "tags": tags,
                    }
                )
    messages: list[dict[str, Any]] = []
    for logical_id, url in resources.queue_urls.items():
        messages += [{"queue": logical_id, **m} for m in _drain(sqs, url, settle_s)]
    (staging / INDEX).write_text(json.dumps({"objects": objects, "messages": messages}, indent=1))
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return {"objects": len(objects), "messages": len(messages)}


def _drain(sqs: Any, url: str, settle_s: float) -> list[dict[str, Any]]:
    """Every message of the queue, visible or not (an in-flight retry comes back within `settle_s`)."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + settle_s
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=3600,  # received once here, not again during the save
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for message in batch:
            found[message["MessageId"]] = {
                "body": message["Body"],
                "attributes": message.get("MessageAttributes", {}),
            }
        if batch:
            continue
        hidden = int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
                "Attributes"
            ]["ApproximateNumberOfMessagesNotVisible"]
        )
        if hidden <= len(found) or time.monotonic() > deadline:
            return list(found.values())
        time.sleep(0.5)


def unclean(directory: Path, database_initialised: bool) -> bool:
    """Whether the last run ended without saving: it was killed, or its database has no saved objects beside it."""
    if (directory / RUNNING).exists():
        return True
    return database_initialised and not (directory / INDEX).exists()


def restore(endpoint_url: str, resources: Provisioned, directory: Path, *, messages: bool = True) -> dict[str, int]:
    """Put saved objects (and messages) back; call before the bucket notifies the queue and before polling."""
    index_file = directory / INDEX
    directory.mkdir(parents=True, exist_ok=True)
    if not index_file.exists():
        (directory / RUNNING).touch()
        return {"objects": 0, "messages": 0}
    index = json.loads(index_file.read_text())
    s3, sqs = aws_client("s3", endpoint_url), aws_client("sqs", endpoint_url)
    restored_objects = 0
    for entry in index["objects"]:
        bucket = resources.buckets.get(entry["bucket"])  # by logical id: the template's, whatever the prefix
        if bucket is None:
            continue
        extra: dict[str, Any] = {"Metadata": entry.get("metadata") or {}}
        if entry.get("content_type"):
            extra["ContentType"] = entry["content_type"]
        if entry.get("tags"):
            extra["Tagging"] = "&".join(f"{_q(t['Key'])}={_q(t['Value'])}" for t in entry["tags"])
        body = (directory / "objects" / entry["blob"]).read_bytes()
        s3.put_object(Bucket=bucket, Key=entry["key"], Body=body, **extra)
        restored_objects += 1
    restored_messages = 0
    for message in index["messages"] if messages else []:
        url = resources.queue_urls.get(message["queue"])
        if url is None:
            continue
        extra = {"MessageAttributes": message["attributes"]} if message.get("attributes") else {}
        sqs.send_message(QueueUrl=url, MessageBody=message["body"], **extra)
        restored_messages += 1
    (directory / RUNNING).touch()
    return {"objects": restored_objects, "messages": restored_messages}


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
