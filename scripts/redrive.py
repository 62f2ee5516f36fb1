"""Move the detect dead-letter queue's messages back to the detect queue (`make redrive`).

Each message is sent again with its body and attributes unchanged plus a `Redrive` attribute, which lets
the detect function retry an analysis that had given up after transient failures; only then is it
deleted from the DLQ, so a failure midway loses nothing. Works against AWS and against moto's server
(AWS_ENDPOINT_URL, as `make dev` sets it).

    python scripts/redrive.py                      # DETECT_QUEUE_URL → its DLQ (from the RedrivePolicy)
    python scripts/redrive.py --dry-run            # list what would move, move nothing
    python scripts/redrive.py --source-queue URL --dlq URL --max 100
    AWS_ENDPOINT_URL=http://127.0.0.1:5005 python scripts/redrive.py --source-queue sentrix-local-detect-queue
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlparse

REDRIVE_ATTRIBUTE = "Redrive"  # read by sentrix_detect.logic.events.is_redriven
SCAN_VISIBILITY_S = 60  # how long a listed message stays hidden from other readers of the DLQ


@dataclass
class Report:
    moved: int = 0
    listed: list[str] = field(default_factory=list)


def sqs_client(endpoint_url: str | None = None) -> Any:
    import boto3

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    extra: dict[str, str] = {}
    if (
        endpoint
        and urlparse(endpoint).hostname in ("127.0.0.1", "localhost")
        and not os.environ.get("AWS_ACCESS_KEY_ID")
    ):
        # The local stack's moto accepts any credentials; boto3 still wants some to sign with.
        extra = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        **extra,
    )


def queue_url(sqs: Any, queue: str) -> str:
    """A queue URL from a URL or a queue name."""
    return queue if queue.startswith(("http://", "https://")) else sqs.get_queue_url(QueueName=queue)["QueueUrl"]


def dead_letter_queue_of(sqs: Any, source_url: str) -> str:
    """The DLQ URL named by the source queue's RedrivePolicy."""
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        raise SystemExit(f"{source_url} has no RedrivePolicy; pass --dlq")
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    _, _, _, _, account, name = arn.split(":", 5)
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def describe(message: dict[str, Any]) -> str:
    """One line per message: the object keys it announces (or why it cannot be read)."""
    try:
        body = json.loads(message["Body"])
        keys = [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records") or []]
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"{message['MessageId']}: unreadable body"
    return f"{message['MessageId']}: {', '.join(keys) or 'no S3 records'}"


def receive(sqs: Any, queue_url: str, limit: int) -> Iterator[dict[str, Any]]:
    """Messages of a queue, each at most once (hidden for SCAN_VISIBILITY_S once seen)."""
    seen: set[str] = set()
    while len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            WaitTimeSeconds=1,
            VisibilityTimeout=SCAN_VISIBILITY_S,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def redrive(sqs: Any, source_url: str, dlq_url: str, *, limit: int = 10_000, dry_run: bool = False) -> Report:
    """Move (or, dry, only list) up to `limit` messages from `dlq_url` to `source_url`."""
    report = Report()
    listed: list[dict[str, Any]] = []
    for message in receive(sqs, dlq_url, limit):
        report.listed.append(describe(message))
        if dry_run:
            listed.append(message)
            continue
        attributes = dict(message.get("MessageAttributes") or {})
        attributes[REDRIVE_ATTRIBUTE] = {"DataType": "String", "StringValue": "dlq"}
        sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"], MessageAttributes=attributes)
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
        report.moved += 1
    # A dry run leaves every message where it was, visible again right away.
    for message in listed:
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Move detect DLQ messages back to the detect queue.")
    parser.add_argument("--source-queue", default=os.environ.get("DETECT_QUEUE_URL"), help="detect queue URL or name")
    parser.add_argument("--dlq", help="dead-letter queue URL or name (default: from the source's RedrivePolicy)")
    parser.add_argument("--max", type=int, default=10_000, help="move at most this many messages")
    parser.add_argument("--dry-run", action="store_true", help="list the messages, move nothing")
    parser.add_argument("--endpoint-url", help="SQS endpoint (default: AWS_ENDPOINT_URL, else AWS)")
    args = parser.parse_args(argv)
    if not args.source_queue:
        parser.error("--source-queue (or DETECT_QUEUE_URL) is required")
    sqs = sqs_client(args.endpoint_url)
    source = queue_url(sqs, args.source_queue)
    dlq = queue_url(sqs, args.dlq) if args.dlq else dead_letter_queue_of(sqs, source)
    report = redrive(sqs, source, dlq, limit=args.max, dry_run=args.dry_run)
    for line in report.listed:
        print(line)
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} {len(report.listed) if args.dry_run else report.moved} message(s) from {dlq} to {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
