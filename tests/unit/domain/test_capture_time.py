"""Capture time and seasons: validity counts from a plausible capture time; seasons follow the hemisphere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sentrix.domain.classes import RiskLevel
from sentrix.domain.validity import (
    BasisReason,
    Hemisphere,
    ValidityBasis,
    Weather,
    hemisphere_of,
    validity_days,
    validity_start,
    weather_for_month,
    zone_named,
)

UPLOADED = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
ART = timezone(timedelta(hours=-3))
TRASH = "Basura"  # SHORT_TERM, 7 days, weather-dependent
HOLE = "Huecos"  # MEDIUM_TERM, 30 days, not weather-dependent


def test_a_plausible_capture_time_is_the_start_in_its_own_offset():
    # Given a photo taken 15 months before its upload, at 09:00 in Argentina
    taken = datetime(2025, 9, 2, 9, 0, tzinfo=ART)

    start = validity_start(taken, UPLOADED, UTC)

    # Then validity counts from the capture, kept in the photo's offset (its month is the local month)
    assert (start.basis, start.reason) == (ValidityBasis.CAPTURED_AT, None)
    assert start.moment == taken and start.moment.utcoffset() == timedelta(hours=-3)


def test_without_a_capture_time_the_upload_is_the_start_read_in_the_local_zone():
    start = validity_start(None, UPLOADED, ZoneInfo("America/Argentina/Buenos_Aires"))

    assert (start.basis, start.reason) == (ValidityBasis.UPLOADED_AT, BasisReason.NO_CAPTURE_TIME)
    assert start.moment == UPLOADED
    assert (start.moment.hour, start.moment.utcoffset()) == (12, timedelta(hours=-3))  # 15:00 UTC is 12:00 ART


@pytest.mark.parametrize(
    ("taken", "reason"),
    [
        (datetime(2026, 12, 3, 15, 0, tzinfo=UTC), BasisReason.CAPTURE_TIME_IN_FUTURE),  # a day after the upload
        (datetime(2026, 12, 2, 15, 11, tzinfo=UTC), BasisReason.CAPTURE_TIME_IN_FUTURE),  # 11 min: beyond drift
        (datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), BasisReason.CAPTURE_TIME_BEFORE_2000),
        (datetime(1980, 1, 1, tzinfo=UTC), BasisReason.CAPTURE_TIME_BEFORE_2000),  # a clock never set
    ],
)
def test_an_implausible_capture_time_falls_back_to_the_upload_with_the_reason(taken, reason):
    start = validity_start(taken, UPLOADED, UTC)

    assert (start.basis, start.reason, start.moment) == (ValidityBasis.UPLOADED_AT, reason, UPLOADED)


@pytest.mark.parametrize(
    "taken",
    [
        datetime(2000, 1, 1, 0, 0, tzinfo=UTC),  # the first plausible instant
        datetime(2026, 12, 2, 15, 10, tzinfo=UTC),  # 10 minutes after the upload: camera clock drift
    ],
)
def test_the_edges_of_plausible_capture_times_are_kept(taken):
    assert validity_start(taken, UPLOADED, UTC).basis is ValidityBasis.CAPTURED_AT


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        validity_start(datetime(2026, 1, 1), UPLOADED, UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        validity_start(None, datetime(2026, 1, 1), UTC)


@pytest.mark.parametrize(
    ("latitude", "hemisphere"),
    [
        (-34.6, Hemisphere.SOUTHERN),  # Buenos Aires
        (-26.8, Hemisphere.SOUTHERN),  # Tucumán, just south of the Tropic of Capricorn (-23.44)
        (40.4, Hemisphere.NORTHERN),  # Madrid
        (-12.05, Hemisphere.TROPICAL),  # Lima
        (23.43, Hemisphere.TROPICAL),
        (23.44, Hemisphere.NORTHERN),
        (0.0, Hemisphere.TROPICAL),
        (None, Hemisphere.UNKNOWN),
    ],
)
def test_hemisphere_by_latitude_sign_with_the_tropics_apart(latitude, hemisphere):
    assert hemisphere_of(latitude) is hemisphere


@pytest.mark.parametrize(
    ("month", "south", "north"),
    [
        (1, Weather.WET_SEASON, Weather.DRY_SEASON),
        (4, Weather.CLOUDY, Weather.CLOUDY),
        (7, Weather.DRY_SEASON, Weather.WET_SEASON),
        (12, Weather.WET_SEASON, Weather.DRY_SEASON),
    ],
)
def test_the_north_has_the_south_seasons_six_months_apart(month, south, north):
    assert weather_for_month(month, Hemisphere.SOUTHERN) is south
    assert weather_for_month(month, Hemisphere.NORTHERN) is north
    assert weather_for_month(month, Hemisphere.TROPICAL) is Weather.CLOUDY
    assert weather_for_month(month, Hemisphere.UNKNOWN) is Weather.CLOUDY


@pytest.mark.parametrize(
    ("latitude", "expected"),
    [
        (-34.6, 12),  # Buenos Aires, January: 7 × 1.8 (wet) = 12.6 → 12
        (40.4, 4),  # Madrid, January: 7 × 0.6 (dry) = 4.2 → 4
        (-12.05, 7),  # Lima, between the tropics: no seasonal factor, 7 × 1.0
        (None, 7),  # no point, no hemisphere: no seasonal factor
    ],
)
def test_trash_in_january_lasts_by_the_points_hemisphere(latitude, expected):
    january = datetime(2026, 1, 15, 12, 0, tzinfo=ART)

    assert validity_days(TRASH, RiskLevel.MEDIO, 0.8, detected_at=january, latitude=latitude) == expected


def test_the_season_comes_from_the_local_month_not_the_utc_month():
    # Given 1 March 01:00 UTC, which is still 28 February (summer) in Buenos Aires
    instant = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)

    # Then read in UTC it is March (7 days), read locally it is February: 7 × 1.8 = 12.6 → 12
    assert validity_days(TRASH, RiskLevel.MEDIO, 0.8, detected_at=instant, latitude=-34.6) == 7
    assert validity_days(TRASH, RiskLevel.MEDIO, 0.8, detected_at=instant.astimezone(ART), latitude=-34.6) == 12


def test_long_lived_sites_ignore_the_season_everywhere():
    january = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    for latitude in (-34.6, 40.4, -12.05, None):
        assert validity_days(HOLE, RiskLevel.MEDIO, 0.8, detected_at=january, latitude=latitude) == 30


@pytest.mark.parametrize(
    ("name", "offset_in_january"),
    [
        ("America/Argentina/Buenos_Aires", timedelta(hours=-3)),
        ("Europe/Madrid", timedelta(hours=1)),
        ("+05:30", timedelta(hours=5, minutes=30)),
        ("-03:00", timedelta(hours=-3)),
        ("UTC", timedelta(0)),
        (None, timedelta(0)),
        ("Mars/Olympus_Mons", timedelta(0)),  # unknown: UTC
        ("../../etc/passwd", timedelta(0)),
        ("+15:00", timedelta(0)),  # no such offset
    ],
)
def test_zone_named_reads_iana_names_and_offsets_and_falls_back_to_utc(name, offset_in_january):
    assert datetime(2026, 1, 15, 12, 0, tzinfo=zone_named(name)).utcoffset() == offset_in_january
