"""Standardized image names (DESIGN §4) and filenames that are safe inside S3 keys."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime

from sentrix.domain.location import format_coordinate, is_valid_coordinate

UNKNOWN_DEVICE = "UNKNOWN"
NO_LOCATION_CODE = "NOLOC"
DEVICE_CODE_MAX = 20
FALLBACK_FILENAME = "image"
MIN_FILENAME_LENGTH = 16
_MAX_EXTENSION = 10

_NOT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_REPEATED_SEPARATORS = re.compile(r"([._-])[._-]+")
_EDGE_SEPARATORS = "._-"


def _ascii(text: str) -> str:
    """Text with accents stripped and anything that has no ASCII form dropped ("Cámara" -> "Camara")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def _code(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", _ascii(text or "").upper())


def device_code(make: str | None, model: str | None) -> str:
    """Short A-Z0-9 camera code from EXIF make/model ("iPhone 13 Pro" -> IPHONE13PRO), else UNKNOWN."""
    code = _code(model)
    # Samsung reports "Galaxy S21" as well as "SAMSUNG Galaxy S21"; the Galaxy name is what people know.
    galaxy = code.find("GALAXY")
    if galaxy > 0:
        code = code[galaxy:]
    code = code or _code(make)
    return code[:DEVICE_CODE_MAX] or UNKNOWN_DEVICE


def location_code(latitude: float | None, longitude: float | None) -> str:
    """`LATn26p808_LONn65p218` style code (3 decimals, `.`->`p`, `-`->`n`), or NOLOC without a point."""
    if latitude is None or longitude is None or not is_valid_coordinate(latitude, longitude):
        return NO_LOCATION_CODE

    def part(value: float) -> str:
        return format_coordinate(value, 3).replace(".", "p").replace("-", "n")

    return f"LAT{part(latitude)}_LON{part(longitude)}"


def standardized_name(
    *,
    analysis_id: str | uuid.UUID,
    taken_at: datetime | None,
    fallback_time: datetime,
    camera_make: str | None,
    camera_model: str | None,
    latitude: float | None,
    longitude: float | None,
) -> str:
    """`SENTRIX_<yyyymmdd>_<hhmmss>_<DEVICE>_<LOC>_<id8>.jpg` for an analysis."""
    moment = taken_at or fallback_time
    # Aware times are written in UTC; a naive EXIF time is the camera's local clock and is kept as is.
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(UTC)
    id8 = uuid.UUID(str(analysis_id)).hex[:8]
    device = device_code(camera_make, camera_model)
    loc = location_code(latitude, longitude)
    # %Y is not zero-padded for years before 1000 on every platform, so the date is built by hand.
    date = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
    return f"SENTRIX_{date}_{moment:%H%M%S}_{device}_{loc}_{id8}.jpg"


def _clean(text: str) -> str:
    """Only [A-Za-z0-9._-], no runs of separators (so never ".."), no separator at either end."""
    text = _NOT_SAFE.sub("_", text)
    text = _REPEATED_SEPARATORS.sub(lambda m: "." if "." in m.group(0) else m.group(1), text)
    return text.strip(_EDGE_SEPARATORS)


def sanitize_filename(name: str, *, max_length: int = 100) -> str:
    """A client-supplied filename made safe for an S3 key: last path part, ASCII-safe, bounded, non-empty.

    Idempotent: cleaning can expose an extension ("0.A." loses its trailing dot and becomes "0.A", whose "A"
    is then an extension to lower-case), so the rules run until the name no longer changes (twice at most in
    practice; the bound only guards the loop)."""
    if max_length < MIN_FILENAME_LENGTH:
        raise ValueError(f"max_length must be at least {MIN_FILENAME_LENGTH}")
    clean = _sanitize_once(str(name), max_length)
    for _ in range(4):
        again = _sanitize_once(clean, max_length)
        if again == clean:
            break
        clean = again
    return clean


def _sanitize_once(name: str, max_length: int) -> str:
    text = unicodedata.normalize("NFKC", name)
    # Control and format characters (NUL, RTL override, zero-width) are dropped, not replaced: they hide.
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    text = re.split(r"[/\\]", text)[-1]
    text = _ascii(text)
    stem, dot, extension = text.rpartition(".")
    extension = _clean(extension).lower()
    if not dot or not extension.isalnum() or len(extension) > _MAX_EXTENSION:
        stem, extension = text, ""
    stem = _clean(stem)
    suffix = f".{extension}" if extension else ""
    stem = stem[: max_length - len(suffix)].rstrip(_EDGE_SEPARATORS) or FALLBACK_FILENAME
    return stem + suffix
