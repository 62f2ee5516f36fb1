"""SQL of subscriptions and their deliveries (tables of migration 0017; docs/alerts.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

_IN_OFFICIAL_SCOPE = (
    "WITH RECURSIVE scope (code) AS ("
    "SELECT o.territory_code FROM official_territories AS o WHERE o.user_id = :user_id "
    "UNION ALL SELECT t.code FROM territories AS t JOIN scope ON t.parent_code = scope.code) "
    "SELECT EXISTS (SELECT 1 FROM scope WHERE scope.code = :code)"
)

_COLUMNS = (
    "s.id, s.user_id, s.territory_code, t.name AS territory_name, s.channel, s.target, s.levels, s.created_at, "
    "s.sns_subscription_arn, s.weekly_bulletin, "
    "(SELECT count(*) FROM subscription_deliveries AS d WHERE d.subscription_id = s.id AND d.status = 'pending') "
    "AS pending, "
    "(SELECT count(*) FROM subscription_deliveries AS d WHERE d.subscription_id = s.id AND d.status = 'delivered') "
    "AS delivered, "
    "(SELECT count(*) FROM subscription_deliveries AS d WHERE d.subscription_id = s.id AND d.status = 'dead') "
    "AS dead"
)


def territory_name(session: Session, code: str) -> str | None:
    return session.execute(text("SELECT name FROM territories WHERE code = :code"), {"code": code}).scalar()


def official_covers(session: Session, user_id: uuid.UUID, code: str) -> bool:
    """Whether `code` is one of the official's territories or below one."""
    return bool(session.execute(text(_IN_OFFICIAL_SCOPE), {"user_id": user_id, "code": code}).scalar())


def exists(session: Session, user_id: uuid.UUID, code: str, channel: str, target: str) -> bool:
    return (
        session.execute(
            text(
                "SELECT 1 FROM alert_subscriptions WHERE user_id = :user_id AND territory_code = :code "
                "AND channel = :channel AND target = :target"
            ),
            {"user_id": user_id, "code": code, "channel": channel, "target": target},
        ).first()
        is not None
    )


def count_of(session: Session, user_id: uuid.UUID) -> int:
    return session.execute(
        text("SELECT count(*) FROM alert_subscriptions WHERE user_id = :user_id"), {"user_id": user_id}
    ).scalar_one()


def insert(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    user_id: uuid.UUID,
    code: str,
    channel: str,
    target: str,
    levels: list[str],
    weekly_bulletin: bool,
    secret_ciphertext: bytes | None,
) -> bool:
    """False when the same subscription exists (a concurrent twin of the request won). pg8000 sends `levels` (at
    least one) as text[] and the sealed secret as bytea: no bind types needed."""
    statement = text(
        "INSERT INTO alert_subscriptions "
        "(id, user_id, territory_code, channel, target, levels, weekly_bulletin, secret_ciphertext) "
        "VALUES (:id, :user_id, :code, :channel, :target, :levels, :weekly, :secret) "
        "ON CONFLICT (user_id, territory_code, channel, target) DO NOTHING"
    )
    result = session.execute(
        statement,
        {
            "id": subscription_id,
            "user_id": user_id,
            "code": code,
            "channel": channel,
            "target": target,
            "levels": levels,
            "weekly": weekly_bulletin,
            "secret": secret_ciphertext,
        },
    )
    return bool(result.rowcount)


def set_sns_arn(session: Session, subscription_id: uuid.UUID, arn: str) -> None:
    session.execute(
        text("UPDATE alert_subscriptions SET sns_subscription_arn = :arn WHERE id = :id"),
        {"arn": arn, "id": subscription_id},
    )


def one(session: Session, subscription_id: uuid.UUID) -> Row | None:
    return session.execute(
        text(
            f"SELECT {_COLUMNS} FROM alert_subscriptions AS s JOIN territories AS t ON t.code = s.territory_code "  # noqa: S608 - constant
            "WHERE s.id = :id"
        ),
        {"id": subscription_id},
    ).first()


