"""The delivery worker (docs/alerts.md, "Subscriptions and delivery"): send what is due, record every attempt.

Each run claims up to `delivery_batch` due pending deliveries (a lease: they are not due again for
`delivery_lease_s`, so a run that dies mid-way leaves them to a later one, and two runs never take the same
row), then sends them one by one outside any transaction and records each attempt in its own. A failure
(a webhook answer outside 2xx, no answer, a refused address, SNS refusing) makes the delivery due again after
min(base · 2^(k-1), max) seconds, k the attempts so far; the `delivery_max_attempts`-th failure makes it dead
(the dead letter: kept with all its attempts, counted in GET /subscriptions, and a metric an alarm watches).

Two kinds of delivery share the table, the worker, the retries and the dead letter: a level change
(`kind` `level_change`) and a week's bulletin (`weekly_bulletin`, queued by the weekly job,
logic/weekly_bulletins.py), whose PDF is presigned here, at send time, for `bulletin_url_ttl_s`.

Time comes from `now`, so tests move the clock instead of sleeping. Delivery is at least once: a run that dies
after the receiver answered but before recording sends it again later, with the same `Sentrix-Delivery` id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from sentrix.db.engine import session_scope
from sentrix.errors import ValidationFailed
from sentrix.observability import logger, metrics
from sentrix_report.adapters.sns_email import EmailFailed, SnsEmail
from sentrix_report.adapters.webhook_http import HttpWebhook, WebhookFailed
from sentrix_report.dal import subscriptions as data
from sentrix_report.dal.webhook_keys import webhook_key
from sentrix_report.logic import secret_box, subscription_targets, webhook_signing
from sentrix_report.logic.alert_messages import Notice, bulletin_notice, notice, subscriber_locale
from sentrix_report.settings import ReportSettings, get_report_settings

DEAD_METRIC = "SubscriptionDeliveriesDead"


class EmailChannel(Protocol):
    def send(self, subscription_id: Any, subject: str, body: str) -> None: ...


class WebhookChannel(Protocol):
    def post(self, url: subscription_targets.WebhookUrl, address: str, body: bytes, headers: dict[str, str]) -> int: ...


class Presigner(Protocol):
    def __call__(self, key: str, filename: str, ttl_s: int) -> str: ...


def s3_presigner(key: str, filename: str, ttl_s: int) -> str:
    """A GET URL of a stored bulletin (reports bucket), downloading as `filename`, valid for `ttl_s`."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sentrix.adapters.storage import S3ImageStore

    store = S3ImageStore()
    try:
        return store.s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": store.bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": "application/pdf",
            },
            ExpiresIn=ttl_s,
        )
    except (BotoCoreError, ClientError) as exc:
        raise PresignFailed(type(exc).__name__) from exc


class PresignFailed(Exception):
    """The bulletin's link could not be made: the delivery is retried."""


@dataclass
class RunSummary:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    left: int = 0  # claimed but not tried (the invocation ran short of time): due again after the lease
    outcomes: list[tuple[int, str]] = field(default_factory=list)  # (delivery id, status)


def backoff_s(attempts: int, settings: ReportSettings) -> float:
    """The wait after the `attempts`-th failure."""
    return min(settings.delivery_backoff_base_s * 2 ** (attempts - 1), settings.delivery_backoff_max_s)


def _utc_now() -> datetime:
    return datetime.now(UTC)


_webhook: HttpWebhook | None = None


def default_webhook(settings: ReportSettings) -> HttpWebhook:
    """One HTTP client per execution environment (its connection pool outlives an invocation)."""
    global _webhook
    if _webhook is None:
        _webhook = HttpWebhook(settings.webhook_timeout_s)
    return _webhook


def run_deliveries(
    *,
    now: Callable[[], datetime] = _utc_now,
    email: EmailChannel | None = None,
    webhook: WebhookChannel | None = None,
    resolve: subscription_targets.Resolver = subscription_targets.system_resolver,
    time_left_ms: Callable[[], int] | None = None,
    margin_ms: int = 10_000,
    presign: Presigner = s3_presigner,
) -> RunSummary:
    """One run of the worker: claim what is due at `now()`, try each, record each attempt."""
    settings = get_report_settings()
    email = email or SnsEmail(settings.subscriptions_topic_arn)
    summary = RunSummary()
    start = now()
    with session_scope() as session:
        claimed = data.claim_due(
            session, start, start + timedelta(seconds=settings.delivery_lease_s), settings.delivery_batch
        )
        subscriptions = data.details(session, {row.subscription_id for row in claimed})
        key = webhook_key(session, settings) if any(s.channel == "webhook" for s in subscriptions.values()) else None
    summary.claimed = len(claimed)
    for row in claimed:
        if time_left_ms is not None and time_left_ms() < margin_ms:
            summary.left += 1
            continue
        subscription = subscriptions.get(row.subscription_id)
        if subscription is None:  # deleted since the claim: its deliveries went with it
            continue
        try:
            message = _message(row, subscription, now(), settings, presign)
        except PresignFailed as exc:
            status_code, error = None, f"s3: {exc}"
        else:
            if subscription.channel == "webhook":
                channel = webhook or default_webhook(settings)
                status_code, error = _post(row, subscription, message, key, now, channel, resolve)
            else:
                status_code, error = _mail(subscription, message, email)
        _settle(row, status_code, error, now(), settings, summary)
    if summary.claimed:
        logger.info(
            "deliveries run",
            extra={k: getattr(summary, k) for k in ("claimed", "delivered", "retried", "dead", "left")},
        )
    return summary


def _change(row: Any) -> dict[str, Any]:
    return row.change if isinstance(row.change, dict) else json.loads(row.change)


