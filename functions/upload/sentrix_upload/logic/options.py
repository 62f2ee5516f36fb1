"""Upload options resolved: the request's values, else the user's settings, else the defaults."""

from __future__ import annotations

from dataclasses import dataclass

from sentrix.domain import filetypes
from sentrix.domain.filetypes import ImageType
from sentrix.domain.location import resolve_location
from sentrix_upload.logic.errors import UnsupportedMediaType
from sentrix_upload.logic.preferences import Preferences
from sentrix_upload.schemas.intake import UploadOptions

_BY_EXTENSION: dict[str, ImageType] = {
    "jpg": filetypes.JPEG,
    "jpeg": filetypes.JPEG,
    "jpe": filetypes.JPEG,
    "png": filetypes.PNG,
    "webp": filetypes.WEBP,
    "tif": filetypes.TIFF,
    "tiff": filetypes.TIFF,
    "bmp": filetypes.BMP,
    "heic": filetypes.HEIC,
    "heif": filetypes.HEIF,
}
ACCEPTED = sorted(filetypes.ALLOWED_CONTENT_TYPES)


@dataclass(frozen=True, slots=True)
class ResolvedOptions:
    confidence_threshold: float
    include_gps: bool
    latitude: float | None
    longitude: float | None


def check_location(options: UploadOptions) -> None:
    """Both coordinates or neither, in range (0 is a valid value); InvalidLocation (422) otherwise."""
    resolve_location(options.latitude, options.longitude, None)


def resolve_options(options: UploadOptions, preferences: Preferences, default_threshold: float) -> ResolvedOptions:
    """The options an analysis is created with."""
    check_location(options)
    threshold = options.confidence_threshold
    if threshold is None:
        threshold = preferences.confidence_threshold or default_threshold
    include_gps = options.include_gps
    if include_gps is None:
        include_gps = preferences.include_gps if preferences.include_gps is not None else True
    return ResolvedOptions(threshold, include_gps, options.latitude, options.longitude)


def declared_image_type(filename: str, content_type: str | None) -> ImageType:
    """The accepted type a presigned upload announces (its content type, else its extension), or 415."""
    if content_type:
        image_type = filetypes.by_content_type(content_type)
        if image_type is None:
            raise UnsupportedMediaType(
                key="err.content_type_refused", details={"accepted": ACCEPTED}, content_type=repr(content_type)
            )
        return image_type
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    image_type = _BY_EXTENSION.get(extension)
    if image_type is None:
        raise UnsupportedMediaType(key="err.content_type_missing", details={"accepted": ACCEPTED})
    return image_type
