"""Profiles of the YOLO stand-in (a TEST DOUBLE): `default`, and `original`, which answers like the original service.

The original service (FastAPI + ultralytics, DESIGN.md §5) was measured against a model of the real architecture
(issue #17). Where it differs from the tidy answers of the `default` profile, `original` copies it:

- `mask_area` is `mask.data.sum()`: pixels of the model's own mask grid (the letterboxed MODEL_INPUT_SIDE
  input), not of the image it was sent, i.e. the polygon's area times (MODEL_INPUT_SIDE / long side sent)².
- Polygons are mask contours: thousands of points, many of them repeated consecutively. Here each edge of
  the synthetic polygon is resampled densely (fragmented) and every DUPLICATE_EVERY-th point is repeated;
  the shape, and so its area, stays that of the `default` polygon.
- `location.altitude_meters` is always null; confidences, coordinates and areas are unrounded floats.
- slowapi's "10 per 1 minute" per client IP: the 11th /detect of a minute is a bare 429 `{"error": ...}`
  without Retry-After (yolo_standin.ratelimit).
"""

from __future__ import annotations

import math

DEFAULT = "default"
ORIGINAL = "original"
PROFILES = (DEFAULT, ORIGINAL)
MODEL_INPUT_SIDE = 640
ORIGINAL_RATE_LIMIT = 10  # requests per window and client IP, the original's slowapi limit
RATE_WINDOW_S = 60.0
MIN_POINTS_PER_EDGE = 200
POINTS_PER_PIXEL = 2
DUPLICATE_EVERY = 3


def profile_named(raw: str | None) -> str:
    """The profile of YOLO_STANDIN_PROFILE (empty or unset: `default`); ValueError for an unknown name."""
    name = (raw or DEFAULT).strip().lower() or DEFAULT
    if name not in PROFILES:
        raise ValueError(f"YOLO_STANDIN_PROFILE must be one of {', '.join(PROFILES)}, not {raw!r}")
    return name


def mask_grid_area(area_sent_px: float, width: int, height: int) -> float:
    """An area in pixels of the sent image, as pixels of the model's letterboxed mask grid (unrounded)."""
    scale = MODEL_INPUT_SIDE / max(width, height)
    return area_sent_px * scale * scale


def fragmented(polygon: list[list[float]]) -> list[list[float]]:
    """The polygon resampled along its edges like a traced mask contour, with repeated consecutive points."""
    points: list[list[float]] = []
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        steps = max(MIN_POINTS_PER_EDGE, math.ceil(math.hypot(x2 - x1, y2 - y1) * POINTS_PER_PIXEL))
        for k in range(steps):
            t = k / steps
            points.append([x1 + (x2 - x1) * t, y1 + (y2 - y1) * t])
            if len(points) % DUPLICATE_EVERY == 0:
                points.append(list(points[-1]))
    return points
