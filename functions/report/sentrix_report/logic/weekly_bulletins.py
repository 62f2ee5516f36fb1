"""The weekly job (docs/alerts.md, *Schedule*): each subscribed territory's bulletin of the week just ended.

At `now` (the weekly rule: Sunday 07:00 UTC), for every subscription that wants the bulletin
(`weekly_bulletin`) and whose owner still may see its territory (the level changes' rule: active, and an admin
or an official whose territories cover it):

1. **The week** is the subscriber's last complete epidemiological week (Sunday to Saturday,
   `sentrix.domain.epiweeks`) in the subscriber's own time zone, read from their settings as the bulletin made on
   request reads the caller's (the default zone when unset) — `bulletin.parse_week` with no week. In the
   Americas, at Sunday 07:00 UTC, that is the week that ended at Saturday midnight local time.
2. **The bulletin** is the `weekly` report of `logic/bulletin.py` for that territory and week in the subscriber's
   language and zone — the same code, not a second implementation — rendered to PDF once per edition
   (territory, week, language, zone) and stored in the reports bucket under
   `reports/bulletins/<territory>/<year>-W<ww>/<language>/<zone>.pdf`; the delivery presigns it when it sends.
3. **The outbox**: one pending delivery per (subscription, week), all in one transaction, `kind`
   `weekly_bulletin`, holding what is sent (figures with their denominators, alert levels, the PDF's key). The
   unique (subscription, week) and `ON CONFLICT DO NOTHING` make a second run, or a concurrent one, add
   nothing; editions whose subscribers all have their delivery are not even rendered again.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sentrix.db.engine import session_scope
from sentrix.domain.epiweeks import EpiWeek
from sentrix.i18n import Locale
from sentrix.observability import logger
from sentrix_report.dal import subscriptions as data
from sentrix_report.logic import bulletin
from sentrix_report.logic.aggregate_report import Report
from sentrix_report.logic.alert_messages import subscriber_locale

PREFIX = "reports/bulletins/"
PDF = "application/pdf"
KIND = "weekly_bulletin"


class Store(Protocol):
    def __call__(self, key: str, body: bytes) -> None: ...


def s3_store(key: str, body: bytes) -> None:
    """Put a bulletin's PDF in the reports bucket (the images bucket's reports/ prefix, as stored reports)."""
    from sentrix.adapters.aws import client
    from sentrix.adapters.storage import s3_errors
    from sentrix.config import get_settings

    with s3_errors():
        client("s3").put_object(Bucket=get_settings().images_bucket, Key=key, Body=body, ContentType=PDF)


@dataclass(frozen=True, order=True)
class Edition:
    """One bulletin as stored: a territory's week in one language and time zone."""

    territory: str
    week: EpiWeek
    language: str
    timezone: str

    @property
    def key(self) -> str:
        code = re.sub(r"[^A-Za-z0-9._-]", "_", self.territory)[:64]
        zone = re.sub(r"[^A-Za-z0-9/_+-]", "_", self.timezone)
        return f"{PREFIX}{code}/{self.week.year}-W{self.week.week:02d}/{self.language}/{zone}.pdf"


@dataclass
class WeeklySummary:
    subscriptions: int = 0  # subscriptions that want the bulletin and may have it
    deliveries_queued: int = 0
    bulletins_stored: int = 0
    weeks: list[str] | None = None  # the epidemiological weeks of those subscriptions (their zones may differ)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscriptions": self.subscriptions,
            "deliveries_queued": self.deliveries_queued,
            "bulletins_stored": self.bulletins_stored,
            "weeks": sorted(self.weeks or []),
        }


def week_for(locale: Locale, now: datetime) -> EpiWeek:
    """The subscriber's last complete epidemiological week at `now`, in their zone (as on request)."""
    return bulletin.parse_week(None, locale, now)


def payload(report: Report, edition: Edition, size: int) -> dict[str, Any]:
    """What a bulletin delivery sends, kept with it (figures in numbers; words are made at send time)."""
    data_, meta = report.data, report.meta
    closures = data_["closures"]
    return {
        "type": KIND,
        "territory": data_["territory"],
        "week": {k: data_["week"][k] for k in ("year", "week", "label", "start", "end")}
        | {"time_zone": meta["timezone"]},
        "language": edition.language,
        "figures": [{k: v for k, v in figure.items() if k != "label"} for figure in data_["figures"]],
        "recurrence_rate": closures["recurrence_rate"],
        "top_sites": {"shown": data_["top_sites"]["shown"], "open_sites": data_["top_sites"]["open_sites"]},
        "alerts": [
            {"territory": row["territory"], "level": row["level"], "clusters": row["clusters"]}
            for row in data_["alerts"]["rows"]
        ],
        "fingerprint": meta["fingerprint"]["value"],
        "generated_at": meta["generated_at"],
        "pdf": {
            "key": edition.key,
            "bytes": size,
            "filename": f"sentrix_bulletin_{edition.territory}_{data_['week']['label']}_{edition.language}.pdf",
        },
    }


def queue_weekly_bulletins(now: datetime, store: Store | None = None) -> WeeklySummary:
    """Render and store each edition wanted at `now`, then queue one delivery per (subscription, week)."""
    from sentrix_report.render.bulletin import render_pdf

    summary = WeeklySummary(weeks=[])
    with session_scope() as session:
        subscribers = data.bulletin_subscribers(session)
        queued = data.bulletin_weeks_queued(session, [row.id for row in subscribers])
    wanted: dict[Edition, list[uuid.UUID]] = defaultdict(list)
    weeks: set[str] = set()
    for row in subscribers:
        locale = subscriber_locale(row.language, row.timezone)
        edition = Edition(row.territory_code, week_for(locale, now), locale.language, locale.timezone)
        weeks.add(edition.week.label)
        if (row.id, edition.week.label) not in queued:
            wanted[edition].append(row.id)
    summary.subscriptions, summary.weeks = len(subscribers), sorted(weeks)
    if not wanted:
        return summary
    store = store or s3_store
    payloads: dict[Edition, dict[str, Any]] = {}
    for edition in sorted(wanted):
        locale = Locale(edition.language, edition.timezone)
        with session_scope() as session:
            report = bulletin.for_subscribers(session, edition.territory, edition.week, locale, now)
        pdf = render_pdf(report)
        store(edition.key, pdf)
        payloads[edition] = payload(report, edition, len(pdf))
        summary.bulletins_stored += 1
    with session_scope() as session:  # the outbox: every delivery of this run in one transaction
        for edition, subscription_ids in sorted(wanted.items()):
            for subscription_id in subscription_ids:
                if data.enqueue_bulletin(session, subscription_id, edition.week.label, payloads[edition], now):
                    summary.deliveries_queued += 1
    logger.info("weekly bulletins queued", extra=summary.as_dict())
    return summary
