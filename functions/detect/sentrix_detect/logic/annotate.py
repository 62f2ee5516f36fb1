"""Draw the detections on the image ourselves when YOLO sends no annotated image (same look as YOLO's)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

# Outline/fill colour per class id (RGB); unknown classes are grey.
CLASS_COLOURS = {0: (230, 25, 75), 1: (245, 130, 48), 2: (0, 130, 200), 3: (145, 30, 180)}
UNKNOWN_COLOUR = (128, 128, 128)
FILL_OPACITY = 0.3
OUTLINE_WIDTH = 3


def draw_detections(image: Any, detections: Iterable[Any], *, quality: int = 90) -> bytes:
    """A JPEG of `image` with each polygon filled at 30 % and outlined in its class colour.

    `detections` carry `class_id` and `polygon` in `image`'s pixel coordinates (what YOLO was sent).
    """
    from PIL import Image, ImageDraw

    shapes = [(d.class_id, [tuple(point) for point in d.polygon]) for d in detections if len(d.polygon) >= 2]
    drawn = image
    if shapes:
        overlay = image.copy()
        fill = ImageDraw.Draw(overlay)
        for class_id, points in shapes:
            fill.polygon(points, fill=CLASS_COLOURS.get(class_id, UNKNOWN_COLOUR))
        drawn = Image.blend(image, overlay, FILL_OPACITY)
        outline = ImageDraw.Draw(drawn)
        for class_id, points in shapes:
            outline.polygon(points, outline=CLASS_COLOURS.get(class_id, UNKNOWN_COLOUR), width=OUTLINE_WIDTH)
    buffer = io.BytesIO()
    drawn.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def is_jpeg(data: bytes | None) -> bool:
    """True when `data` starts like a JPEG (YOLO's annotated image is stored only if it is one)."""
    return bool(data) and data.startswith(b"\xff\xd8\xff")
