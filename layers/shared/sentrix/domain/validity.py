"""How long a detection stays valid, from when, and its validity status at a given moment (DESIGN §4, §7).

Validity counts from when the photo was taken (its EXIF capture time) when that time is plausible, else from
the upload; the season comes from the point's hemisphere and the local month of that moment.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


class Hemisphere(StrEnum):
    NORTHERN = "NORTHERN"
    SOUTHERN = "SOUTHERN"
    TROPICAL = "TROPICAL"  # between the tropics: no wet/dry season by month
    UNKNOWN = "UNKNOWN"  # no point: no season either


class ValidityBasis(StrEnum):
    """The moment validity counts from."""

    CAPTURED_AT = "captured_at"  # the photo's EXIF capture time
    UPLOADED_AT = "uploaded_at"  # the upload (the analysis' creation)


class BasisReason(StrEnum):
    """Why validity counts from the upload and not from the capture time."""

    NO_CAPTURE_TIME = "no_capture_time"
    CAPTURE_TIME_IN_FUTURE = "capture_time_in_future"
    CAPTURE_TIME_BEFORE_2000 = "capture_time_before_2000"


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

# |latitude| below the Tropic of Cancer/Capricorn (23°26') is tropical: no month-based season.
TROPIC_LATITUDE = 23.44
# A capture time before this is a camera whose clock was never set, not a photo of a living breeding site.
EARLIEST_CAPTURE = datetime(2000, 1, 1, tzinfo=UTC)
# Camera clocks drift and uploads take a while: a capture this much after the upload still counts.
CAPTURE_CLOCK_TOLERANCE = timedelta(minutes=10)
_OFFSET_NAME = re.compile(r"^([+-])(\d{2}):(\d{2})$")
MIN_UTC_OFFSET = timedelta(hours=-12)
MAX_UTC_OFFSET = timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class ValidityStart:
    """When validity starts, on which basis, and (for the upload basis) why the capture time was not used."""

    moment: datetime  # aware, in the analysis' local zone: its month is the local month
    basis: ValidityBasis
    reason: BasisReason | None


# (upper bound of whole days left, status, percent); first bound that holds wins.
_BANDS: tuple[tuple[int, ValidityStatus, int], ...] = (
    (1, ValidityStatus.EXPIRING_SOON, 10),
    (3, ValidityStatus.LOW_VALIDITY, 30),
    (7, ValidityStatus.MEDIUM_VALIDITY, 60),
)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def weather_for_month(month: int, hemisphere: Hemisphere = Hemisphere.SOUTHERN) -> Weather:
    """Season estimate by local month: summer (Dec-Feb south, Jun-Aug north) wet, winter dry, else cloudy.

    Between the tropics, and without a point, there is no seasonal factor (CLOUDY, × 1.0)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month!r}")
    if hemisphere in (Hemisphere.TROPICAL, Hemisphere.UNKNOWN):
        return Weather.CLOUDY
    summer, winter = ((12, 1, 2), (6, 7, 8)) if hemisphere is Hemisphere.SOUTHERN else ((6, 7, 8), (12, 1, 2))
    if month in summer:
        return Weather.WET_SEASON
    if month in winter:
        return Weather.DRY_SEASON
    return Weather.CLOUDY


def hemisphere_of(latitude: float | None) -> Hemisphere:
    """NORTHERN or SOUTHERN beyond the tropics, TROPICAL between them, UNKNOWN without a point."""
    if latitude is None or not math.isfinite(latitude):
        return Hemisphere.UNKNOWN
    if abs(latitude) < TROPIC_LATITUDE:
        return Hemisphere.TROPICAL
    return Hemisphere.NORTHERN if latitude > 0 else Hemisphere.SOUTHERN


def zone_named(name: str | None) -> tzinfo:
    """The zone of an IANA name or a "+hh:mm" offset (as stored on an analysis); UTC when absent or unknown."""
    if not name:
        return UTC
    match = _OFFSET_NAME.match(name)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        hours, minutes = int(match.group(2)), int(match.group(3))
        offset = sign * timedelta(hours=hours, minutes=minutes)
        # Offsets in use run from -12:00 (Baker Island) to +14:00 (Line Islands); anything else is not a place.
        if minutes >= 60 or not MIN_UTC_OFFSET <= offset <= MAX_UTC_OFFSET:
            return UTC
        return timezone(offset)
    if name.startswith("/") or ".." in name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def validity_start(captured_at: datetime | None, uploaded_at: datetime, zone: tzinfo) -> ValidityStart:
    """Validity counts from a plausible capture time (in its own offset), else from the upload read in `zone`.

    Plausible: not before 2000-01-01 UTC and not later than the upload (plus a few minutes of clock drift)."""
    _require_aware(uploaded_at, "uploaded_at")
    reason: BasisReason | None
    if captured_at is None:
        reason = BasisReason.NO_CAPTURE_TIME
    else:
        _require_aware(captured_at, "captured_at")
        if captured_at < EARLIEST_CAPTURE:
            reason = BasisReason.CAPTURE_TIME_BEFORE_2000
        elif captured_at > uploaded_at + CAPTURE_CLOCK_TOLERANCE:
            reason = BasisReason.CAPTURE_TIME_IN_FUTURE
        else:
            return ValidityStart(captured_at, ValidityBasis.CAPTURED_AT, None)
    return ValidityStart(uploaded_at.astimezone(zone), ValidityBasis.UPLOADED_AT, reason)


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
    latitude: float | None = None,
    weather: Weather | None = None,
    validated_positive: bool = False,
) -> int:
    """Days a detection stays valid: base by persistence times risk, weather, confidence and validation.

    Without `weather` the season comes from the hemisphere of `latitude` and the month of `detected_at`."""
    _require_aware(detected_at, "detected_at")
    if not (isinstance(confidence, int | float | Decimal) and math.isfinite(confidence) and 0 <= confidence <= 1):
        raise ValueError(f"confidence must be a number in [0, 1], got {confidence!r}")
    persistence = persistence_for(breeding_site)
    days = BASE_DAYS[persistence] * RISK_FACTOR[parse_risk_level(risk_level)]
    if is_weather_dependent(persistence):
        # The month is read in detected_at's own zone: pass local time to get local seasons.
        season = (
            Weather(weather)
            if weather is not None
            else weather_for_month(detected_at.month, hemisphere_of(None if latitude is None else float(latitude)))
        )
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