@dataclass(frozen=True)
class Message:
    """What one delivery sends: its words (e-mail, webhook text), its webhook body and event."""

    words: Notice
    body: dict[str, Any]
    event: str


def _is_bulletin(row: Any) -> bool:
    return getattr(row, "kind", "level_change") == "weekly_bulletin"


def _message(row: Any, subscription: Any, at: datetime, settings: ReportSettings, presign: Presigner) -> Message:
    locale = subscriber_locale(subscription.language, subscription.timezone)
    change = _change(row)
    owner = {"id": str(subscription.id), "territory_code": subscription.territory_code}
    if not _is_bulletin(row):
        owner["territory_code"] = change["territory_code"]
        words = notice(change, owner, locale)
        return Message(
            words, level_change_body(row, subscription, change, locale.language, words), webhook_signing.EVENT
        )
    # The words in the language and zone the bulletin was made in (its PDF), even if the owner changed them since.
    locale = subscriber_locale(change["language"], change["week"]["time_zone"])
    ttl = settings.bulletin_url_ttl_s
    url = presign(change["pdf"]["key"], change["pdf"]["filename"], ttl)
    expires = at + timedelta(seconds=ttl)
    words = bulletin_notice(change, owner, locale, url, expires)
    body = {
        "type": "weekly_bulletin",
        "event": webhook_signing.BULLETIN_EVENT,
        "delivery_id": row.id,
        "subscription_id": str(subscription.id),
        "territory": change["territory"],
        "week": change["week"],
        "figures": change["figures"],
        "recurrence_rate": change["recurrence_rate"],
        "top_sites": change["top_sites"],
        "alerts": change["alerts"],
        "fingerprint": change["fingerprint"],
        "generated_at": change["generated_at"],
        "pdf": {"url": url, "expires_at": expires.astimezone(UTC).isoformat(), "bytes": change["pdf"]["bytes"]},
        "language": locale.language,
        "text": words.text,
    }
    return Message(words, body, webhook_signing.BULLETIN_EVENT)


def _mail(subscription: Any, message: Message, email: EmailChannel) -> tuple[int | None, str | None]:
    try:
        email.send(subscription.id, message.words.subject, message.words.body)
    except EmailFailed as exc:
        return None, f"sns: {exc}"
    return None, None


def level_change_body(
    row: Any, subscription: Any, change: dict[str, Any], language: str, words: Notice
) -> dict[str, Any]:
    """A level change's webhook body."""
    return {
        "type": "level_change",
        "event": webhook_signing.EVENT,
        "delivery_id": row.id,
        "subscription_id": str(subscription.id),
        "change_id": change["change_id"],
        "alert_id": change["alert_id"],
        "territory": {"code": change["territory_code"], "name": change["territory_name"]},
        "old_level": change["old_level"],
        "new_level": change["new_level"],
        "changed_at": change["changed_at"],
        "language": language,
        "text": words.text,
    }


def _post(
    row: Any,
    subscription: Any,
    message: Message,
    key: bytes | None,
    now: Callable[[], datetime],
    webhook: WebhookChannel,
    resolve: subscription_targets.Resolver,
) -> tuple[int | None, str | None]:
    from cryptography.exceptions import InvalidTag

    try:
        secret = secret_box.open_sealed(key or b"", subscription.secret_ciphertext, subscription.id.bytes)
    except (InvalidTag, ValueError):
        return None, "secret unreadable (key changed?)"
    allow = subscription_targets.loopback_allowed(get_report_settings().webhook_allow_loopback)
    try:
        url = subscription_targets.parse_webhook_url(subscription.target, allow_loopback=allow)
        address = subscription_targets.checked_address(url, allow_loopback=allow, resolve=resolve)
    except ValidationFailed as exc:
        return None, f"target refused: {(exc.details or {}).get('reason')}"
    body = json.dumps(message.body, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(now().timestamp())
    headers = {
        webhook_signing.SIGNATURE_HEADER: webhook_signing.signature_header(secret, timestamp, body),
        webhook_signing.DELIVERY_HEADER: str(row.id),
        webhook_signing.EVENT_HEADER: message.event,
    }
    try:
        status = webhook.post(url, address, body, headers)
    except WebhookFailed as exc:
        return None, f"no answer: {exc}"
    return status, None if 200 <= status < 300 else f"answered {status}"


def _settle(
    row: Any, status_code: int | None, error: str | None, at: datetime, settings: ReportSettings, summary: RunSummary
) -> None:
    attempt = row.attempts + 1
    if error is None:
        status, due = "delivered", None
    elif attempt >= settings.delivery_max_attempts:
        status, due = "dead", None
    else:
        status, due = "pending", at + timedelta(seconds=backoff_s(attempt, settings))
    with session_scope() as session:
        data.record_attempt(
            session,
            delivery_id=row.id,
            subscription_id=row.subscription_id,
            change_id=row.change_id,
            attempt=attempt,
            status_code=status_code,
            error=error,
            at=at,
        )
        settled = data.settle(
            session, delivery_id=row.id, seen_attempts=row.attempts, status=status, next_attempt_at=due, at=at
        )
    if not settled:
        return
    summary.outcomes.append((row.id, status))
    if status == "delivered":
        summary.delivered += 1
    elif status == "dead":
        summary.dead += 1
        metrics.add_metric(name=DEAD_METRIC, unit=MetricUnit.Count, value=1)
        logger.warning(
            "delivery dead-lettered",
            extra={"delivery_id": row.id, "subscription_id": str(row.subscription_id), "attempts": attempt},
        )
    else:
        summary.retried += 1
