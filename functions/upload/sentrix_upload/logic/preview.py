"""The landing page's anonymous preview: one small photo through YOLO, nothing stored, a few per minute per IP."""

from __future__ import annotations

import base64
import math
import uuid
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from sentrix.db.engine import session_scope
from sentrix.domain.classes import class_info
from sentrix.domain.location import LocationSource, is_valid_coordinate
from sentrix.domain.risk import assess_risk
from sentrix.errors import DetectorRejected
from sentrix.i18n import t
from sentrix.image_checks import ImageLimits, check_image
from sentrix.observability import logger, metrics
from sentrix_upload.logic import quota
from sentrix_upload.logic.intake import IncomingFile, checked_image
from sentrix_upload.logic.options import check_location
from sentrix_upload.logic.views import location_view
from sentrix_upload.schemas.intake import UploadOptions
from sentrix_upload.settings import UploadSettings

if TYPE_CHECKING:
    from sentrix.adapters.yolo import YoloClient, YoloResult


# Vertices of all outlines of one preview together (docs/upload.md, *Large analyses*): about 17 bytes each
# in JSON, so outlines take at most ~200 kB whatever the host sends; each detection gets an equal share, at
# most 256 (sentrix.shapes) and at least 4. Beyond VERTEX_BUDGET / 4 detections the least confident ones are
# answered without an outline (their box and area stay).
VERTEX_BUDGET = 12_000
MIN_SHARE = 4


def _detections(result: YoloResult) -> list[dict[str, Any]]:
    from sentrix.shapes import MAX_VERTICES, clean_polygon  # shapely loads only for the (rare) preview

    share = max(MIN_SHARE, min(MAX_VERTICES, VERTEX_BUDGET // max(1, len(result.detections))))
    outlined = VERTEX_BUDGET // MIN_SHARE
    ranked = sorted(range(len(result.detections)), key=lambda i: -result.detections[i].confidence)
    with_outline = set(ranked[:outlined])
    found = []
    for index, d in enumerate(result.detections):
        # The polygon is in the pixels of the photo as sent, which is the photo itself: nothing to scale.
        shape = clean_polygon(d.polygon, bounds=(math.inf, math.inf), max_vertices=share)
        # Our class table decides the name, type and risk; YOLO's own labels are not trusted blindly.
        info = class_info(d.class_id)
        box = None if shape is None else dict(zip(("x_min", "y_min", "x_max", "y_max"), shape.bbox, strict=True))
        area = None if shape is None else shape.area
        found.append(
            {
                "class_id": d.class_id,
                "class_name": info.class_name,
                "breeding_site_type": info.breeding_site_type,
                "confidence": d.confidence,
                "risk_level": info.risk_level,
                "polygon": shape.outline if shape is not None and index in with_outline else [],
                "bbox": box,
                "area_square_pixels": area,
                "mask_area": area,
                "mask_area_model_px": d.mask_area,
            }
        )
    return found


def _location(options: UploadOptions, result: YoloResult) -> dict[str, Any]:
    if options.latitude is not None and options.longitude is not None:
        return location_view(options.latitude, options.longitude, LocationSource.MANUAL, None)
    exif = result.location or {}
    lat, lon = exif.get("latitude"), exif.get("longitude")
    # An out-of-range EXIF point comes from the photo, not the user: it is no point at all, not an error.
    if exif.get("has_location") and is_valid_coordinate(lat, lon):
        return location_view(float(lat), float(lon), LocationSource.EXIF_GPS, exif.get("altitude_meters"))
    return location_view(None, None, None, None)


def preview(
    ip: str,
    file: IncomingFile,
    options: UploadOptions,
    settings: UploadSettings,
    *,
    language: str = "es",
    request_id: str | None = None,
    client: YoloClient | None = None,
) -> dict[str, Any]:
    """Detections, risk and the annotated image for one photo; the photo and the answer are not kept."""
    with session_scope() as session:
        quota.count_preview(session, ip, settings)
    checked_image(file)
    check_location(options)
    # The same checks detect makes (content, dimensions, pixel count, Pillow's bomb guard), before YOLO sees
    # a byte: a 900-megapixel PNG fits in a few kilobytes and would otherwise be decoded on the YOLO host.
    image_type = check_image(file.data, ImageLimits(max_bytes=settings.multipart_max_bytes))
    threshold = options.confidence_threshold or settings.default_confidence_threshold
    include_gps = True if options.include_gps is None else options.include_gps
    if client is None:
        # Imported here: httpx, tenacity and pybreaker only load for the (rare) preview, not every cold start.
        from sentrix.adapters.yolo import get_yolo_client

        client = get_yolo_client()
    try:
        result = client.detect(
            file.data,
            f"preview.{image_type.extension}",
            confidence_threshold=threshold,
            include_gps=include_gps,
            request_id=request_id,
        )
    except DetectorRejected as exc:
        # The detector's own words (English, its internals) go to the log; an anonymous caller gets ours.
        logger.info("preview refused by the detector", extra={"detector_said": exc.message})
        raise DetectorRejected(t("error.detector_rejected", language), key="error.detector_rejected") from exc
    metrics.add_metric(name="PreviewsServed", unit=MetricUnit.Count, value=1)
    detections = _detections(result)
    risk = assess_risk([d["class_name"] for d in detections], language=language).to_contract()
    image = result.processed_image
    return {
        "id": uuid.uuid4(),
        "stored": False,
        "detections": detections,
        "total_detections": len(detections),
        "risk_level": risk["level"],
        "risk_assessment": risk,
        "processed_image_url": f"data:image/jpeg;base64,{base64.b64encode(image).decode()}" if image else None,
        "location": _location(options, result),
        "camera_info": result.camera_info,
        "processing_time_ms": result.processing_time_ms,
        "model_used": result.model_used,
        "confidence_threshold": threshold,
        "message": t("preview.complete", language),
    }
