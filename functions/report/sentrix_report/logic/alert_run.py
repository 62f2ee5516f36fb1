"""The daily alert computation (docs/alerts.md): clusters → alerts (continued, merged, split, opened, closed) →
alert levels → territory levels, each territory's change recorded once.

`compute(session, now)` does it all in the caller's transaction, serialised by an advisory lock; the scheduled
entry point (sentrix_report.scheduled) and the local command call it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sentrix.domain import alerts as rules
from sentrix.repositories.alerts import LevelChange, current_levels
from sentrix_report.dal import alert_run as data
from sentrix_report.settings import ReportSettings, get_report_settings


@dataclass
class RunResult:
    """What one computation did: alert ids per outcome and the territory level changes it recorded."""

    now: datetime
    clusters: int = 0
    opened: list[uuid.UUID] = field(default_factory=list)
    continued: list[uuid.UUID] = field(default_factory=list)
    merged: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    closed: list[uuid.UUID] = field(default_factory=list)
    level_changes: list[LevelChange] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "now": self.now.isoformat(),
            "clusters": self.clusters,
            "opened": len(self.opened),
            "continued": len(self.continued),
            "merged": len(self.merged),
            "closed": len(self.closed),
            "level_changes": len(self.level_changes),
        }


def compute(session: Session, now: datetime, settings: ReportSettings | None = None) -> RunResult:
    """One run at `now` (an aware datetime; the clock is the caller's, so tests choose it)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    settings = settings or get_report_settings()
    data.lock(session)
    result = RunResult(now=now)
    clusters = data.clusters(
        session,
        now=now,
        window_days=settings.alert_window_days,
        eps_m=settings.alert_radius_m,
        min_sites=settings.alert_min_sites,
    )
    result.clusters = len(clusters)
    opened = data.open_alerts(session)
    by_id = {row["id"]: row for row in opened}
    matching = rules.match(clusters, [rules.OpenAlert(r["id"], r["opened_at"], r["sites"]) for r in opened])
    current = {alert_id: set(row["sites"]) for alert_id, row in by_id.items()}
    last_growth = {alert_id: row["last_growth_at"] for alert_id, row in by_id.items()}
    touched: list[uuid.UUID] = []

    # Merges first: the absorbed alert's sites move to the one that lives on.
    for gone, into in matching.merged.items():
        moving = current.pop(gone)
        data.remove_sites(session, gone, moving, now=now)
        data.add_sites(session, into, moving, now=now, via="merge")
        current[into] |= moving
        data.close(session, gone, now=now, reason="merged", merged_into=into)
        data.event(session, gone, "closed", now=now, reason="merged", into=str(into))
        data.event(session, into, "merged", now=now, alert=str(gone), sites=len(moving))
        # The quiet clock of the survivor is the latest of the two.
        if last_growth[gone] > last_growth[into]:
            last_growth[into] = last_growth[gone]
            data.grew(session, into, now=last_growth[gone])
        result.merged[gone] = into
        touched.append(into)

    for i in rules.cluster_order(clusters):
        cluster = clusters[i]
        alert_id = matching.continues[i]
        if alert_id is None:
            alert_id = data.create_alert(
                session, now=now, level=rules.Level.YELLOW.value, split_from=matching.split_from[i]
            )
            current[alert_id] = set()
            last_growth[alert_id] = now
            result.opened.append(alert_id)
            details = {"sites": len(cluster)}
            if matching.split_from[i] is not None:
                details["split_from"] = str(matching.split_from[i])
            data.event(session, alert_id, "opened", now=now, **details)
        else:
            result.continued.append(alert_id)
        # Sites another open alert holds move here (a split, or a site two clusters passed between).
        moved = 0
        for other, sites in current.items():
            if other != alert_id and sites & cluster:
                leaving = sites & cluster
                data.remove_sites(session, other, leaving, now=now)
                data.add_sites(session, alert_id, leaving, now=now, via="split")
                sites -= leaving
                current[alert_id] |= leaving
                moved += len(leaving)
                data.event(session, other, "split", now=now, into=str(alert_id), sites=len(leaving))
                touched.append(other)
        new = cluster - current[alert_id]
        if new:
            data.add_sites(session, alert_id, new, now=now, via="cluster")
            data.grew(session, alert_id, now=now)
            last_growth[alert_id] = now
            current[alert_id] |= new
            if alert_id not in result.opened:
                data.event(session, alert_id, "grew", now=now, sites=len(new))
        if new or moved:
            touched.append(alert_id)

    # An alert closes once quiet long enough: no new site for quiet_days, whether its cluster still stands (its
    # sites photographed again) or not.
    quiet = timedelta(days=settings.alert_quiet_days)
    for alert_id in list(current):
        if now - last_growth[alert_id] >= quiet:
            data.close(session, alert_id, now=now, reason="quiet")
            data.event(session, alert_id, "closed", now=now, reason="quiet", quiet_days=settings.alert_quiet_days)
            result.closed.append(alert_id)
            current.pop(alert_id)

    # Levels of every open alert (a growth streak can end without a cluster), then of the territories.
    still_open = list(current)
    levels: list[rules.AlertForLevels] = []
    for row in data.summaries(session, still_open):
        growing = rules.growing(row["opened_at"], row["growth"], now.date(), settings.alert_growth_weeks)
        level = rules.alert_level(row["site_count"], growing, settings.alert_red_sites)
        data.update_alert(
            session,
            row["id"],
            level=level.value,
            site_count=row["site_count"],
            territory=rules.main_territory(row["tags"]),
        )
        # An alert opened in this run starts at its level (no `level` entry); later changes are news.
        if level.value != row["level"] and row["id"] not in result.opened:
            data.event(session, row["id"], "level", now=now, old=row["level"], new=level.value, growing=growing)
            data.touch(session, row["id"], now=now)
        levels.append(
            rules.AlertForLevels(
                row["id"], level, row["site_count"], row["opened_at"], frozenset(t for t in row["tags"] if t)
            )
        )
    for alert_id in set(touched):
        if alert_id in current:
            data.touch(session, alert_id, now=now)

    recorded = current_levels(session)
    territories = rules.territory_levels(data.territory_parents(session), levels)
    for code in sorted(territories):
        level, alert_id = territories[code]
        old = recorded.get(code, rules.Level.GREEN.value)
        if old != level.value:
            change_id = data.record_level_change(
                session, territory=code, alert_id=alert_id, old=old, new=level.value, now=now
            )
            result.level_changes.append(LevelChange(change_id, code, alert_id, old, level.value, now))
    return result