def listed(session: Session, owner: uuid.UUID | None, limit: int, offset: int) -> tuple[list[Row], int]:
    """Subscriptions of `owner` (everyone's when None), newest first, and how many there are."""
    where = "WHERE s.user_id = :owner" if owner is not None else ""
    values: dict[str, Any] = {"limit": limit, "offset": offset}
    if owner is not None:
        values["owner"] = owner
    rows = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM alert_subscriptions AS s JOIN territories AS t ON t.code = s.territory_code "  # noqa: S608 - constant
            f"{where} ORDER BY s.created_at DESC, s.id LIMIT :limit OFFSET :offset"
        ),
        values,
    ).all()
    total = session.execute(
        text(f"SELECT count(*) FROM alert_subscriptions AS s {where}"),  # noqa: S608 - constant
        {"owner": owner} if owner is not None else {},
    ).scalar_one()
    return list(rows), total


def delete(session: Session, subscription_id: uuid.UUID) -> None:
    session.execute(text("DELETE FROM alert_subscriptions WHERE id = :id"), {"id": subscription_id})


# -- deliveries ---------------------------------------------------------------------------------------------------

# The change's territory and every territory above it: a subscription to a city hears of its neighbourhoods.
_ENQUEUE = (
    "WITH RECURSIVE up (code, parent) AS ("
    "SELECT t.code, t.parent_code FROM territories AS t WHERE t.code = :code "
    "UNION ALL SELECT t.code, t.parent_code FROM territories AS t JOIN up ON t.code = up.parent) "
    "INSERT INTO subscription_deliveries (subscription_id, change_id, change, next_attempt_at) "
    "SELECT s.id, :change_id, CAST(:change AS jsonb), :due FROM alert_subscriptions AS s "
    "JOIN users AS u ON u.id = s.user_id "
    "WHERE s.territory_code IN (SELECT up.code FROM up) AND :level = ANY (s.levels) AND u.is_active "
    "AND (u.role = 'admin' OR (u.role = 'official' AND EXISTS ("
    "SELECT 1 FROM official_territories AS o WHERE o.user_id = u.id AND o.territory_code IN (SELECT up.code FROM up)"
    "))) "
    "ON CONFLICT (subscription_id, change_id) DO NOTHING"
)


def enqueue(session: Session, change: dict[str, Any], due: datetime) -> int:
    """A pending delivery of `change` for every subscription that wants it; none twice. How many are new."""
    result = session.execute(
        text(_ENQUEUE),
        {
            "code": change["territory_code"],
            "level": change["new_level"],
            "change_id": change["change_id"],
            "change": json.dumps(change),
            "due": due,
        },
    )
    return result.rowcount or 0


_CLAIM = (
    "UPDATE subscription_deliveries AS d SET next_attempt_at = :lease_until "
    "WHERE d.id IN (SELECT c.id FROM subscription_deliveries AS c "
    "WHERE c.status = 'pending' AND c.next_attempt_at <= :now ORDER BY c.next_attempt_at, c.id LIMIT :limit "
    "FOR UPDATE SKIP LOCKED) "
    "RETURNING d.id, d.subscription_id, d.kind, d.change_id, d.week, d.change, d.attempts"
)

_DETAILS = (
    "SELECT s.id, s.territory_code, s.channel, s.target, s.secret_ciphertext, s.sns_subscription_arn, "
    "us.settings ->> 'language' AS language, us.settings ->> 'timezone' AS timezone "
    "FROM alert_subscriptions AS s LEFT JOIN user_settings AS us ON us.user_id = s.user_id "
    "WHERE s.id = ANY (:ids)"
)


def claim_due(session: Session, now: datetime, lease_until: datetime, limit: int) -> list[Row]:
    """Take up to `limit` due pending deliveries for this run (they are not due again before `lease_until`)."""
    return list(session.execute(text(_CLAIM), {"now": now, "lease_until": lease_until, "limit": limit}).all())


def details(session: Session, subscription_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Row]:
    statement = text(_DETAILS).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
    return {row.id: row for row in session.execute(statement, {"ids": list(subscription_ids)}).all()}


def record_attempt(
    session: Session,
    *,
    delivery_id: int,
    subscription_id: uuid.UUID,
    change_id: int | None,
    attempt: int,
    status_code: int | None,
    error: str | None,
    at: datetime,
) -> None:
    session.execute(
        text(
            "INSERT INTO subscription_delivery_attempts "
            "(delivery_id, subscription_id, change_id, attempt, status_code, error, at) "
            "VALUES (:delivery_id, :subscription_id, :change_id, :attempt, :status_code, :error, :at)"
        ),
        {
            "delivery_id": delivery_id,
            "subscription_id": subscription_id,
            "change_id": change_id,
            "attempt": attempt,
            "status_code": status_code,
            "error": (error or None) and error[:500],
            "at": at,
        },
    )


