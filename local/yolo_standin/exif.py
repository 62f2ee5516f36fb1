"""EXIF GPS and camera extraction for the YOLO stand-in (a TEST DOUBLE), shaped like the real service's."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

GPS_IFD = 0x8825
_LAT_REF, _LAT, _LON_REF, _LON, _ALT_REF, _ALT = 1, 2, 3, 4, 5, 6
_MAKE, _MODEL, _SOFTWARE, _DATETIME = 0x010F, 0x0110, 0x0131, 0x0132

NO_LOCATION: dict[str, Any] = {
    "has_location": False,
    "latitude": None,
    "longitude": None,
    "altitude_meters": None,
    "location_source": None,
}
NO_CAMERA: dict[str, Any] = {
    "camera_make": None,
    "camera_model": None,
    "camera_datetime": None,
    "camera_software": None,
}


def _number(value: Any) -> float | None:
    # IFDRational with a zero denominator becomes nan; strings and other junk raise.
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _dms(value: Any, ref: Any, negative: str, positive: str, limit: float) -> float | None:
    ref_text = (_text(ref) or "").upper()
    if ref_text not in (negative, positive):
        return None
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None or p < 0 for p in parts):
        return None
    degrees, minutes, seconds = parts
    decimal = degrees + minutes / 60.0 + seconds / 3600.0  # type: ignore[operator]
    if decimal > limit:
        return None
    return -decimal if ref_text == negative else decimal


def _altitude(gps: Any) -> float | None:
    altitude = _number(gps.get(_ALT))
    if altitude is None:
        return None
    ref = gps.get(_ALT_REF)
    if isinstance(ref, bytes):
        ref = ref[0] if ref else 0
    # GPSAltitudeRef 1 means below sea level.
    return -altitude if ref == 1 else altitude


def _gps_ifd(exif: Image.Exif) -> dict[int, Any]:
    raw = exif.get(GPS_IFD)
    if isinstance(raw, dict):
        # An Exif built in memory holds an assigned GPS dict as is; get_ifd() would try to seek a file.
        return raw
    return exif.get_ifd(GPS_IFD)


def extract_location(exif: Image.Exif, *, original: bool = False) -> dict[str, Any]:
    """The `location` object from the GPS IFD; any unreadable value gives has_location false.

    `original`: as the original service answers it: coordinates unrounded, altitude_meters always null.
    """
    try:
        gps = _gps_ifd(exif)
        latitude = _dms(gps.get(_LAT), gps.get(_LAT_REF), "S", "N", 90.0)
        longitude = _dms(gps.get(_LON), gps.get(_LON_REF), "W", "E", 180.0)
        if latitude is None or longitude is None:
            return dict(NO_LOCATION)
        return {
            "has_location": True,
            "latitude": latitude if original else round(latitude, 7),
            "longitude": longitude if original else round(longitude, 7),
            "altitude_meters": None if original else _altitude(gps),
            "location_source": "EXIF_GPS",
        }
    except Exception:
        # The real service must never fail a detection because of odd EXIF, so neither do we.
        return dict(NO_LOCATION)


def extract_camera(exif: Image.Exif) -> dict[str, Any]:
    """The `camera_info` object from IFD0 (Make, Model, DateTime, Software)."""
    try:
        return {
            "camera_make": _text(exif.get(_MAKE)),
            "camera_model": _text(exif.get(_MODEL)),
            "camera_datetime": _text(exif.get(_DATETIME)),
            "camera_software": _text(exif.get(_SOFTWARE)),
        }
    except Exception:
        return dict(NO_CAMERA)


def read_exif(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF, or None when it is absent or cannot be parsed."""
    try:
        return image.getexif()
    except Exception:
        return None
