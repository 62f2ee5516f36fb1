"""From YOLO's answer to what is stored: detections in original pixels, validity, risk and the image name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sentrix.adapters.yolo import YoloDetection
from sentrix.domain.classes import class_info
from sentrix.domain.validity import expires_at, is_weather_dependent, persistence_for, validity_days
from sentrix_detect.logic.model import DetectionRecord


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
    # shapely and numpy (~90 ms) load with the first answer that has detections, as PIL loads with the first
    # image: not at the function's cold start (issue 21), and not at all for a batch of empty photos.
    from sentrix.shapes import clean_polygon

    width, height = original_size
    scale_x = width / sent_size[0]
    scale_y = height / sent_size[1]
    records = []
    for detection in detections:
        # Points to the original's pixels, repeats dropped, made valid, simplified (docs/detect.md, *Shapes*).
        shape = clean_polygon(detection.polygon, scale=(scale_x, scale_y), bounds=(width, height))
        if shape is None:
            # Ultralytics gives an empty contour for masks too small to trace: nothing to place or box.
            continue
        info = class_info(detection.class_id)
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
                polygon=shape.outline,
                bbox=shape.bbox,
                # Our area, from the outline; the host's figure is kept as sent, its unit is the host's (the
                # original service counts pixels of its model's ~640 px mask grid, not of any image).
                mask_area=shape.area,
                shape_wkt=shape.wkt,
                mask_area_model_px=detection.mask_area,
                persistence_type=persistence,
                is_weather_dependent=is_weather_dependent(persistence),
                validity_days=days,
                expires_at=expires_at(detected_at, days),
            )
        )
    return tuple(records)
