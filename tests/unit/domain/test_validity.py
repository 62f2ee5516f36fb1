"""Validity of a detection: days by class, risk, weather, confidence and validation; status bands."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentrix.domain.classes import BreedingSiteType, PersistenceType, RiskLevel
from sentrix.domain.validity import (
    Validity,
    ValidityStatus,
    Weather,
    expires_at,
    is_weather_dependent,
    persistence_for,
    validity_days,
    validity_of,
    weather_for_month,
)

WATER = "Charcos/Cumulo de agua"  # TRANSIENT, 2 days
TRASH = "Basura"  # SHORT_TERM, 7 days
HOLE = "Huecos"  # MEDIUM_TERM, 30 days
STREET = "Calles mal hechas"  # LONG_TERM, 180 days
NEUTRAL = 0.8  # a confidence that applies no factor
ART = timezone(timedelta(hours=-3))
BUENOS_AIRES_LAT = -34.6  # south of the Tropic of Capricorn: southern seasons


def at(month: int, day: int = 15) -> datetime:
    return datetime(2024, month, day, 12, 0, tzinfo=UTC)


def days(site, risk=RiskLevel.MEDIO, confidence=NEUTRAL, *, month=4, latitude=BUENOS_AIRES_LAT, **kwargs) -> int:
    """validity_days with neutral defaults (MEDIO, confidence 0.8, April in Buenos Aires = cloudy)."""
    return validity_days(site, risk, confidence, detected_at=at(month), latitude=latitude, **kwargs)


def test_worked_example_charcos_alto_january():
    # 2 × 1.2 × 1.8 = 4.32 -> 4
    assert validity_days(WATER, RiskLevel.ALTO, 0.85, detected_at=at(1), latitude=BUENOS_AIRES_LAT) == 4


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        (WATER, 2),
        (TRASH, 7),
        (HOLE, 30),
        (STREET, 180),
        (BreedingSiteType.HUECOS, 30),
        ("Charcos", 2),
        ("Clase_7", 30),
        (None, 30),
    ],
)
def test_base_days_by_class(site, expected):
    assert days(site) == expected


@pytest.mark.parametrize(
    ("risk", "expected"),
    [(RiskLevel.ALTO, 36), (RiskLevel.MEDIO, 30), (RiskLevel.BAJO, 24), (RiskLevel.MINIMO, 18)],
)
def test_risk_factor(risk, expected):
    assert days(HOLE, risk) == expected


def test_risk_level_may_be_text_in_either_language():
    assert days(HOLE, "ALTO") == days(HOLE, "HIGH") == 36


@pytest.mark.parametrize(
    ("weather", "trash", "water"),
    [
        (Weather.SUNNY, 3, 1),  # 7 × 0.5 = 3.5; 2 × 0.5 = 1
        (Weather.RAINY, 10, 3),  # 10.5; 3
        (Weather.CLOUDY, 7, 2),
        (Weather.DRY_SEASON, 4, 1),  # 4.2; 1.2
        (Weather.WET_SEASON, 12, 3),  # 12.6; 3.6
    ],
)
def test_weather_factor_for_transient_and_short_term(weather, trash, water):
    assert days(TRASH, weather=weather) == trash
    assert days(WATER, weather=weather) == water


@pytest.mark.parametrize("weather", list(Weather))
def test_weather_is_ignored_for_medium_and_long_term(weather):
    assert days(HOLE, weather=weather) == 30
    assert days(STREET, weather=weather) == 180
    assert days("Clase_9", weather=weather) == 30


@pytest.mark.parametrize(
    ("month", "weather", "trash_days"),
    [
        (1, Weather.WET_SEASON, 12),
        (2, Weather.WET_SEASON, 12),
        (3, Weather.CLOUDY, 7),
        (4, Weather.CLOUDY, 7),
        (5, Weather.CLOUDY, 7),
        (6, Weather.DRY_SEASON, 4),
        (7, Weather.DRY_SEASON, 4),
        (8, Weather.DRY_SEASON, 4),
        (9, Weather.CLOUDY, 7),
        (10, Weather.CLOUDY, 7),
        (11, Weather.CLOUDY, 7),
        (12, Weather.WET_SEASON, 12),
    ],
)
def test_month_gives_the_southern_hemisphere_season(month, weather, trash_days):
    assert weather_for_month(month) is weather
    assert days(TRASH, month=month) == trash_days


def test_explicit_weather_beats_the_month():
    assert days(TRASH, month=1, weather=Weather.SUNNY) == 3


def test_month_is_read_in_the_zone_of_detected_at():
    instant = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)  # still 28 February in Argentina

    south = BUENOS_AIRES_LAT
    assert validity_days(TRASH, RiskLevel.MEDIO, NEUTRAL, detected_at=instant, latitude=south) == 7
    assert validity_days(TRASH, RiskLevel.MEDIO, NEUTRAL, detected_at=instant.astimezone(ART), latitude=south) == 12


@pytest.mark.parametrize("month", [0, 13, -1])
def test_weather_for_month_rejects_impossible_months(month):
    with pytest.raises(ValueError, match="month"):
        weather_for_month(month)


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        (0.69, 21),  # × 0.7
        (0.7, 30),  # exactly 0.7: no factor
        (0.8, 30),
        (0.9, 30),  # exactly 0.9: no factor
        (0.91, 33),  # × 1.1
        (0.0, 21),
        (1.0, 33),
        (Decimal("0.91"), 33),
    ],
)
def test_confidence_factor(confidence, expected):
    assert days(HOLE, confidence=confidence) == expected


def test_validated_positive_multiplies_by_1_3():
    assert days(HOLE, validated_positive=True) == 39
    assert days(HOLE, validated_positive=False) == 30


def test_decimal_arithmetic_avoids_float_truncation_errors():
    # 180 × 1.0 × 0.7 is 125.99999999999999 in floats.
    assert days(STREET, confidence=0.5) == 126


def test_all_factors_combine():
    # 7 × 1.2 × 1.5 × 1.1 × 1.3 = 18.018
    assert days(TRASH, RiskLevel.ALTO, 0.95, weather=Weather.RAINY, validated_positive=True) == 18


def test_clamped_at_one_day():
    # 2 × 0.6 × 0.5 × 0.7 = 0.42
    assert days(WATER, RiskLevel.MINIMO, 0.5, weather=Weather.SUNNY) == 1


def test_clamped_at_365_days():
    # PERMANENT is never assigned to a class, but 365 × 1.2 × 1.1 × 1.3 must still stay within a year.
    assert days(PersistenceType.PERMANENT, RiskLevel.ALTO, 0.95, validated_positive=True) == 365


def test_longest_real_class_stays_under_the_cap():
    assert days(STREET, RiskLevel.ALTO, 0.95, validated_positive=True) == 308


def test_naive_detected_at_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        validity_days(WATER, RiskLevel.ALTO, 0.8, detected_at=datetime(2024, 1, 1))


@pytest.mark.parametrize("confidence", [-0.01, 1.01, math.nan, math.inf, "0.8", None])
def test_impossible_confidence_is_rejected(confidence):
    with pytest.raises(ValueError, match="confidence"):
        days(HOLE, confidence=confidence)


def test_unknown_risk_level_is_rejected():
    with pytest.raises(ValueError, match="risk level"):
        days(HOLE, "CRITICAL")


@given(
    site=st.one_of(st.sampled_from([WATER, TRASH, HOLE, STREET, None, *PersistenceType]), st.text(max_size=10)),
    risk=st.sampled_from(list(RiskLevel)),
    confidence=st.floats(min_value=0, max_value=1),
    month=st.integers(1, 12),
    weather=st.one_of(st.none(), st.sampled_from(list(Weather))),
    validated=st.booleans(),
)
def test_validity_days_always_within_one_year(site, risk, confidence, month, weather, validated):
    result = validity_days(site, risk, confidence, detected_at=at(month), weather=weather, validated_positive=validated)

    assert 1 <= result <= 365


@pytest.mark.parametrize(
    ("name", "persistence"),
    [
        (WATER, PersistenceType.TRANSIENT),
        ("Cumulo de agua", PersistenceType.TRANSIENT),
        (TRASH, PersistenceType.SHORT_TERM),
        (HOLE, PersistenceType.MEDIUM_TERM),
        (STREET, PersistenceType.LONG_TERM),
        ("Clase_4", PersistenceType.MEDIUM_TERM),
        (None, PersistenceType.MEDIUM_TERM),
        (PersistenceType.PERMANENT, PersistenceType.PERMANENT),
    ],
)
def test_persistence_for(name, persistence):
    assert persistence_for(name) is persistence


@pytest.mark.parametrize(
    ("persistence", "dependent"),
    [
        (PersistenceType.TRANSIENT, True),
        (PersistenceType.SHORT_TERM, True),
        (PersistenceType.MEDIUM_TERM, False),
        (PersistenceType.LONG_TERM, False),
        (PersistenceType.PERMANENT, False),
    ],
)
def test_is_weather_dependent(persistence, dependent):
    assert is_weather_dependent(persistence) is dependent


def test_expires_at_adds_whole_days():
    detected = datetime(2024, 1, 30, 10, 30, tzinfo=UTC)

    assert expires_at(detected, 4) == datetime(2024, 2, 3, 10, 30, tzinfo=UTC)


def test_expires_at_rejects_naive():
    with pytest.raises(ValueError, match="timezone-aware"):
        expires_at(datetime(2024, 1, 1), 4)


NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "status", "remaining", "percent", "soon", "revalidate"),
    [
        (timedelta(days=-3), ValidityStatus.EXPIRED, 0, 0, False, True),
        (timedelta(seconds=-1), ValidityStatus.EXPIRED, 0, 0, False, True),
        (timedelta(0), ValidityStatus.EXPIRED, 0, 0, False, True),
        (timedelta(hours=1), ValidityStatus.EXPIRING_SOON, 0, 10, True, True),
        (timedelta(days=1), ValidityStatus.EXPIRING_SOON, 1, 10, True, True),
        (timedelta(days=1, hours=23), ValidityStatus.EXPIRING_SOON, 1, 10, True, True),
        (timedelta(days=2), ValidityStatus.LOW_VALIDITY, 2, 30, False, False),
        (timedelta(days=3), ValidityStatus.LOW_VALIDITY, 3, 30, False, False),
        (timedelta(days=4), ValidityStatus.MEDIUM_VALIDITY, 4, 60, False, False),
        (timedelta(days=7), ValidityStatus.MEDIUM_VALIDITY, 7, 60, False, False),
        (timedelta(days=7, hours=23, minutes=59), ValidityStatus.MEDIUM_VALIDITY, 7, 60, False, False),
        (timedelta(days=8), ValidityStatus.VALID, 8, 100, False, False),
        (timedelta(days=365), ValidityStatus.VALID, 365, 100, False, False),
    ],
)
def test_validity_status_bands(left, status, remaining, percent, soon, revalidate):
    assert validity_of(NOW + left, NOW) == Validity(status, remaining, percent, soon, revalidate, NOW + left)


def test_validity_of_compares_instants_across_zones():
    expiry = (NOW + timedelta(days=2)).astimezone(ART)

    assert validity_of(expiry, NOW).remaining_days == 2


@pytest.mark.parametrize(
    ("expiry", "now"),
    [(datetime(2024, 5, 12), NOW), (NOW, datetime(2024, 5, 10))],
)
def test_validity_of_rejects_naive(expiry, now):
    with pytest.raises(ValueError, match="timezone-aware"):
        validity_of(expiry, now)


def test_detection_lifecycle_from_creation_to_expiry():
    detected = datetime(2024, 1, 10, 9, 0, tzinfo=ART)
    expiry = expires_at(
        detected, validity_days(WATER, RiskLevel.ALTO, 0.85, detected_at=detected, latitude=BUENOS_AIRES_LAT)
    )

    assert validity_of(expiry, detected).status is ValidityStatus.MEDIUM_VALIDITY
    assert validity_of(expiry, detected + timedelta(days=3)).status is ValidityStatus.EXPIRING_SOON
    assert validity_of(expiry, detected + timedelta(days=4)).status is ValidityStatus.EXPIRED


# Northern seasons, as the docstring of weather_for_month and DESIGN §4 state them: Jun–Aug wet, Dec–Feb dry.
@pytest.mark.parametrize(
    ("month", "weather"),
    [(m, Weather.WET_SEASON) for m in (6, 7, 8)]
    + [(m, Weather.DRY_SEASON) for m in (12, 1, 2)]
    + [(m, Weather.CLOUDY) for m in (3, 4, 5, 9, 10, 11)],
)
def test_northern_seasons_month_by_month(month, weather):
    from sentrix.domain.validity import Hemisphere

    assert weather_for_month(month, Hemisphere.NORTHERN) is weather


class _NoOffset(tzinfo):
    """A time zone object that knows no offset: datetimes carrying it are as naive as those without one."""

    def utcoffset(self, dt):
        return None


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda moment: validity_days(HOLE, RiskLevel.MEDIO, NEUTRAL, detected_at=moment), "detected_at"),
        (lambda moment: expires_at(moment, 3), "detected_at"),
        (lambda moment: validity_of(moment, at(4)), "expires_at"),
        (lambda moment: validity_of(at(4), moment), "now"),
    ],
)
@pytest.mark.parametrize("moment", [datetime(2024, 4, 15, 12), datetime(2024, 4, 15, 12, tzinfo=_NoOffset())])
def test_a_moment_without_an_offset_is_refused_naming_the_parameter(call, name, moment):
    with pytest.raises(ValueError, match=f"^{name} must be timezone-aware"):
        call(moment)


@pytest.mark.parametrize(
    ("captured_at", "uploaded_at", "name"),
    [
        (None, datetime(2024, 4, 15, 12), "uploaded_at"),
        (datetime(2024, 4, 15, 11), at(4), "captured_at"),
        (datetime(2024, 4, 15, 11, tzinfo=_NoOffset()), at(4), "captured_at"),
    ],
)
def test_validity_start_refuses_moments_without_an_offset_naming_them(captured_at, uploaded_at, name):
    from sentrix.domain.validity import validity_start

    with pytest.raises(ValueError, match=f"^{name} must be timezone-aware"):
        validity_start(captured_at, uploaded_at, UTC)


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("+14:00", timedelta(hours=14)),  # Kiribati's Line Islands, the easternmost offset in use
        ("-12:00", timedelta(hours=-12)),
        ("+05:45", timedelta(hours=5, minutes=45)),  # Nepal
        ("+05:59", timedelta(hours=5, minutes=59)),
    ],
)
def test_offsets_up_to_fourteen_hours_are_zones(name, offset):
    from sentrix.domain.validity import zone_named

    assert zone_named(name) == timezone(offset)


@pytest.mark.parametrize(
    "name", ["+15:00", "+05:60", "-03:61", "+99:99", "+14:01", "+14:30", "-12:01", "-13:00", "-14:00"]
)
def test_impossible_offsets_are_utc(name):
    from sentrix.domain.validity import zone_named

    assert zone_named(name) is UTC
