"""The one parser of the dates and instants clients give as filters, bounded so that extremes are refused, not 500s.

A filter is a calendar day (`YYYY-MM-DD`, a whole UTC day) or an instant (ISO 8601; without a zone it is UTC).
Python's datetime holds years 1–9999 only, so `0001-01-01T00:00:00+14:00` (year 0 in UTC) or the exclusive end
of `9999-12-31` (10000-01-01) overflow on conversion, and code after the parser shifts bounds further (whole
days, the caller's time zone). So every bound a value yields, in UTC, must lie within [MIN_INSTANT,
MAX_INSTANT] — one day inside Python's range on each side, which leaves room for any offset (±14 h) and for
rounding to whole days. PostgreSQL's timestamptz (4713 BC to 294276 AD) stores and compares everything in it.
Anything outside is a ValueError (pydantic fields: 422) or ValidationFailed (422 in the envelope): never
clamped, so a filter never silently means something else than it says.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from sentrix.errors import ValidationFailed

MIN_INSTANT = datetime(1, 1, 2, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 12, 30, tzinfo=UTC)
RANGE_TEXT = f"{MIN_INSTANT.date()} to {MAX_INSTANT.date()} (UTC, offsets applied)"
FORMAT_TEXT = "an ISO 8601 date (YYYY-MM-DD) or date-time (e.g. 2026-05-31T12:00:00Z)"

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNIT = timedelta(microseconds=1)


class MomentOutOfRange(ValueError):
    """A date or instant whose bounds fall outside [MIN_INSTANT, MAX_INSTANT] in UTC."""


def parse_day_or_instant(value: str | date | datetime) -> date | datetime:
    """A bare date stays a date (it means a whole day); anything else must be an ISO 8601 date-time.

    Raises ValueError for text that is neither, MomentOutOfRange for values outside the supported range.
    """
    if isinstance(value, datetime | date):
        parsed: date | datetime = value
    elif isinstance(value, str):
        text = value.strip()
        head, separator, tail = text.partition("T")
        # A '+' in a query string arrives as a space: "…T10:00:00 02:00" means "+02:00".
        text = head + separator + tail.replace(" ", "+") if separator else text
        try:
            parsed = date.fromisoformat(text) if _DAY.fullmatch(text) else datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"must be {FORMAT_TEXT}") from exc
    else:
        raise ValueError(f"must be {FORMAT_TEXT}")
    check_in_range(parsed)
    return parsed


def lower_bound(value: date | datetime) -> datetime:
    """Inclusive lower bound in UTC: a date means its first instant."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def upper_bound(value: date | datetime) -> datetime:
    """Exclusive upper bound in UTC: a date covers its whole day, an instant is included itself."""
    if isinstance(value, datetime):
        return lower_bound(value) + _UNIT
    return datetime.combine(value + timedelta(days=1), time.min, tzinfo=UTC)


def check_in_range(value: date | datetime) -> date | datetime:
    """The value itself, if both bounds it can yield lie within the supported range; else MomentOutOfRange."""
    try:
        low, high = lower_bound(value), upper_bound(value)
    except OverflowError:
        low = high = None
    if low is None or high is None or low < MIN_INSTANT or high > MAX_INSTANT:
        raise MomentOutOfRange(f"must lie within {RANGE_TEXT}")
    return value


def _parse_optional(value: Any) -> Any:
    if value is None or value == "":
        return None
    return parse_day_or_instant(value)


def _check_optional(value: date | datetime | None) -> date | datetime | None:
    return None if value is None else check_in_range(value)


# For pydantic models and FastAPI parameters: the string is read by this module (not by pydantic's own
# datetime grammar, which also takes Unix timestamps), and a value built in code is range-checked too.
DayOrInstant = Annotated[datetime | date | None, BeforeValidator(_parse_optional), AfterValidator(_check_optional)]


def parse_bound(raw: str | None, name: str, *, upper: bool) -> datetime | None:
    """A query-string filter as a UTC bound (inclusive lower, exclusive upper); bad or extreme values are 422."""
    if raw is None:
        return None
    try:
        value = parse_day_or_instant(raw)
    except ValueError as exc:
        message = f"{name} {exc}"
        raise ValidationFailed(message, details={name: raw, "range": RANGE_TEXT}) from exc
    return upper_bound(value) if upper else lower_bound(value)
