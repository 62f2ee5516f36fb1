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


def _change_text(figure: dict[str, Any], locale: Locale) -> str:
    if figure.get("change_pct") is None:
        return locale.t(
            "subscription.bulletin.change_none", total=figure["previous_total"], min_base=figure["min_base"]
        )
    pct = f"{figure['change_pct']:+.2f}"
    return locale.t(
        "subscription.bulletin.change_pct", pct=pct, numerator=figure["numerator"], denominator=figure["denominator"]
    )


def bulletin_notice(
    bulletin: dict[str, Any], subscription: dict[str, Any], locale: Locale, url: str, expires: datetime
) -> Notice:
    """A weekly bulletin's e-mail and one-line text: the headline figures with their bases and the PDF's link.
    `bulletin` as stored with the delivery (logic/weekly_bulletins.payload)."""
    territory, code = bulletin["territory"]["name"], bulletin["territory"]["code"]
    week = bulletin["week"]
    figures = "\n".join(
        locale.t(
            "subscription.bulletin.figure",
            label=locale.t(f"bulletin.figure.{figure['figure']}"),
            current=figure["current"],
            total=figure["previous_total"],
            change=_change_text(figure, locale),
        )
        for figure in bulletin["figures"]
    )
    alerts = "; ".join(
        locale.t(
            "subscription.bulletin.alert",
            territory=row["territory"],
            level=locale.t(f"bulletin.level.{row['level']}"),
            clusters=row["clusters"],
        )
        for row in bulletin["alerts"]
    ) or locale.t("subscription.bulletin.alerts_none")
    dates = {"week": week["label"], "start": week["start"], "end": week["end"]}
    return Notice(
        subject=locale.t("subscription.bulletin.subject", territory=territory, week=week["label"]),
        body=locale.t(
            "subscription.bulletin.body",
            territory=territory,
            code=code,
            zone=week["time_zone"],
            figures=figures,
            alerts=alerts,
            url=url,
            expires=locale.time(expires, with_zone=True),
            subscribed=subscription["territory_code"],
            subscription=subscription["id"],
            **dates,
        ),
        text=locale.t("subscription.bulletin.text", territory=territory, code=code, **dates),
    )
