"""Records to response documents: analyses, detections, locations, validity (pure, apart from URL signing)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentrix.domain.location import LocationSource, google_maps_url, is_valid_coordinate
from sentrix.domain.risk import analysis_recommendations
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from sentrix.domain.validity import ValidityStatus, validity_of
from sentrix_upload.logic.image_urls import image_url


def status_url(analysis_id: Any) -> str:
    """Where the client polls an analysis."""
    return f"/api/v1/analyses/{analysis_id}"


def maps_url(latitude: float, longitude: float) -> str | None:
    """A Google Maps link, or None for a stored point outside the valid range (PostGIS does not refuse one)."""
    return google_maps_url(latitude, longitude) if is_valid_coordinate(latitude, longitude) else None


def location_view(
    latitude: float | None, longitude: float | None, source: LocationSource | None, altitude: float | None
) -> dict[str, Any]:
    """Where a photo was taken, as the API answers it (`has_location` false without a point)."""
    if latitude is None or longitude is None:
        return {"has_location": False, "location_source": LocationSource.NONE}
    return {
        "has_location": True,
        "latitude": latitude,
        "longitude": longitude,
        "coordinates": f"{latitude},{longitude}",
        "altitude_meters": altitude,
        "location_source": source or LocationSource.NONE,
        "google_maps_url": maps_url(latitude, longitude),
    }


def validity_view(expires_at: datetime, now: datetime) -> dict[str, Any]:
    """How long a detection stays valid, as of `now`."""
    validity = validity_of(expires_at, now)
    return {
        "status": validity.status,
        "remaining_days": validity.remaining_days,
        "remaining_percent": validity.remaining_percent,
        "is_expired": validity.status is ValidityStatus.EXPIRED,
        "is_expiring_soon": validity.is_expiring_soon,
        "requires_revalidation": validity.requires_revalidation,
    }


def detection_view(row: Any, now: datetime) -> dict[str, Any]:
    """One detection as the API answers it, its validity as of `now`."""
    location = None
    if row.latitude is not None and row.longitude is not None:
        location = {
            "latitude": row.latitude,
            "longitude": row.longitude,
            "google_maps_url": maps_url(row.latitude, row.longitude),
        }
    return {
        "id": row.id,
        "analysis_id": row.analysis_id,
        "class_id": row.class_id,
        "class_name": row.class_name,
        "breeding_site_type": row.breeding_site_type,
        "confidence": row.confidence,
        "risk_level": row.risk_level,
        "polygon": row.polygon,
        "shape": shape_view(getattr(row, "shape", None)),
        "bbox": {"x_min": row.bbox_x_min, "y_min": row.bbox_y_min, "x_max": row.bbox_x_max, "y_max": row.bbox_y_max},
        "area_square_pixels": row.mask_area,
        "mask_area": row.mask_area,
        "mask_area_model_px": getattr(row, "mask_area_model_px", None),
        "location": location,
        "validation_status": row.validation_status,
        "validated_by": row.validated_by,
        "validated_at": row.validated_at,
        "validation_notes": row.validation_notes,
        "persistence_type": row.persistence_type,
        "is_weather_dependent": row.is_weather_dependent,
        "validity_days": row.validity_days,
        "expires_at": row.expires_at,
        "validity": validity_view(row.expires_at, now),
        "validity_extended_reason": row.validity_extended_reason,
        "validity_extended_by": row.validity_extended_by,
        "validity_extended_at": row.validity_extended_at,
        "created_at": row.created_at,
    }


def shape_view(shape: Any) -> dict[str, Any] | None:
    """The stored MultiPolygon as GeoJSON (PostGIS' ST_AsGeoJSON, as text or already parsed); None if none."""
    if shape is None:
        return None
    return json.loads(shape) if isinstance(shape, str) else shape


def validation_summary(statuses: Iterable[ValidationStatus]) -> dict[str, Any]:
    """How far expert review of an analysis' detections has come."""
    return validation_summary_of(Counter(statuses))


def validation_summary_of(counts: Mapping[ValidationStatus, int]) -> dict[str, Any]:
    """The same from the number of detections per verdict."""
    counts = Counter(counts)
    total = sum(counts.values())
    open_ = counts[ValidationStatus.PENDING] + counts[ValidationStatus.REQUIRES_REVIEW]
    if total == 0:
        state = "no_detections"
    elif open_ == total:
        state = "pending"
    elif open_ == 0:
        state = "validated"
    else:
        state = "partially_validated"
    return {
        "state": state,
        "total": total,
        "pending": counts[ValidationStatus.PENDING],
        "requires_review": counts[ValidationStatus.REQUIRES_REVIEW],
        "validated_positive": counts[ValidationStatus.VALIDATED_POSITIVE],
        "validated_negative": counts[ValidationStatus.VALIDATED_NEGATIVE],
    }


def _image(row: Any, detail: bool) -> dict[str, Any]:
    # Before the upload arrives there is nothing to sign a GET for.
    stored = row.status is not AnalysisStatus.PENDING_UPLOAD
    image = {
        "url": image_url(row.image_bucket, row.image_key) if stored else None,
        "processed_url": image_url(row.image_bucket, row.processed_image_key),
        "filename": row.original_filename,
        "standardized_filename": row.standardized_filename,
        "content_type": row.content_type,
        "size_bytes": row.size_bytes,
    }
    if detail:
        image.update(width=row.width, height=row.height, format=row.image_format, sha256=row.sha256)
    return image


def analysis_summary(row: Any, *, detail: bool = False) -> dict[str, Any]:
    """An analysis as lists answer it (`detail` adds the image's size, format and hash)."""
    image = _image(row, detail)
    camera = None
    if row.camera_make or row.camera_model or row.taken_at:
        camera = {"camera_make": row.camera_make, "camera_model": row.camera_model, "camera_datetime": row.taken_at}
    return {
        "id": row.id,
        "user_id": row.user_id,
        "status": row.status,
        "status_url": status_url(row.id),
        "failure_reason": row.failure_reason,
        "image": image,
        "image_url": image["url"],
        "processed_image_url": image["processed_url"],
        "location": location_view(row.latitude, row.longitude, row.location_source, row.altitude_m),
        "risk_level": row.risk_level,
        "risk_score": row.risk_score,
        "total_detections": row.total_detections,
        "high_risk_count": row.high_risk_count,
        "medium_risk_count": row.medium_risk_count,
        "confidence_threshold": row.confidence_threshold,
        "camera_info": camera,
        "duplicate_of": row.duplicate_of,
        "location_flagged": bool(getattr(row, "location_flagged", False)),
        "model_used": row.model_name,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "completed_at": row.completed_at,
        # Compatibility fields (docs/upload.md): the same row's values under the original client's names.
        "risk_assessment": risk_brief_view(row),
        "image_filename": row.standardized_filename,
        "image_size_bytes": row.size_bytes,
        "yolo_service_version": row.model_version,
    }


def risk_brief_view(row: Any) -> dict[str, Any] | None:
    """The current assessment's level, score and counts, read from the row alone (no detections needed)."""
    if row.risk_level is None:
        return None
    return {
        "level": row.risk_level,
        "risk_score": row.risk_score,
        "total_detections": row.assessed_detections,
        "high_risk_count": row.high_risk_count,
        "medium_risk_count": row.medium_risk_count,
    }


def risk_view(row: Any, language: str) -> dict[str, Any] | None:
    """The current assessment: from the detections an expert has not rejected."""
    brief = risk_brief_view(row)
    if brief is None:
        return None
    advice = analysis_recommendations(_Assessment.current(row), language)
    return {
        **brief,
        "unique_types": row.unique_types,
        "recommendations": list(advice),
        "basis": "not_rejected",
    }


def model_risk_view(row: Any, language: str) -> dict[str, Any] | None:
    """What the model gave when the photo was analysed, before any verdict (kept for audit)."""
    if row.model_risk_level is None:
        return None
    model = _Assessment.model(row)
    return {
        "level": row.model_risk_level,
        "risk_score": row.model_risk_score,
        "total_detections": row.total_detections,
        "high_risk_count": row.model_high_risk_count,
        "medium_risk_count": row.model_medium_risk_count,
        "unique_types": row.model_unique_types,
        "recommendations": list(analysis_recommendations(model, language)),
        "basis": "all_detections",
    }


@dataclass(frozen=True)
class _Assessment:
    """The fields analysis_recommendations reads, for either assessment of a row."""

    risk_level: Any
    total_detections: int
    high_risk_count: int
    medium_risk_count: int
    unique_types: int

    @classmethod
    def current(cls, row: Any) -> _Assessment:
        return cls(
            row.risk_level, row.assessed_detections, row.high_risk_count, row.medium_risk_count, row.unique_types
        )

    @classmethod
    def model(cls, row: Any) -> _Assessment:
        return cls(
            row.model_risk_level,
            row.total_detections,
            row.model_high_risk_count,
            row.model_medium_risk_count,
            row.model_unique_types,
        )


def location_evidence_view(row: Any) -> dict[str, Any]:
    """The photo's EXIF point beside the location used (whoever may see the analysis: owner, officials of its
    territory, experts, admins; never public)."""
    latitude, longitude = getattr(row, "exif_latitude", None), getattr(row, "exif_longitude", None)
    exif_point = None
    if latitude is not None and longitude is not None:
        exif_point = {"latitude": latitude, "longitude": longitude, "google_maps_url": maps_url(latitude, longitude)}
    return {
        "location_source": row.location_source or LocationSource.NONE,
        "exif_location": exif_point,
        "discrepancy_m": getattr(row, "location_discrepancy_m", None),
        "flagged": bool(getattr(row, "location_flagged", False)),
    }


def validity_basis_view(row: Any) -> dict[str, Any]:
    """From which moment the detections' validity counts, and why not the capture time when it does not."""
    return {
        "validity_basis": getattr(row, "validity_basis", None),
        "validity_from": getattr(row, "validity_from", None),
        "validity_basis_reason": getattr(row, "validity_basis_reason", None),
        "captured_at": row.taken_at,
        "local_time_zone": getattr(row, "local_time_zone", None),
    }


def detections_page(analysis_id: Any, total: int, limit: int, offset: int, returned: int) -> dict[str, Any]:
    """Where a page of an analysis' detections sits among them all, and the link to the next one."""
    following = offset + returned
    has_next = following < total
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "returned": returned,
        "has_next": has_next,
        "next_offset": following if has_next else None,
        "next": f"{status_url(analysis_id)}/detections?offset={following}&limit={limit}" if has_next else None,
    }


def analysis_detail(
    row: Any, detections: list[Any], counts: Mapping[ValidationStatus, int], limit: int, language: str, now: datetime
) -> dict[str, Any]:
    """The detail with the first `limit` detections (highest confidence first) and where the rest are."""
    document = analysis_summary(row, detail=True)
    document.update(
        attempts=row.attempts,
        include_gps=row.include_gps,
        model_version=row.model_version,
        processing_time_ms=row.yolo_time_ms,
        pipeline_time_ms=row.pipeline_time_ms,
        processing_started_at=row.processing_started_at,
        risk_assessment=risk_view(row, language),
        model_risk_level=row.model_risk_level,
        model_risk_assessment=model_risk_view(row, language),
        validation=validation_summary_of(counts),
        detections=[detection_view(d, now) for d in detections],
        detections_page=detections_page(row.id, sum(counts.values()), limit, 0, len(detections)),
        location_evidence=location_evidence_view(row),
        **validity_basis_view(row),
    )
    return document
