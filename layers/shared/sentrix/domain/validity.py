"""How long a detection stays valid, and its validity status at a given moment (DESIGN §4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sentrix.domain.classes import (
    PERSISTENCE_BY_TYPE,
    UNKNOWN_PERSISTENCE,
    BreedingSiteType,
    PersistenceType,
    RiskLevel,
    normalize_class_name,
    parse_risk_level,
)

MIN_DAYS = 1
MAX_DAYS = 365


class Weather(StrEnum):
    SUNNY = "SUNNY"
    RAINY = "RAINY"
    CLOUDY = "CLOUDY"
    DRY_SEASON = "DRY_SEASON"
    WET_SEASON = "WET_SEASON"


class ValidityStatus(StrEnum):
    VALID = "VALID"
    MEDIUM_VALIDITY = "MEDIUM_VALIDITY"
    LOW_VALIDITY = "LOW_VALIDITY"
    EXPIRING_SOON = "EXPIRING_SOON"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Validity:
    status: ValidityStatus
    remaining_days: int
    remaining_percent: int
    is_expiring_soon: bool
    requires_revalidation: bool
    expires_at: datetime


# Decimal, not float: 180 * 1.0 * 0.7 is 125.99999999999999 in floats and would truncate to 125, not 126.
BASE_DAYS: dict[PersistenceType, Decimal] = {
    PersistenceType.TRANSIENT: Decimal(2),
    PersistenceType.SHORT_TERM: Decimal(7),
    PersistenceType.MEDIUM_TERM: Decimal(30),
    PersistenceType.LONG_TERM: Decimal(180),
    PersistenceType.PERMANENT: Decimal(365),
}

RISK_FACTOR: dict[RiskLevel, Decimal] = {
    RiskLevel.ALTO: Decimal("1.2"),
    RiskLevel.MEDIO: Decimal("1.0"),
    RiskLevel.BAJO: Decimal("0.8"),
    RiskLevel.MINIMO: Decimal("0.6"),
}

WEATHER_FACTOR: dict[Weather, Decimal] = {
    Weather.SUNNY: Decimal("0.5"),
    Weather.RAINY: Decimal("1.5"),
    Weather.CLOUDY: Decimal("1.0"),
    Weather.DRY_SEASON: Decimal("0.6"),
    Weather.WET_SEASON: Decimal("1.8"),
}

LOW_CONFIDENCE = Decimal("0.7")
HIGH_CONFIDENCE = Decimal("0.9")
LOW_CONFIDENCE_FACTOR = Decimal("0.7")
HIGH_CONFIDENCE_FACTOR = Decimal("1.1")
VALIDATED_FACTOR = Decimal("1.3")

# (upper bound of whole days left, status, percent); first bound that holds wins.
_BANDS: tuple[tuple[int, ValidityStatus, int], ...] = (
    (1, ValidityStatus.EXPIRING_SOON, 10),
    (3, ValidityStatus.LOW_VALIDITY, 30),
    (7, ValidityStatus.MEDIUM_VALIDITY, 60),
)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def weather_for_month(month: int) -> Weather:
    """Season estimate for the southern hemisphere (Argentina): Dec-Feb wet, Jun-Aug dry, else cloudy."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month!r}")
    if month in (12, 1, 2):
        return Weather.WET_SEASON
    if month in (6, 7, 8):
        return Weather.DRY_SEASON
    return Weather.CLOUDY


def persistence_for(name: str | BreedingSiteType | PersistenceType | None) -> PersistenceType:
    """Persistence of a breeding-site type or class name; unknown classes are MEDIUM_TERM."""
    if isinstance(name, PersistenceType):
        return name
    site_type = normalize_class_name(name)
    return PERSISTENCE_BY_TYPE[site_type] if site_type is not None else UNKNOWN_PERSISTENCE


def is_weather_dependent(persistence: PersistenceType) -> bool:
    """True when the weather changes how long the site lasts (transient and short-term sites)."""
    return persistence in (PersistenceType.TRANSIENT, PersistenceType.SHORT_TERM)


def validity_days(
    breeding_site: str | BreedingSiteType | PersistenceType | None,
    risk_level: RiskLevel | str,
    confidence: float | Decimal,
    *,
    detected_at: datetime,
    weather: Weather | None = None,
    validated_positive: bool = False,
) -> int:
    """Days a detection stays valid: base by persistence times risk, weather, confidence and validation."""
    _require_aware(detected_at, "detected_at")
    if not (isinstance(confidence, int | float | Decimal) and math.isfinite(confidence) and 0 <= confidence <= 1):
        raise ValueError(f"confidence must be a number in [0, 1], got {confidence!r}")
    persistence = persistence_for(breeding_site)
    days = BASE_DAYS[persistence] * RISK_FACTOR[parse_risk_level(risk_level)]
    if is_weather_dependent(persistence):
        # The month is read in detected_at's own zone: pass local time to get local seasons.
        season = Weather(weather) if weather is not None else weather_for_month(detected_at.month)
        days *= WEATHER_FACTOR[season]
    # str() keeps the value the caller wrote (0.69), not its binary expansion (0.689999...).
    conf = Decimal(str(confidence))
    if conf < LOW_CONFIDENCE:
        days *= LOW_CONFIDENCE_FACTOR
    elif conf > HIGH_CONFIDENCE:
        days *= HIGH_CONFIDENCE_FACTOR
    if validated_positive:
        days *= VALIDATED_FACTOR
    return min(max(int(days), MIN_DAYS), MAX_DAYS)


def expires_at(detected_at: datetime, days: int) -> datetime:
    """The moment a detection made at `detected_at` stops being valid."""
    _require_aware(detected_at, "detected_at")
    return detected_at + timedelta(days=days)


def validity_of(expires_at: datetime, now: datetime) -> Validity:
    """Status of a detection expiring at `expires_at`, seen at `now`, by whole days left."""
    _require_aware(expires_at, "expires_at")
    _require_aware(now, "now")
    left = expires_at - now
    if left <= timedelta(0):
        return Validity(ValidityStatus.EXPIRED, 0, 0, False, True, expires_at)
    remaining = left // timedelta(days=1)
    status, percent = ValidityStatus.VALID, 100
    for bound, band_status, band_percent in _BANDS:
        if remaining <= bound:
            status, percent = band_status, band_percent
            break
    soon = remaining <= 1
    return Validity(status, remaining, percent, soon, soon, expires_at)
