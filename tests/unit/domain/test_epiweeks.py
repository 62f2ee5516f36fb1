"""Epidemiological weeks (Sunday–Saturday, the year of the Wednesday): year boundaries worked by hand, and every
day checked against the calendars' other wording of the rule — week 1 is the Sunday–Saturday week that holds
4 January — counted here day by day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentrix.domain.epiweeks import EpiWeek, week_of, week_start, weeks_between, weeks_in


@pytest.mark.parametrize(
    ("day", "year", "week", "sunday"),
    [
        (date(2024, 1, 1), 2024, 1, date(2023, 12, 31)),  # a Monday: its week began in December, 6 days in 2024
        (date(2023, 12, 30), 2023, 52, date(2023, 12, 24)),
        (date(2023, 1, 1), 2023, 1, date(2023, 1, 1)),  # a Sunday starts week 1 itself
        (date(2021, 1, 1), 2020, 53, date(2020, 12, 27)),  # a Friday: 2 days in 2021, the week is 2020's 53rd
        (date(2022, 1, 1), 2021, 52, date(2021, 12, 26)),  # a Saturday: 1 day in 2022
        (date(2015, 1, 1), 2014, 53, date(2014, 12, 28)),
        (date(2026, 1, 1), 2025, 53, date(2025, 12, 28)),
        (date(2026, 1, 4), 2026, 1, date(2026, 1, 4)),
        (date(2026, 12, 3), 2026, 48, date(2026, 11, 29)),
    ],
)
def test_the_week_of_a_day_at_the_year_boundaries(day, year, week, sunday):
    found = week_of(day)

    assert (found.year, found.week) == (year, week)
    assert (found.start, found.end) == (sunday, sunday + timedelta(days=6))


@pytest.mark.parametrize(("year", "weeks"), [(2014, 53), (2019, 52), (2020, 53), (2023, 52), (2025, 53), (2026, 52)])
def test_years_have_52_or_53_weeks(year, weeks):
    assert weeks_in(year) == weeks


def test_labels_and_neighbours():
    assert EpiWeek(2024, 1).label == "2024-SE01"
    assert EpiWeek(2020, 53).next() == EpiWeek(2021, 1)
    assert EpiWeek(2021, 1).previous() == EpiWeek(2020, 53)
    assert EpiWeek(2023, 52).next() == EpiWeek(2024, 1)


def test_weeks_between_lists_every_week_once_across_a_53_week_year():
    weeks = weeks_between(date(2020, 12, 20), date(2021, 1, 10))

    assert [w.label for w in weeks] == ["2020-SE52", "2020-SE53", "2021-SE01", "2021-SE02"]
    assert weeks_between(date(2024, 3, 5), date(2024, 3, 5)) == [week_of(date(2024, 3, 5))]
    with pytest.raises(ValueError, match="before"):
        weeks_between(date(2024, 3, 5), date(2024, 3, 4))


def by_counting(day: date) -> tuple[int, int]:
    """(year, week) by the "week 1 holds 4 January" wording: walk back from 4 January to its Sunday, take the
    latest year whose week 1 has begun by `day`, count whole weeks from there."""
    starts = {}
    for year in (day.year - 1, day.year, day.year + 1):
        sunday = date(year, 1, 4)
        while sunday.strftime("%A") != "Sunday":
            sunday -= timedelta(days=1)
        starts[year] = sunday
    year = max(y for y, sunday in starts.items() if sunday <= day)
    return year, (day - starts[year]).days // 7 + 1


@given(st.dates(min_value=date(1900, 1, 7), max_value=date(2200, 12, 25)))
def test_every_day_agrees_with_counting_from_the_week_of_4_january(day):
    found = week_of(day)

    assert (found.year, found.week) == by_counting(day)
    assert found.start <= day <= found.end
    assert found.start.isoweekday() == 7  # a Sunday
    assert week_start(day) == found.start
    assert 1 <= found.week <= weeks_in(found.year)
    assert week_of(found.start) == week_of(found.end) == found
