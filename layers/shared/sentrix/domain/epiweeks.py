"""Epidemiological weeks as the Americas count them (PAHO; CDC's MMWR weeks; Brazil's and Argentina's bulletins).

A week runs Sunday to Saturday. It belongs to the year that holds at least four of its days, which is the year
of its Wednesday; week 1 of a year is therefore the week that holds 4 January. A year has 52 epidemiological
weeks, or 53 when its last Wednesday-week ends late enough (2014, 2020, 2025 for instance). Issue 20 builds
weekly trends on it; `week_of` is the one rule, pure and calendar-only (a day, not an instant: the caller has
already placed the instant in its territory's or user's time zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

_WEEK = timedelta(days=7)


@dataclass(frozen=True, order=True)
class EpiWeek:
    """Year and week number (1…53) of an epidemiological week; `start` is its Sunday, `end` its Saturday."""

    year: int
    week: int

    @property
    def start(self) -> date:
        return first_sunday(self.year) + (self.week - 1) * _WEEK

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def label(self) -> str:
        """ "2024-SE01" style: the year and the two-digit week, as bulletins write it (SE: semana epidemiológica)."""
        return f"{self.year}-SE{self.week:02d}"

    def next(self) -> EpiWeek:
        return week_of(self.start + _WEEK)

    def previous(self) -> EpiWeek:
        return week_of(self.start - _WEEK)


def week_start(day: date) -> date:
    """The Sunday on or before `day`."""
    return day - timedelta(days=(day.weekday() + 1) % 7)  # Monday is 0 for Python, Sunday 6


def first_sunday(year: int) -> date:
    """The Sunday that starts week 1 of `year`: the one of the week holding 4 January."""
    return week_start(date(year, 1, 4))


def week_of(day: date) -> EpiWeek:
    """The epidemiological week holding `day`."""
    sunday = week_start(day)
    year = (sunday + timedelta(days=3)).year  # the Wednesday's year owns the week
    return EpiWeek(year, (sunday - first_sunday(year)).days // 7 + 1)


def weeks_in(year: int) -> int:
    """52 or 53."""
    return (first_sunday(year + 1) - first_sunday(year)).days // 7


def weeks_between(first: date, last: date) -> list[EpiWeek]:
    """Every epidemiological week from the one holding `first` to the one holding `last`, in order."""
    if last < first:
        raise ValueError("last is before first")
    weeks, current, end = [], week_start(first), week_start(last)
    while current <= end:
        weeks.append(week_of(current))
        current += _WEEK
    return weeks
