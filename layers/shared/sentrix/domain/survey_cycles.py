"""Survey cycles: the calendar windows larval indices are computed over (docs/visits.md, *Survey cycles*).

A LIRAa survey is a window of a few days to weeks that a municipality schedules (three to four a year in
Brazil); nothing in a visit says which survey it belonged to. So the cycle is named by the caller:

- `window` (default): the whole `[from, to]` window is one cycle — a LIRAa survey's dates;
- `epiweek`: each epidemiological week (Sunday–Saturday, sentrix.domain.epiweeks) that meets the window;
- `month`: each calendar month that meets the window.

Cycles are cut to the window: the first and last may be partial, and say so by their `start` and `end`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sentrix.domain import epiweeks


class CycleKind(StrEnum):
    WINDOW = "window"
    EPIWEEK = "epiweek"
    MONTH = "month"


@dataclass(frozen=True)
class Cycle:
    label: str
    start: date  # inclusive, within the window
    end: date  # inclusive, within the window

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


def _month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def cycles(first: date, last: date, kind: CycleKind) -> list[Cycle]:
    """The cycles of `kind` meeting `[first, last]`, in order, each cut to the window."""
    if last < first:
        raise ValueError("last is before first")
    if kind is CycleKind.WINDOW:
        return [Cycle(f"{first.isoformat()}/{last.isoformat()}", first, last)]
    if kind is CycleKind.EPIWEEK:
        return [
            Cycle(week.label, max(week.start, first), min(week.end, last))
            for week in epiweeks.weeks_between(first, last)
        ]
    out, start = [], first
    while start <= last:
        end = min(_month_end(start), last)
        out.append(Cycle(f"{start.year}-{start.month:02d}", start, end))
        start = end + timedelta(days=1)
    return out


def count(first: date, last: date, kind: CycleKind) -> int:
    """How many cycles `cycles` would give, without building them (to refuse a huge request cheaply)."""
    if kind is CycleKind.WINDOW:
        return 1
    if kind is CycleKind.EPIWEEK:
        return (epiweeks.week_start(last) - epiweeks.week_start(first)).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1
