"""The words of a level-change notification, in the subscriber's language and time zone (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentrix.i18n import Locale, normalize, zone


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str
    text: str  # one line, for a webhook's `text`


def subscriber_locale(language: str | None, timezone: str | None) -> Locale:
    """The owner's settings (user_settings), Spanish and the default zone when unset or unknown."""
    return Locale(normalize(language) or "es", zone(timezone).key)


def level_word(level: str, locale: Locale) -> str:
    return locale.t(f"subscription.level.{level}")


def notice(change: dict[str, Any], subscription: dict[str, Any], locale: Locale) -> Notice:
    """`change` as stored with the delivery (LevelChange.as_json), `subscription` its id and territory code."""
    old, new = level_word(change["old_level"], locale), level_word(change["new_level"], locale)
    when = locale.time(datetime.fromisoformat(change["changed_at"]), with_zone=True)
    territory, code = change["territory_name"], change["territory_code"]
    alert = str(change["alert_id"]) if change.get("alert_id") is not None else locale.t("subscription.no_alert")
    return Notice(
        subject=locale.t("subscription.email.subject", territory=territory, level=new),
        body=locale.t(
            "subscription.email.body",
            territory=territory,
            code=code,
            old=old,
            new=new,
            time=when,
            alert=alert,
            subscribed=subscription["territory_code"],
            subscription=subscription["id"],
        ),
        text=locale.t("subscription.webhook.text", territory=territory, code=code, old=old, new=new, time=when),
    )
