"""EXIF facts of an upload (GPS, camera, DateTimeOriginal, orientation), read so that no tag can crash us.

Photos carry whatever their device or a hostile client wrote: rationals with zero denominators, NaN,
strings where numbers belong, missing references. Anything unreadable simply counts as absent.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sentrix.domain.location import GeoPoint

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
MAKE, MODEL, ORIENTATION, DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
DATETIME_ORIGINAL, DATETIME_DIGITIZED, OFFSET_TIME_ORIGINAL = 0x9003, 0x9004, 0x9011
GPS_VERSION, GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT, GPS_STATUS = 0, 1, 2, 3, 4, 5, 6, 9
MAX_TEXT = 100  # camera_make / camera_model columns
MAX_ALTITUDE_M = 100_000.0
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class ExifFacts:
    orientation: int = 1
    camera_make: str | None = None
    camera_model: str | None = None
    taken_at: datetime | None = None
    taken_at_text: str | None = None  # as the camera wrote it, to write it back
    offset_text: str | None = None
    gps: GeoPoint | None = None
    gps_tags: dict[int, Any] | None = None  # the validated GPS tags, to write them back unchanged


NO_EXIF = ExifFacts()


def number(value: Any) -> float | None:
    """A finite float from an EXIF number (IFDRational, int, float), else None."""
    if isinstance(value, bool | str | bytes):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
        return None
    return result if math.isfinite(result) else None


def text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Printable, trimmed text (NULs and control characters dropped), at most `limit` characters."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:limit] or None


def _ref(value: Any) -> str | None:
    cleaned = text(value, 4)
    return cleaned.upper()[:1] if cleaned else None


def _degrees(value: Any, ref: Any, negative: str, positive: str, limit: float) -> float | None:
    """Decimal degrees from a (deg, min, sec) triple and its N/S or E/W reference; None if anything is off."""
    letter = _ref(ref)
    if letter not in (negative, positive):
        return None
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    parts = [number(v) for v in value]
    if any(p is None or p < 0 for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    degrees, minutes, seconds = parts
    if minutes >= 60 or seconds >= 60:  # type: ignore[operator]
        return None
    decimal = degrees + minutes / 60.0 + seconds / 3600.0  # type: ignore[operator]
    if decimal > limit:
        return None
    return -decimal if letter == negative else decimal


def _altitude(gps: dict[int, Any]) -> float | None:
    altitude = number(gps.get(GPS_ALT))
    if altitude is None or abs(altitude) > MAX_ALTITUDE_M:
        return None
    ref = gps.get(GPS_ALT_REF)
    if isinstance(ref, bytes):
        ref = ref[0] if ref else 0
    # GPSAltitudeRef 1 means below sea level.
    return -altitude if ref == 1 else altitude


def read_gps(gps: Any) -> tuple[GeoPoint | None, dict[int, Any] | None]:
    """The point of a GPS IFD and the tags it came from, or (None, None)."""
    if not isinstance(gps, dict) or not gps:
        return None, None
    # GPSStatus "V" means the receiver had no valid fix when the photo was taken.
    if _ref(gps.get(GPS_STATUS)) == "V":
        return None, None
    latitude = _degrees(gps.get(GPS_LAT), gps.get(GPS_LAT_REF), "S", "N", 90.0)
    longitude = _degrees(gps.get(GPS_LON), gps.get(GPS_LON_REF), "W", "E", 180.0)
    if latitude is None or longitude is None:
        return None, None
    altitude = _altitude(gps)
    tags = {tag: gps[tag] for tag in (GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON) if tag in gps}
    if altitude is not None:
        tags[GPS_ALT] = gps[GPS_ALT]
        tags[GPS_ALT_REF] = b"\x01" if altitude < 0 else b"\x00"
    return GeoPoint(latitude, longitude, altitude), tags


def read_taken_at(value: Any, offset: Any) -> tuple[datetime | None, str | None, str | None]:
    """DateTimeOriginal as an aware datetime (its offset when given, else UTC), plus the texts to write back."""
    raw = text(value, 32)
    match = _EXIF_TIME.match(raw or "")
    if not match:
        return None, None, None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    offset_text = text(offset, 8)
    zone = UTC
    offset_match = _OFFSET.match(offset_text or "")
    if offset_match:
        sign = -1 if offset_match.group(1) == "-" else 1
        hours, minutes = int(offset_match.group(2)), int(offset_match.group(3))
        if hours <= 14 and minutes < 60:
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        else:
            offset_text = None
    else:
        offset_text = None
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None, None, None
    if not 1970 <= moment.year <= 2100:
        return None, None, None
    return moment, match.group(0), offset_text


def _sub_ifd(exif: Any, tag: int) -> dict[int, Any]:
    try:
        value = exif.get_ifd(tag)
    except Exception:
        return {}
    return value if isinstance(value, dict) else {}


def _orientation(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8 else 1


def read_exif(image: Any) -> ExifFacts:
    """The EXIF facts of an opened Pillow image; NO_EXIF when it has none or they cannot be parsed at all."""
    try:
        exif = image.getexif()
    except Exception:
        return NO_EXIF
    try:
        orientation = _orientation(exif.get(ORIENTATION, 1))
        details = _sub_ifd(exif, EXIF_IFD)
        original = details.get(DATETIME_ORIGINAL) or details.get(DATETIME_DIGITIZED) or exif.get(DATETIME)
        taken_at, taken_text, offset_text = read_taken_at(original, details.get(OFFSET_TIME_ORIGINAL))
        gps, gps_tags = read_gps(_sub_ifd(exif, GPS_IFD))
        return ExifFacts(
            orientation=orientation,
            camera_make=text(exif.get(MAKE)),
            camera_model=text(exif.get(MODEL)),
            taken_at=taken_at,
            taken_at_text=taken_text,
            offset_text=offset_text,
            gps=gps,
            gps_tags=gps_tags,
        )
    except Exception:
        # A tag layout Pillow half-parses can still raise on access; the photo is fine without it.
        return NO_EXIF


def clean_exif_bytes(facts: ExifFacts, *, keep_gps: bool, keep_orientation: bool = False) -> bytes | None:
    """A fresh EXIF block with only camera, DateTimeOriginal and (if allowed) GPS: nothing hostile passes on.

    `keep_orientation` also writes the Orientation tag, for files whose pixels are stored unrotated.
    """
    from PIL import Image

    exif = Image.Exif()
    if keep_orientation and facts.orientation != 1:
        exif[ORIENTATION] = facts.orientation
    if facts.camera_make:
        exif[MAKE] = facts.camera_make
    if facts.camera_model:
        exif[MODEL] = facts.camera_model
    if facts.taken_at_text:
        exif[DATETIME] = facts.taken_at_text
        details: dict[int, Any] = {DATETIME_ORIGINAL: facts.taken_at_text}
        if facts.offset_text:
            details[OFFSET_TIME_ORIGINAL] = facts.offset_text
        exif[EXIF_IFD] = details
    if keep_gps and facts.gps_tags:
        exif[GPS_IFD] = {GPS_VERSION: b"\x02\x02\x00\x00", **facts.gps_tags}
    if not len(exif):
        return None
    try:
        return exif.tobytes()
    except Exception:
        # Values Pillow read but cannot write back (odd types): better no EXIF than a failed analysis.
        return None
