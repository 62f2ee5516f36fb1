"""E-mail through SNS: one e-mail subscription of the topic per alert subscription, filtered on its id.

SNS cannot publish to an address, only to a topic's subscribers, and each subscriber gets the message in their
own language, so each alert subscription owns an SNS e-mail subscription whose filter policy accepts only
messages carrying its id (`subscription_id` message attribute). A publish then reaches exactly that address.
SNS sends the address a confirmation e-mail first (AWS's own, in English); nothing is delivered before it is
confirmed.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sentrix.adapters.aws import client
from sentrix.errors import DependencyUnavailable

ATTRIBUTE = "subscription_id"
# SNS e-mail subjects: ASCII, no line breaks, under 100 characters.
SUBJECT_MAX = 99


class EmailFailed(Exception):
    """SNS refused or could not be reached: the delivery is retried."""


def ascii_subject(subject: str) -> str:
    """The subject as SNS accepts it: accents dropped (Tucumán → Tucuman), other non-ASCII and controls removed."""
    folded = "".join(" " if ch.isspace() else ch for ch in unicodedata.normalize("NFKD", subject))
    kept = "".join(ch for ch in folded if ch.isascii() and ch.isprintable())
    return " ".join(kept.split())[:SUBJECT_MAX] or "Sentrix"


class SnsEmail:
    """The real SNS e-mail channel of one topic."""

    def __init__(self, topic_arn: str | None, sns: Any = None) -> None:
        self.topic_arn = topic_arn
        self._sns = sns

    @property
    def sns(self) -> Any:
        return self._sns or client("sns")

    def _topic(self) -> str:
        if not self.topic_arn:
            raise DependencyUnavailable("E-mail subscriptions are not configured (no SNS topic)")
        return self.topic_arn

    def subscribe(self, subscription_id: uuid.UUID, address: str) -> str:
        """The SNS subscription's ARN (pending until the address confirms)."""
        try:
            answer = self.sns.subscribe(
                TopicArn=self._topic(),
                Protocol="email",
                Endpoint=address,
                Attributes={"FilterPolicy": json.dumps({ATTRIBUTE: [str(subscription_id)]})},
                ReturnSubscriptionArn=True,
            )
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailable("E-mail subscriptions are unavailable") from exc
        return answer["SubscriptionArn"]

    def unsubscribe(self, arn: str) -> None:
        """Remove the SNS subscription (errors are the caller's to log: a stale one receives nothing more)."""
        self.sns.unsubscribe(SubscriptionArn=arn)

    def send(self, subscription_id: uuid.UUID, subject: str, body: str) -> None:
        try:
            self.sns.publish(
                TopicArn=self._topic(),
                Subject=ascii_subject(subject),
                Message=body,
                MessageAttributes={ATTRIBUTE: {"DataType": "String", "StringValue": str(subscription_id)}},
            )
        except (BotoCoreError, ClientError, DependencyUnavailable) as exc:
            raise EmailFailed(type(exc).__name__) from exc
