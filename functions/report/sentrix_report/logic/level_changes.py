"""A territory's alert level changed: who must be told (docs/alerts.md, "Subscriptions and delivery").

`deliver_level_changes` is the outbox: in the caller's transaction (the one that records the change) it adds a
pending delivery for every subscription that wants the change, and the delivery worker sends them
(logic/delivery_run.py). A subscription wants a change when it is to the change's territory or a territory above
it, lists the new level, and its owner is active and still may see the territory (an admin, or an official
whose territories cover it). The pair (subscription, change_id) is unique: calling this again with the same
change — the next scheduled run, a retried invocation — adds nothing, so each change is sent once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from sentrix.observability import logger
from sentrix.repositories.alerts import LevelChange as Recorded
from sentrix_report.dal import subscriptions as data
from sentrix_report.logic.alert_levels import LEVELS


@dataclass(frozen=True)
class LevelChange:
    """One recorded change of a territory's alert level (the alerts' `alert_level_changes` row)."""

    change_id: int
    territory_id: Any  # the alerts' own reference to the territory, carried along as given
    territory_code: str
    territory_name: str
    alert_id: str | None  # the alert behind the new level (its id as text); None when the territory went green
    old_level: str
    new_level: str
    changed_at: datetime

    def __post_init__(self) -> None:
        if self.old_level not in LEVELS or self.new_level not in LEVELS:
            raise ValueError(f"unknown alert level in change {self.change_id}: {self.old_level} → {self.new_level}")
        if self.changed_at.tzinfo is None:
            raise ValueError("changed_at must be timezone-aware")

    def as_json(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "territory_id": self.territory_id if isinstance(self.territory_id, int | str) else str(self.territory_id),
            "territory_code": self.territory_code,
            "territory_name": self.territory_name,
            "alert_id": self.alert_id,
            "old_level": self.old_level,
            "new_level": self.new_level,
            "changed_at": self.changed_at.astimezone(UTC).isoformat(),
        }


def from_recorded(session: Session, recorded: Sequence[Recorded]) -> list[LevelChange]:
    """The daily computation's recorded changes (sentrix.repositories.alerts.LevelChange) with their territories'
    names, as delivery sends them."""
    names = data.territory_names(session, sorted({c.territory_code for c in recorded}))
    return [
        LevelChange(
            change_id=c.id,
            territory_id=c.territory_code,
            territory_code=c.territory_code,
            territory_name=names.get(c.territory_code, c.territory_code),
            alert_id=str(c.alert_id) if c.alert_id is not None else None,
            old_level=c.old_level,
            new_level=c.new_level,
            changed_at=c.changed_at,
        )
        for c in recorded
    ]


def deliver_level_changes(session: Session, changes: list[LevelChange], now: datetime | None = None) -> int:
    """Queue each change for every subscription that wants it (due at `now`); how many deliveries are new."""
    due = now or datetime.now(UTC)
    added = 0
    for change in changes:
        added += data.enqueue(session, change.as_json(), due)
    if changes:
        logger.info("level changes queued for delivery", extra={"changes": len(changes), "deliveries": added})
    return added
