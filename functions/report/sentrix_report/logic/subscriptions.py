"""Subscriptions to territory alert levels and weekly bulletins (docs/alerts.md, "Subscriptions and delivery"):
make, list, delete.

Officials subscribe to their territories (or any below them; anything else is 404, as everywhere for them) and
admins to any. Users and experts are 403: an alert level is the programme's operational signal for the people
who act on a territory, and an expert has no territory (an expert who acts on one is made its official).
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from sentrix.errors import Conflict, DependencyUnavailable, Forbidden, NotFound
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.observability import logger
from sentrix.repositories.officials import is_official
from sentrix_report.adapters.sns_email import SnsEmail
from sentrix_report.dal import subscriptions as data
from sentrix_report.dal.webhook_keys import webhook_key
from sentrix_report.logic import secret_box, subscription_targets, webhook_signing
from sentrix_report.logic.alert_levels import ORDER, Level
from sentrix_report.logic.subscription_targets import loopback_allowed
from sentrix_report.schemas.subscriptions import Channel, SubscriptionRequest
from sentrix_report.settings import get_report_settings

MAX_PER_USER = 50


def _may_subscribe(principal: Principal) -> None:
    if not (principal.has_role(Role.ADMIN) or is_official(principal)):
        raise Forbidden(key="subscription.role")


def _unknown_territory(code: str) -> NotFound:
    return NotFound(
        f"No territory {code} you may subscribe to",
        details={"field": "territory"},
        key="subscription.territory_unknown",
        code=code,
    )


def _view(row: Any, locale: Locale) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "user_id": str(row.user_id),
        "territory": {"code": row.territory_code, "name": row.territory_name},
        "channel": row.channel,
        "target": row.target,
        "levels": [level for level in Level if level.value in row.levels],
        "weekly_bulletin": row.weekly_bulletin,
        "created_at": row.created_at.isoformat(),
        "deliveries": {"pending": row.pending, "delivered": row.delivered, "dead": row.dead},
    }


def create(
    principal: Principal, request: SubscriptionRequest, locale: Locale, email: SnsEmail | None = None
) -> dict[str, Any]:
    """Check everything, store the subscription; a webhook's secret is in this answer and never again."""
    _may_subscribe(principal)
    report = get_report_settings()
    code = request.territory.strip()
    if request.channel is Channel.EMAIL:
        target = subscription_targets.check_email(request.target)
    else:
        target = subscription_targets.check_webhook_url(
            request.target, allow_loopback=loopback_allowed(report.webhook_allow_loopback)
        )
    levels = sorted({level.value for level in request.levels}, key=ORDER.index)
    subscription_id = uuid.uuid4()
    secret: str | None = None
    with session_scope() as session:
        if data.territory_name(session, code) is None:
            raise _unknown_territory(code)
        if is_official(principal) and not data.official_covers(session, principal.user_id, code):
            raise _unknown_territory(code)
        if data.exists(session, principal.user_id, code, request.channel.value, target):
            raise Conflict(key="subscription.duplicate")
        if data.count_of(session, principal.user_id) >= MAX_PER_USER:
            raise Conflict(
                f"At most {MAX_PER_USER} subscriptions per user", key="subscription.too_many", limit=MAX_PER_USER
            )
        sealed = None
        if request.channel is Channel.WEBHOOK:
            secret = webhook_signing.new_secret()
            sealed = secret_box.seal(webhook_key(session, report), secret, subscription_id.bytes)
        inserted = data.insert(
            session,
            subscription_id=subscription_id,
            user_id=principal.user_id,
            code=code,
            channel=request.channel.value,
            target=target,
            levels=levels,
            weekly_bulletin=request.weekly_bulletin,
            secret_ciphertext=sealed,
        )
        if not inserted:
            raise Conflict(key="subscription.duplicate")
        if request.channel is Channel.EMAIL:
            # In the transaction: if SNS refuses, nothing is stored (503); if the commit failed after it, the
            # SNS subscription left behind filters on an id no message will ever carry.
            arn = (email or SnsEmail(report.subscriptions_topic_arn)).subscribe(subscription_id, target)
            data.set_sns_arn(session, subscription_id, arn)
        row = data.one(session, subscription_id)
    logger.info(
        "subscription created",
        extra={"subscription_id": str(subscription_id), "channel": request.channel.value, "territory": code},
    )
    view = _view(row, locale)
    if secret is not None:
        view["secret"] = secret
        view["secret_note"] = locale.t("subscription.secret_note")
        view["signature"] = {
            "header": webhook_signing.SIGNATURE_HEADER,
            "format": "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + body)>",
        }
    else:
        view["confirmation"] = locale.t("subscription.email.confirmation", target=target)
    return view


def listed(principal: Principal, locale: Locale, limit: int, offset: int) -> dict[str, Any]:
    """The caller's subscriptions; every one for admins."""
    _may_subscribe(principal)
    owner = None if principal.has_role(Role.ADMIN) else principal.user_id
    with session_scope() as session:
        rows, total = data.listed(session, owner, limit, offset)
    return {
        "items": [_view(row, locale) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_next": offset + len(rows) < total,
    }


def delete(principal: Principal, subscription: uuid.UUID | str, email: SnsEmail | None = None) -> None:
    """Remove a subscription (its own, or anyone's for admins) and its pending deliveries; 404 otherwise, for a
    malformed id too (it answers like an unknown one)."""
    _may_subscribe(principal)
    try:
        subscription_id = subscription if isinstance(subscription, uuid.UUID) else uuid.UUID(subscription)
    except ValueError:
        raise NotFound(key="subscription.not_found") from None
    with session_scope() as session:
        row = data.one(session, subscription_id)
        if row is None or (row.user_id != principal.user_id and not principal.has_role(Role.ADMIN)):
            raise NotFound(key="subscription.not_found")
        data.delete(session, subscription_id)
        arn = row.sns_subscription_arn
    if arn:
        try:
            (email or SnsEmail(get_report_settings().subscriptions_topic_arn)).unsubscribe(arn)
        except (BotoCoreError, ClientError, DependencyUnavailable):  # a stale one filters on an id never sent again
            logger.warning("SNS subscription left behind", extra={"subscription_id": str(subscription_id)})
    logger.info("subscription deleted", extra={"subscription_id": str(subscription_id)})
