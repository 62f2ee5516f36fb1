"""Territory alert levels as subscriptions name them (the alerts' green/yellow/red)."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


LEVELS = frozenset(level.value for level in Level)
ORDER = [level.value for level in Level]
