"""From YOLO's answer to what is stored: detections in original pixels, validity, risk and the image name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sentrix.adapters.yolo import YoloDetection
from sentrix.domain.classes import class_info
from sentrix.domain.validity import expires_at, is_weather_dependent, persistence_for, validity_days
from sentrix_detect.model import DetectionRecord


def scale_polygon(
    polygon: Iterable[tuple[float, float]], scale_x: float, scale_y: float, width: int, height: int
) -> list[list[float]]:
    """Points from the sent image's pixels to the original's, clamped to the image and rounded to 0.01 px."""
    return [
        [round(min(max(x * scale_x, 0.0), float(width)), 2), round(min(max(y * scale_y, 0.0), float(height)), 2)]
        for x, y in polygon
    ]


def bounding_box(polygon: list[list[float]]) -> tuple[float, float, float, float]:
    """x_min, y_min, x_max, y_max of a non-empty polygon (YOLO sends no boxes: they come from the masks)."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def build_detections(
    detections: Iterable[YoloDetection],
    *,
    sent_size: tuple[int, int],
    original_size: tuple[int, int],
    detected_at: datetime,
    latitude: float | None = None,
) -> tuple[DetectionRecord, ...]:
    """Stored detections; names, types and risk come from our class table, not from YOLO's strings.

    Validity counts from `detected_at` (local time: its month is the season's) at the point's `latitude`."""
    width, height = original_size
    scale_x = width / sent_size[0]
    scale_y = height / sent_size[1]
    records = []
    for detection in detections:
        if not detection.polygon:
            # Ultralytics gives an empty contour for masks too small to trace: nothing to place or box.
            continue
        info = class_info(detection.class_id)
        polygon = scale_polygon(detection.polygon, scale_x, scale_y, width, height)
        persistence = persistence_for(info.breeding_site_type or info.class_name)
        days = validity_days(
            persistence, info.risk_level, detection.confidence, detected_at=detected_at, latitude=latitude
        )
        records.append(
            DetectionRecord(
                class_id=info.class_id,
                class_name=info.class_name,
                breeding_site_type=info.breeding_site_type,
                confidence=detection.confidence,
                risk_level=info.risk_level,
                polygon=polygon,
                bbox=bounding_box(polygon),
                # Areas scale with both axes; YOLO measured in the pixels of the image it was sent.
                mask_area=None if detection.mask_area is None else round(detection.mask_area * scale_x * scale_y, 2),
                persistence_type=persistence,
                is_weather_dependent=is_weather_dependent(persistence),
                validity_days=days,
                expires_at=expires_at(detected_at, days),
            )
        )
    return tuple(records)
