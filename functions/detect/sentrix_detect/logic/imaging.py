"""Image checks and normalisation: content type, size, dimensions (before decoding), one decode, one encode.

The upload is read as received (privacy.py decides what the stored original keeps); YOLO gets a normalised
JPEG: RGB, EXIF orientation applied, reduced by a whole factor (JPEG: inside the decoder with `draft`, so a
12 MP photo is never decoded at full size), with a clean EXIF block (camera, DateTimeOriginal and, if
allowed, GPS).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from sentrix.domain.filetypes import ImageType
from sentrix.errors import InvalidImage
from sentrix.image_checks import ImageLimits, check_type_and_size, open_checked, pillow, why
from sentrix_detect.logic.duplicates import dhash
from sentrix_detect.logic.exif import ExifFacts, clean_exif_bytes, read_exif

__all__ = ["ImageLimits", "PreparedImage", "check_type_and_size", "prepare_image"]

_JPEG_SCALES = (8, 4, 2, 1)
# Image.reduce() works on these modes; others (P, 1, I;16) are converted first.
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "RGBa", "CMYK", "I", "F", "La"}


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
    # Sniffed, size-checked and opened, header only: the dimensions are checked before a pixel is decoded.
    image_type, opened = open_checked(data, limits)
    Image = pillow()
    width, height = opened.size
    # Not closed with `with`: closing a Pillow image frees its pixels, and `rgb` may be that very image.
    try:
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
        raise InvalidImage(f"The image is corrupt or truncated and cannot be decoded ({why(exc)}).") from exc
    if exif.orientation in _TRANSPOSE:
        rgb = rgb.transpose(getattr(Image.Transpose, _TRANSPOSE[exif.orientation]))
        if exif.orientation >= 5:
            width, height = height, width
    # The upload's metadata (EXIF, XMP…) must not ride along on a later save of these pixels (the JPEG for
    # YOLO, the annotated image we draw): only the clean EXIF block below is written.
    rgb.info = {}
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
