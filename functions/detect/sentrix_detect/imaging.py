"""Image checks and normalisation: content type, size, dimensions (before decoding), one decode, one encode.

The original object stays untouched in incoming/; YOLO gets a normalised JPEG: RGB, EXIF orientation
applied, reduced by a whole factor (JPEG: inside the decoder with `draft`, so a 12 MP photo is never
decoded at full size), with a clean EXIF block (camera, DateTimeOriginal and, if allowed, GPS).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

from sentrix.domain.filetypes import ALLOWED, ImageType, sniff
from sentrix.errors import InvalidImage
from sentrix_detect.duplicates import dhash
from sentrix_detect.exif import ExifFacts, clean_exif_bytes, read_exif

# Pillow format names a sniffed type may open as (a phone JPEG with a depth map opens as MPO).
_PILLOW_FORMATS = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "webp": ("WEBP",),
    "tiff": ("TIFF",),
    "bmp": ("BMP", "DIB"),
    "heic": ("HEIF",),
    "heif": ("HEIF",),
}
_ACCEPTED = ", ".join(sorted({t.name.upper() for t in ALLOWED}))
_JPEG_SCALES = (8, 4, 2, 1)
# Image.reduce() works on these modes; others (P, 1, I;16) are converted first.
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "RGBa", "CMYK", "I", "F", "La"}


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_side: int
    min_side: int
    yolo_min_side: int
    jpeg_quality: int = 90


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """An upload that passed every check, with the JPEG to send to YOLO."""

    image_type: ImageType
    width: int  # of the original, after EXIF orientation
    height: int
    exif: ExifFacts
    jpeg: bytes
    sent_size: tuple[int, int]  # width, height of `jpeg`
    perceptual_hash: int
    hash_reliable: bool
    preview: Any  # the RGB Pillow image encoded into `jpeg` (to draw masks on if YOLO sends none)


@functools.cache
def _pillow() -> Any:
    """Pillow with the HEIF opener registered, imported on first use only (cold start)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    return Image


def _why(exc: BaseException) -> str:
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


def _check_dimensions(width: int, height: int, limits: ImageLimits) -> None:
    if width < limits.min_side or height < limits.min_side:
        raise InvalidImage(f"The image is {width}x{height} pixels; each side must be at least {limits.min_side}.")
    if width > limits.max_side or height > limits.max_side:
        raise InvalidImage(f"The image is {width}x{height} pixels; no side may exceed {limits.max_side}.")
    if width * height > limits.max_pixels:
        raise InvalidImage(
            f"The image declares {width * height} pixels, over the limit of {limits.max_pixels} "
            "(decompression bomb protection)."
        )


def _reduction(width: int, height: int, limits: ImageLimits) -> int:
    """The largest whole factor that keeps the long side at or above `yolo_min_side` (1 = full size)."""
    return max(1, max(width, height) // limits.yolo_min_side)


def _to_rgb(image: Any, Image: Any) -> Any:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greys: scale to 8 bits instead of letting convert() clip everything above 255 to white.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif mode == "F":
        image = image.convert("L")
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent parts become white, as a viewer shows them, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270"}
_TRANSPOSE |= {7: "TRANSVERSE", 8: "ROTATE_90"}


def _decode_reduced(opened: Any, image_type: ImageType, factor: int, Image: Any) -> Any:
    """Decode once, reduced by `factor` (JPEG: in the decoder), and return an RGB image."""
    width, height = opened.size
    if image_type.name == "jpeg" and factor > 1:
        scale = next(s for s in _JPEG_SCALES if s <= factor)
        opened.draft(None, (max(1, width // scale), max(1, height // scale)))
        # What the decoder could not do (e.g. a factor of 3) is finished below with reduce().
        factor = max(1, factor // scale)
    opened.load()
    image = opened
    if factor > 1 and image.mode not in _REDUCIBLE:
        image = _to_rgb(image, Image)
    if factor > 1:
        image = image.reduce(factor)
    return _to_rgb(image, Image)


def prepare_image(data: bytes, limits: ImageLimits, *, keep_gps: bool) -> PreparedImage:
    """Check an upload and build the JPEG YOLO gets; InvalidImage (a permanent failure) when it is not usable."""
    image_type = check_type_and_size(data, limits)
    Image = _pillow()
    try:
        opened = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[image_type.name])
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (at twice its default limit) fires while reading the header, before ours.
        raise InvalidImage(
            f"The image declares more than {limits.max_pixels} pixels (decompression bomb protection)."
        ) from exc
    except Exception as exc:
        raise InvalidImage(f"The file looks like {image_type.name.upper()} but cannot be read ({_why(exc)}).") from exc
    # Not closed with `with`: closing a Pillow image frees its pixels, and `rgb` may be that very image.
    try:
        # Header only so far: the dimensions are checked before a single pixel is decoded.
        width, height = opened.size
        _check_dimensions(width, height, limits)
        rgb = _decode_reduced(opened, image_type, _reduction(width, height, limits), Image)
        # EXIF only after the decode: PNG's getexif() decodes the image itself (and a failure there, swallowed,
        # would leave a half-decoded image that a second load() accepts), and TIFF applies the orientation
        # while decoding and then drops the tag.
        exif = read_exif(opened)
    except InvalidImage:
        raise
    except MemoryError as exc:
        raise InvalidImage("The image is too large to decode.") from exc
    except Exception as exc:
        raise InvalidImage(f"The image is corrupt or truncated and cannot be decoded ({_why(exc)}).") from exc
    if exif.orientation in _TRANSPOSE:
        rgb = rgb.transpose(getattr(Image.Transpose, _TRANSPOSE[exif.orientation]))
        if exif.orientation >= 5:
            width, height = height, width
    perceptual_hash, reliable = dhash(rgb)
    buffer = io.BytesIO()
    extra = {}
    exif_bytes = clean_exif_bytes(exif, keep_gps=keep_gps)
    if exif_bytes:
        extra["exif"] = exif_bytes
    rgb.save(buffer, format="JPEG", quality=limits.jpeg_quality, **extra)
    return PreparedImage(
        image_type=image_type,
        width=width,
        height=height,
        exif=exif,
        jpeg=buffer.getvalue(),
        sent_size=rgb.size,
        perceptual_hash=perceptual_hash,
        hash_reliable=reliable,
        preview=rgb,
    )