def settle(
    session: Session,
    *,
    delivery_id: int,
    seen_attempts: int,
    status: str,
    next_attempt_at: datetime | None,
    at: datetime,
) -> bool:
    """Move a claimed delivery on (delivered, dead, or pending again at `next_attempt_at`), counting the attempt;
    False when another run settled it first (its lease had run out)."""
    result = session.execute(
        text(
            "UPDATE subscription_deliveries SET status = :status, attempts = attempts + 1, "
            "next_attempt_at = :next, "
            "finished_at = CASE WHEN :status = 'pending' THEN NULL ELSE CAST(:at AS timestamptz) END "
            "WHERE id = :id AND status = 'pending' AND attempts = :seen"
        ),
        {"status": status, "next": next_attempt_at, "at": at, "id": delivery_id, "seen": seen_attempts},
    )
    return bool(result.rowcount)


def territory_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """The names of the territories `codes` (unknown codes are absent)."""
    found = session.execute(
        text("SELECT code, name FROM territories WHERE code = ANY(CAST(:codes AS varchar[]))"), {"codes": list(codes)}
    )
    return {code: name for code, name in found}


# -- weekly bulletins ---------------------------------------------------------------------------------------------

# Subscriptions that want their territory's weekly bulletin and whose owner still may see that territory: the
# level changes' rule (active; an admin, or an official whose territories hold it or a territory above it).
_BULLETIN_SUBSCRIBERS = (
    "WITH RECURSIVE up (code, above) AS ("
    "SELECT t.code, t.code FROM territories AS t "
    "WHERE t.code IN (SELECT b.territory_code FROM alert_subscriptions AS b WHERE b.weekly_bulletin) "
    "UNION ALL SELECT up.code, t.parent_code FROM up JOIN territories AS t ON t.code = up.above "
    "WHERE t.parent_code IS NOT NULL) "
    "SELECT s.id, s.territory_code, t.name AS territory_name, "
    "us.settings ->> 'language' AS language, us.settings ->> 'timezone' AS timezone "
    "FROM alert_subscriptions AS s JOIN users AS u ON u.id = s.user_id "
    "JOIN territories AS t ON t.code = s.territory_code "
    "LEFT JOIN user_settings AS us ON us.user_id = s.user_id "
    "WHERE s.weekly_bulletin AND u.is_active AND (u.role = 'admin' OR (u.role = 'official' AND EXISTS ("
    "SELECT 1 FROM official_territories AS o JOIN up ON up.above = o.territory_code "
    "WHERE o.user_id = u.id AND up.code = s.territory_code))) {only} "
    "ORDER BY s.territory_code, s.id"
)


def bulletin_subscribers(session: Session) -> list[Row]:
    """Every subscription that is to get the weekly bulletin, with its owner's language and zone settings."""
    return list(session.execute(text(_BULLETIN_SUBSCRIBERS.format(only=""))).all())


def bulletin_weeks_queued(session: Session, subscription_ids: Sequence[uuid.UUID]) -> set[tuple[uuid.UUID, str]]:
    """The (subscription, week label) pairs that already have a bulletin delivery."""
    statement = text(
        "SELECT subscription_id, week FROM subscription_deliveries "
        "WHERE kind = 'weekly_bulletin' AND subscription_id = ANY (:ids)"
    ).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
    return {(row.subscription_id, row.week) for row in session.execute(statement, {"ids": list(subscription_ids)})}


_ENQUEUE_BULLETIN = "".join(
    (
        "INSERT INTO subscription_deliveries (subscription_id, kind, week, change, next_attempt_at) "
        "SELECT eligible.id, 'weekly_bulletin', :week, CAST(:bulletin AS jsonb), :due FROM (",
        _BULLETIN_SUBSCRIBERS.format(only="AND s.id = :subscription_id"),
        ") AS eligible ON CONFLICT (subscription_id, week) WHERE kind = 'weekly_bulletin' DO NOTHING",
    )
)


def enqueue_bulletin(
    session: Session, subscription_id: uuid.UUID, week: str, bulletin: dict[str, Any], due: datetime
) -> bool:
    """A pending bulletin delivery of `week` for the subscription if it still wants it and none exists yet."""
    result = session.execute(
        text(_ENQUEUE_BULLETIN),
        {"subscription_id": subscription_id, "week": week, "bulletin": json.dumps(bulletin), "due": due},
    )
    return bool(result.rowcount)
