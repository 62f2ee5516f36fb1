"""Create the bucket, queues, topics and bucket → queue notification on moto's server, from the template."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from sentrix_local.template import StackSpec, stack_spec

REGION = "us-east-1"


def resource_name(logical_id: str, prefix: str) -> str:
    """ImagesBucket → <prefix>-images-bucket: stable, S3- and SQS-safe names for local resources."""
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()
    return f"{prefix}-{kebab}"


@dataclass(frozen=True)
class Provisioned:
    buckets: dict[str, str]  # logical id → bucket name
    queue_urls: dict[str, str]  # logical id → queue URL
    queue_arns: dict[str, str]
    topic_arns: dict[str, str] = field(default_factory=dict)  # logical id → topic ARN

    def bucket(self, logical_id: str | None = None) -> str:
        return self.buckets[logical_id] if logical_id else next(iter(self.buckets.values()))


def aws_client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
    )


def provision(
    endpoint_url: str,
    *,
    prefix: str = "sentrix-local",
    spec: StackSpec | None = None,
    before_notifications: Callable[[Provisioned], object] | None = None,
) -> Provisioned:
    """Idempotently create what the template declares; DLQs first so redrive policies can point at them.

    `before_notifications` runs once buckets and queues exist and before a bucket notifies its queue: what it
    puts in a bucket (a restored object) does not become a new S3 event.
    """
    spec = spec or stack_spec()
    s3, sqs = aws_client("s3", endpoint_url), aws_client("sqs", endpoint_url)
    queue_urls: dict[str, str] = {}
    queue_arns: dict[str, str] = {}
    ordered = sorted(spec.queues.values(), key=lambda q: q.dead_letter_queue is not None)
    for queue in ordered:
        attributes = {"VisibilityTimeout": str(queue.visibility_timeout)}
        if queue.dead_letter_queue:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": queue_arns[queue.dead_letter_queue],
                    "maxReceiveCount": queue.max_receive_count,
                }
            )
        url = sqs.create_queue(QueueName=resource_name(queue.logical_id, prefix), Attributes=attributes)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        queue_urls[queue.logical_id] = url
        queue_arns[queue.logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    buckets = {}
    for logical_id in spec.buckets:
        name = resource_name(logical_id, prefix)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if name not in existing:
            s3.create_bucket(Bucket=name)
        buckets[logical_id] = name
    sns = aws_client("sns", endpoint_url)
    topics = {t: sns.create_topic(Name=resource_name(t, prefix))["TopicArn"] for t in spec.topics}
    provisioned = Provisioned(buckets, queue_urls, queue_arns, topics)
    if before_notifications is not None:
        before_notifications(provisioned)
    for bucket_id in spec.buckets:
        configs = [
            {
                "QueueArn": queue_arns[n.queue],
                "Events": list(n.events),
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": n.prefix}]}},
            }
            for n in spec.notifications
            if n.bucket == bucket_id
        ]
        if configs:
            s3.put_bucket_notification_configuration(
                Bucket=buckets[bucket_id], NotificationConfiguration={"QueueConfigurations": configs}
            )
    return provisioned
