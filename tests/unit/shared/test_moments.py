"""The one bounded date/time parser: days stay days, instants become UTC, extremes are refused (never overflow)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from sentrix.domain.moments import (
    MAX_INSTANT,
    MIN_INSTANT,
    DayOrInstant,
    MomentOutOfRange,
    lower_bound,
    parse_bound,
    parse_day_or_instant,
    upper_bound,
)
from sentrix.errors import ValidationFailed

# Every one of these overflowed Python's datetime somewhere between the parser and the SQL (a 500).
EXTREMES = [
    "0001-01-01T00:00:00+14:00",  # year 0 in UTC
    "0001-01-01",
    "0001-01-01T00:00:00Z",
    "9999-12-31",  # its exclusive end is 10000-01-01
    "9999-12-31T23:59:59-12:00",  # 10000-01-01 in UTC
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T00:00:00+14:00",
]
NOT_MOMENTS = ["", "   ", "last tuesday", "1e19", "1700000000", "2026-13-01", "2026-02-30", "10000-01-01", "0000-01-01"]


class Filters(BaseModel):
    since: DayOrInstant = None


def test_a_bare_date_stays_a_day_and_covers_it_whole():
    day = parse_day_or_instant("2026-05-31")
    assert day == date(2026, 5, 31)
    assert lower_bound(day) == datetime(2026, 5, 31, tzinfo=UTC)
    assert upper_bound(day) == datetime(2026, 6, 1, tzinfo=UTC)


def test_an_instant_is_read_in_its_zone_and_naive_means_utc():
    assert lower_bound(parse_day_or_instant("2026-05-31T12:00:00+02:00")) == datetime(2026, 5, 31, 10, tzinfo=UTC)
    assert lower_bound(parse_day_or_instant("2026-05-31T12:00:00")) == datetime(2026, 5, 31, 12, tzinfo=UTC)
    assert lower_bound(parse_day_or_instant("2026-05-31T12:00:00Z")) == datetime(2026, 5, 31, 12, tzinfo=UTC)


def test_a_plus_that_arrived_as_a_space_is_an_offset():
    moment = parse_day_or_instant("2026-05-31T12:00:00 02:00")
    assert moment.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("value", EXTREMES)
def test_extremes_are_out_of_range_not_overflows(value):
    with pytest.raises(MomentOutOfRange):
        parse_day_or_instant(value)


@pytest.mark.parametrize("value", NOT_MOMENTS[2:])
def test_text_that_is_no_date_is_a_value_error(value):
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_day_or_instant(value)


def test_the_range_edges_themselves_are_accepted():
    assert lower_bound(parse_day_or_instant("0001-01-02")) == MIN_INSTANT
    assert upper_bound(parse_day_or_instant("9999-12-29")) == MAX_INSTANT
    west = parse_day_or_instant("0001-01-02T10:00:00+10:00")
    assert lower_bound(west) == MIN_INSTANT


@pytest.mark.parametrize("value", EXTREMES + NOT_MOMENTS[2:])
def test_query_bounds_refuse_with_a_422_naming_the_parameter(value):
    with pytest.raises(ValidationFailed) as refused:
        parse_bound(value, "date_to", upper=True)
    assert refused.value.status == 422
    assert refused.value.message.startswith("date_to ")
    assert refused.value.details["date_to"] == value


def test_query_bounds_are_utc_inclusive_lower_and_exclusive_upper():
    assert parse_bound("2026-03-10", "date_from", upper=False) == datetime(2026, 3, 10, tzinfo=UTC)
    assert parse_bound("2026-03-10", "date_to", upper=True) == datetime(2026, 3, 11, tzinfo=UTC)
    assert parse_bound("2026-03-10T12:00:00Z", "date_to", upper=True) == datetime(2026, 3, 10, 12, 0, 0, 1, tzinfo=UTC)
    assert parse_bound(None, "date_to", upper=True) is None


@pytest.mark.parametrize("value", EXTREMES + NOT_MOMENTS[2:])
def test_pydantic_fields_refuse_extremes_as_validation_errors(value):
    with pytest.raises(ValidationError):
        Filters(since=value)


def test_pydantic_fields_check_values_built_in_code_too():
    with pytest.raises(ValidationError):
        Filters(since=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))
    assert Filters(since="").since is None
    assert Filters(since="2026-05-31").since == date(2026, 5, 31)


def test_naive_means_utc_whatever_the_machine_zone(machine_in_tucuman):
    assert datetime(2026, 5, 31, 12).astimezone().utcoffset() == timedelta(hours=-3)  # the zone took effect

    bound = lower_bound(datetime(2026, 5, 31, 12))

    assert bound == datetime(2026, 5, 31, 12, tzinfo=UTC)
    assert bound.utcoffset() == timedelta(0)


def test_bounds_are_given_in_utc_whatever_the_machine_zone(machine_in_tucuman):
    bound = lower_bound(datetime(2026, 5, 31, 12, tzinfo=timezone(timedelta(hours=2))))

    assert bound == datetime(2026, 5, 31, 10, tzinfo=UTC)
    assert bound.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", EXTREMES)
def test_an_out_of_range_refusal_states_the_range(value):
    # the supported range, one day inside Python's years 1–9999 on each side (module docstring)
    with pytest.raises(MomentOutOfRange, match=r"0001-01-02 to 9999-12-30"):
        parse_day_or_instant(value)
    with pytest.raises(ValidationFailed, match=r"^date_from must lie within 0001-01-02 to 9999-12-30") as refused:
        parse_bound(value, "date_from", upper=False)
    assert "0001-01-02 to 9999-12-30" in refused.value.details["range"]


@pytest.mark.parametrize("value", [20260531, 1.5, ["2026-05-31"], b"2026-05-31"])
def test_what_is_not_text_or_a_date_is_refused_with_the_expected_format(value):
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_day_or_instant(value)
