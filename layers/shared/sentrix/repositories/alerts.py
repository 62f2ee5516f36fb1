"""Territory alert level changes, as delivery reads them (docs/alerts.md, *Level changes*).

The daily computation (sentrix_report.logic.alert_run) records each change of a territory's level once, in
`alert_level_changes`; whoever sends them (subscriptions, issue #20 point 3) keeps the last id it sent and asks
for the changes after it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class LevelChange:
    """A territory's alert level changed: from `old_level` to `new_level`, because of `alert_id` (None: green)."""

    id: int
    territory_code: str
    alert_id: uuid.UUID | None
    old_level: str
    new_level: str
    changed_at: datetime


def level_changes_since(session: Session, after_id: int = 0, *, limit: int = 1000) -> list[LevelChange]:
    """The level changes recorded after `after_id`, oldest first (at most `limit`)."""
    found = session.execute(
        text(
            "SELECT id, territory_code, alert_id, old_level, new_level, changed_at FROM alert_level_changes "
            "WHERE id > :after ORDER BY id LIMIT :limit"
        ),
        {"after": after_id, "limit": limit},
    ).mappings()
    return [LevelChange(**row) for row in found]


def current_levels(session: Session) -> dict[str, str]:
    """Each territory's level as last recorded (territories never recorded are green and absent here)."""
    found = session.execute(
        text(
            "SELECT DISTINCT ON (territory_code) territory_code, new_level FROM alert_level_changes "
            "ORDER BY territory_code, id DESC"
        )
    )
    return {code: level for code, level in found}
