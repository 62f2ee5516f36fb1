"""Where a photo was taken: manual coordinates win over EXIF GPS, otherwise no location (DESIGN §4).

The EXIF point is evidence even when manual coordinates win: it is kept beside them with the distance
between the two, and a distance beyond a threshold flags the analysis for experts (DESIGN §7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from sentrix.errors import InvalidLocation


class LocationSource(StrEnum):
    EXIF_GPS = "EXIF_GPS"
    MANUAL = "MANUAL"
    NONE = "NONE"


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float
    altitude_m: float | None = None


@dataclass(frozen=True, slots=True)
class ResolvedLocation:
    point: GeoPoint | None
    source: LocationSource


NO_LOCATION = ResolvedLocation(None, LocationSource.NONE)

# Mean Earth radius (IUGG), metres: the haversine on this sphere is within 0.5 % of the ellipsoid's distance.
EARTH_RADIUS_M = 6_371_008.8
DEFAULT_DISCREPANCY_THRESHOLD_M = 500.0


@dataclass(frozen=True, slots=True)
class LocationEvidence:
    """The photo's own GPS point beside the location used, and how far apart the two are."""

    exif_point: GeoPoint | None
    discrepancy_m: float | None  # metres from the manual point; None when there is no manual point
    flagged: bool


NO_EVIDENCE = LocationEvidence(None, None, False)


def _number(value: object) -> float | None:
    """A finite float, or None for anything else (bools, strings, NaN and infinities included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _detail(value: object) -> object:
    """A JSON-safe echo of a rejected value (NaN and infinities are not valid JSON)."""
    return value if value is None or _number(value) is not None else repr(value)


def is_valid_coordinate(latitude: object, longitude: object) -> bool:
    """True for finite numbers with latitude in [-90, 90] and longitude in [-180, 180]."""
    lat, lon = _number(latitude), _number(longitude)
    return lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180


def resolve_location(
    manual_latitude: float | None,
    manual_longitude: float | None,
    exif: GeoPoint | None,
) -> ResolvedLocation:
    """Manual coordinates (both or neither, range-checked) win over EXIF GPS; a bad EXIF point is ignored."""
    if manual_latitude is not None or manual_longitude is not None:
        if manual_latitude is None or manual_longitude is None:
            raise InvalidLocation(
                "latitude and longitude must be given together",
                details={"latitude": _detail(manual_latitude), "longitude": _detail(manual_longitude)},
            )
        if not is_valid_coordinate(manual_latitude, manual_longitude):
            raise InvalidLocation(
                "latitude must be within [-90, 90] and longitude within [-180, 180]",
                details={"latitude": _detail(manual_latitude), "longitude": _detail(manual_longitude)},
            )
        return ResolvedLocation(GeoPoint(float(manual_latitude), float(manual_longitude)), LocationSource.MANUAL)
    # EXIF comes from the photo, not from the user: a broken GPS tag must not fail the upload.
    if exif is None or not is_valid_coordinate(exif.latitude, exif.longitude):
        return NO_LOCATION
    return ResolvedLocation(
        GeoPoint(float(exif.latitude), float(exif.longitude), _number(exif.altitude_m)),
        LocationSource.EXIF_GPS,
    )


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres between two points (on a sphere of the mean Earth radius)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def location_evidence(
    resolved: ResolvedLocation, exif: GeoPoint | None, threshold_m: float = DEFAULT_DISCREPANCY_THRESHOLD_M
) -> LocationEvidence:
    """The valid EXIF point; when manual coordinates won, its distance to them, flagged beyond `threshold_m`."""
    if exif is None or not is_valid_coordinate(exif.latitude, exif.longitude):
        return NO_EVIDENCE
    point = GeoPoint(float(exif.latitude), float(exif.longitude), _number(exif.altitude_m))
    if resolved.source is not LocationSource.MANUAL or resolved.point is None:
        return LocationEvidence(point, None, False)
    distance = haversine_m(resolved.point, point)
    return LocationEvidence(point, distance, distance > threshold_m)


def format_coordinate(value: float, places: int) -> str:
    """Fixed-point text of a coordinate; values that round to zero print as 0, never as -0."""
    # round() may give -0.0; adding 0.0 turns it into 0.0.
    return f"{round(float(value), places) + 0.0:.{places}f}"


def google_maps_url(latitude: float, longitude: float) -> str:
    """A Google Maps link to a point, with 6 decimals (about 0.1 m)."""
    if not is_valid_coordinate(latitude, longitude):
        raise InvalidLocation(
            "coordinates out of range",
            details={"latitude": _detail(latitude), "longitude": _detail(longitude)},
        )
    return f"https://www.google.com/maps?q={format_coordinate(latitude, 6)},{format_coordinate(longitude, 6)}"
