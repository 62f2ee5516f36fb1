"""Deterministic synthetic detections for the YOLO stand-in — a TEST DOUBLE, NOT the YOLO model.

Detections are derived from the decoded pixels only (sha256 of a 32x32 RGB thumbnail plus the
size), so the same image always gets the same answer, and adding or changing EXIF does not move them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import random
from dataclasses import dataclass
from typing import Any

import pillow_heif
from PIL import Image, ImageDraw, ImageOps

from yolo_standin.exif import NO_CAMERA, NO_LOCATION, extract_camera, extract_location, read_exif
from yolo_standin.profiles import DEFAULT, ORIGINAL, fragmented, mask_grid_area
from yolo_standin.risk import assess_risk, class_info

pillow_heif.register_heif_opener()

# Extensions accepted by the real service (the shared supported set plus legacy ones).
SUPPORTED_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".tiff", ".tif", ".bmp", ".heic", ".heif", ".webp", ".avif", ".dng", ".raw"}
    | {".gif", ".ico", ".svg"}
)
# Content types the real service's libmagic check lets through, as Pillow names them (MPO is a JPEG).
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "TIFF", "WEBP", "HEIF", "BMP"})
MAX_BASE64_IMAGE_CHARS = 5 * 1024 * 1024
JPEG_QUALITIES = (95, 85, 75, 65, 55, 45, 35, 30)
MAX_CANDIDATES = 6
UNKNOWN_CLASS_ID = 4
UNKNOWN_CLASS_CHANCE = 0.02  # rare, only to exercise the client's `Clase_<id>` path


class ImageRejected(ValueError):
    """The upload is not an image the service accepts (answered with HTTP 400)."""


@dataclass(frozen=True)
class DecodedImage:
    """An upload decoded to RGB with EXIF orientation applied, plus its raw EXIF."""

    rgb: Image.Image
    exif: Image.Exif | None
    format: str


def decode(data: bytes) -> DecodedImage:
    """Open the bytes with Pillow (HEIF included); raise ImageRejected when that is impossible."""
    try:
        with Image.open(io.BytesIO(data)) as raw:
            fmt = raw.format or "unknown"
            if fmt not in ACCEPTED_FORMATS:
                raise ImageRejected(f"Image processing failed: unsupported image type {fmt}")
            exif = read_exif(raw)
            raw.load()
            try:
                oriented = ImageOps.exif_transpose(raw)
            except Exception:
                # A broken Orientation tag must not fail the request; the real service ignores it too.
                oriented = raw.copy()
            rgb = oriented.convert("RGB")
    except ImageRejected:
        raise
    except Exception as exc:
        raise ImageRejected(f"Image processing failed: {exc}") from exc
    return DecodedImage(rgb=rgb, exif=exif, format=fmt)


def image_seed(rgb: Image.Image) -> int:
    """A seed that depends only on the decoded pixels and the size."""
    thumb = rgb.resize((32, 32), Image.Resampling.BOX)
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode() + thumb.tobytes()).digest()
    return int.from_bytes(digest[:8], "big")


def shoelace_area(polygon: list[list[float]]) -> float:
    """Area of a simple polygon given as [[x, y], ...]."""
    twice = 0.0
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2.0


def _polygon(rng: random.Random, width: int, height: int, exact: bool = False) -> list[list[float]]:
    cx = rng.uniform(0.1, 0.9) * width
    cy = rng.uniform(0.1, 0.9) * height
    # The largest radius that keeps every vertex inside the image.
    room = min(cx, width - cx, cy, height - cy) * 0.95
    radius = room * rng.uniform(0.3, 1.0)
    vertices = rng.randint(5, 12)
    rotation = rng.uniform(0.0, 2 * math.pi)
    step = 2 * math.pi / vertices
    points = []
    for i in range(vertices):
        angle = rotation + i * step + rng.uniform(-0.3, 0.3) * step
        r = radius * rng.uniform(0.7, 1.0)
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        if not exact:
            x, y = round(x, 2), round(y, 2)
        x, y = min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))
        points.append([x, y])
    return points


def candidate_detections(seed: int, width: int, height: int, profile: str = DEFAULT) -> list[dict[str, Any]]:
    """All synthetic detections of an image before the confidence filter.

    Both profiles draw the same classes and shapes; `original` keeps the floats unrounded, fragments the
    polygon and gives mask_area in the model's mask-grid pixels (yolo_standin.profiles).
    """
    original = profile == ORIGINAL
    rng = random.Random(seed)
    found = []
    for _ in range(rng.randint(0, MAX_CANDIDATES)):
        unknown = rng.random() < UNKNOWN_CLASS_CHANCE
        class_id = UNKNOWN_CLASS_ID if unknown else rng.randrange(4)
        confidence = rng.uniform(0.3, 0.99)
        polygon = _polygon(rng, width, height, exact=original)
        name, risk_level, _ = class_info(class_id)
        if original:
            mask_area = mask_grid_area(shoelace_area(polygon), width, height)
            polygon = fragmented(polygon)
        else:
            confidence = round(confidence, 4)
            mask_area = round(shoelace_area(polygon), 1)
        found.append(
            {
                "class_name": name,
                "class_id": class_id,
                "confidence": confidence,
                "risk_level": risk_level,
                "breeding_site_type": name,
                "polygon": polygon,
                "mask_area": mask_area,
            }
        )
    return found


def detect(rgb: Image.Image, threshold: float, profile: str = DEFAULT) -> list[dict[str, Any]]:
    """The detections the stand-in reports for an image at a confidence threshold."""
    candidates = candidate_detections(image_seed(rgb), rgb.width, rgb.height, profile)
    return [d for d in candidates if d["confidence"] >= threshold]


def annotate(rgb: Image.Image, detections: list[dict[str, Any]]) -> str | None:
    """Raw base64 JPEG with each polygon filled at 30 % and outlined (width 3) in its class colour."""
    overlay = rgb.copy()
    fill = ImageDraw.Draw(overlay)
    for det in detections:
        fill.polygon([tuple(p) for p in det["polygon"]], fill=class_info(det["class_id"])[2])
    # Like cv2.addWeighted(overlay, 0.3, image, 0.7): untouched pixels stay exactly as they were.
    drawn = Image.blend(rgb, overlay, 0.3)
    outline = ImageDraw.Draw(drawn)
    for det in detections:
        outline.polygon([tuple(p) for p in det["polygon"]], outline=class_info(det["class_id"])[2], width=3)
    for quality in JPEG_QUALITIES:
        buffer = io.BytesIO()
        drawn.save(buffer, format="JPEG", quality=quality)
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        if len(encoded) <= MAX_BASE64_IMAGE_CHARS:
            return encoded
    return None


def analyse(data: bytes, threshold: float, include_gps: bool, profile: str = DEFAULT) -> dict[str, Any]:
    """Everything of a /detect answer that depends on the image (blocking; run it in a thread)."""
    decoded = decode(data)
    detections = detect(decoded.rgb, threshold, profile)
    location = camera = None
    if include_gps:
        location, camera = dict(NO_LOCATION), dict(NO_CAMERA)
        if decoded.exif is not None:
            location = extract_location(decoded.exif, original=profile == ORIGINAL)
            camera = extract_camera(decoded.exif)
    return {
        "detections": detections,
        "total_detections": len(detections),
        "risk_assessment": assess_risk(detections),
        "location": location,
        "camera_info": camera,
        "processed_image_base64": annotate(decoded.rgb, detections),
    }


def synthetic_image(index: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A distinct, reproducible RGB test picture for each index (for tests and demos)."""
    rng = random.Random(f"yolo-standin-image-{index}")
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 6)):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = rng.randint(x0, size[0]), rng.randint(y0, size[1])
        draw.rectangle([x0, y0, x1, y1], fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def encode(image: Image.Image, fmt: str = "PNG", **save_args: Any) -> bytes:
    """Image -> bytes in a Pillow format ("PNG", "JPEG", "WEBP", "HEIF", ...)."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def image_with_class(
    class_id: int,
    threshold: float = 0.5,
    size: tuple[int, int] = (160, 120),
    fmt: str = "PNG",
    tries: int = 5000,
    profile: str = DEFAULT,
) -> bytes:
    """Encoded image bytes for which the stand-in reports at least one detection of `class_id`."""
    for index in range(tries):
        data = encode(synthetic_image(index, size), fmt)
        if any(d["class_id"] == class_id for d in detect(decode(data).rgb, threshold, profile)):
            return data
    raise LookupError(f"no synthetic image within {tries} tries yields class {class_id}")


def image_without_detections(threshold: float = 0.5, size: tuple[int, int] = (160, 120), fmt: str = "PNG") -> bytes:
    """Encoded image bytes for which the stand-in reports no detection at all."""
    for index in range(5000):
        data = encode(synthetic_image(index, size), fmt)
        if not detect(decode(data).rgb, threshold):
            return data
    raise LookupError("no synthetic image without detections found")
