"""The checks every image passes before a pixel is decoded: content type, size, dimensions, decompression bombs.

Shared by detect (every upload) and the upload function's anonymous preview, so both refuse exactly the same
files for the same reasons. Pillow and pillow-heif come from the imaging layer (only those two functions
attach it) and are imported on first use, not at import time.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

from sentrix.domain.filetypes import ALLOWED, ImageType, sniff
from sentrix.errors import InvalidImage

DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_SIDE = 20_000
DEFAULT_MIN_SIDE = 32

# Pillow format names a sniffed type may open as (a phone JPEG with a depth map opens as MPO).
PILLOW_FORMATS = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "webp": ("WEBP",),
    "tiff": ("TIFF",),
    "bmp": ("BMP", "DIB"),
    "heic": ("HEIF",),
    "heif": ("HEIF",),
}
_ACCEPTED = ", ".join(sorted({t.name.upper() for t in ALLOWED}))


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int = DEFAULT_MAX_SIDE
    min_side: int = DEFAULT_MIN_SIDE
    yolo_min_side: int = 1600
    jpeg_quality: int = 90


@functools.cache
def pillow() -> Any:
    """Pillow with the HEIF opener registered, imported on first use only (cold start)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    return Image


def why(exc: BaseException) -> str:
    """A short, single-line reason from an exception (its type and at most 160 characters)."""
    detail = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def check_type_and_size(data: bytes, limits: ImageLimits) -> ImageType:
    """The sniffed type of `data`; InvalidImage for empty, oversized or unsupported content."""
    if not data:
        raise InvalidImage("The uploaded file is empty.")
    if len(data) > limits.max_bytes:
        raise InvalidImage(
            f"The uploaded file is {len(data)} bytes, over the limit of {limits.max_bytes} bytes "
            f"({limits.max_bytes // (1024 * 1024)} MB)."
        )
    image_type = sniff(data[:64])
    if image_type is None:
        raise InvalidImage(f"The uploaded file is not a supported image (accepted: {_ACCEPTED}).")
    return image_type


def check_dimensions(width: int, height: int, limits: ImageLimits) -> None:
    """InvalidImage when a side is too small or too large, or the pixel count is a decompression bomb."""
    if width < limits.min_side or height < limits.min_side:
        raise InvalidImage(f"The image is {width}x{height} pixels; each side must be at least {limits.min_side}.")
    if width > limits.max_side or height > limits.max_side:
        raise InvalidImage(f"The image is {width}x{height} pixels; no side may exceed {limits.max_side}.")
    if width * height > limits.max_pixels:
        raise InvalidImage(
            f"The image declares {width * height} pixels, over the limit of {limits.max_pixels} "
            "(decompression bomb protection)."
        )


def open_checked(data: bytes, limits: ImageLimits) -> tuple[ImageType, Any]:
    """Sniff, size-check and open `data` (header only), with its dimensions checked; nothing decoded yet."""
    image_type = check_type_and_size(data, limits)
    Image = pillow()
    try:
        opened = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS[image_type.name])
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (at twice its default limit) fires while reading the header, before ours.
        raise InvalidImage(
            f"The image declares more than {limits.max_pixels} pixels (decompression bomb protection)."
        ) from exc
    except Exception as exc:
        raise InvalidImage(f"The file looks like {image_type.name.upper()} but cannot be read ({why(exc)}).") from exc
    width, height = opened.size
    try:
        check_dimensions(width, height, limits)
    except InvalidImage:
        opened.close()
        raise
    return image_type, opened


def check_image(data: bytes, limits: ImageLimits) -> ImageType:
    """The type of an acceptable image, from its content and header alone (the preview's gate before YOLO)."""
    image_type, opened = open_checked(data, limits)
    opened.close()
    return image_type
