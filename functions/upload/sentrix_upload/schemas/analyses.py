"""Answers of the analysis reads: list items, the full detail, detections with validation and validity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from sentrix.domain.classes import PersistenceType, RiskLevel
from sentrix.domain.location import LocationSource
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from sentrix.domain.validity import BasisReason, ValidityBasis, ValidityStatus

ValidationState = Literal["no_detections", "pending", "partially_validated", "validated"]


class LocationOut(BaseModel):
    has_location: bool
    latitude: float | None = None
    longitude: float | None = None
    coordinates: str | None = Field(default=None, description='"lat,lon"')
    altitude_meters: float | None = None
    location_source: LocationSource
    google_maps_url: str | None = None


class ExifPointOut(BaseModel):
    latitude: float
    longitude: float
    google_maps_url: str | None


class LocationEvidenceOut(BaseModel):
    location_source: LocationSource = Field(description="Which point the analysis uses (manual wins)")
    exif_location: ExifPointOut | None = Field(description="The photo's own EXIF GPS point, if it had one")
    discrepancy_m: float | None = Field(description="Metres between the manual point and the EXIF point")
    flagged: bool = Field(description="The manual point is farther than the threshold (500 m) from the EXIF one")


class CameraOut(BaseModel):
    camera_make: str | None
    camera_model: str | None
    camera_datetime: datetime | None = Field(description="EXIF DateTimeOriginal")


class ImageOut(BaseModel):
    url: str | None = Field(description="Short-lived presigned GET of the original (null until it is uploaded)")
    processed_url: str | None = Field(description="Short-lived presigned GET of the annotated image")
    filename: str | None = Field(description="Name the client gave the photo")
    standardized_filename: str | None
    content_type: str | None
    size_bytes: int | None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    sha256: str | None = None


class RiskBriefOut(BaseModel):
    """The assessment as a list item carries it (the original client reads `level` and `risk_score`)."""

    level: RiskLevel
    risk_score: float | None
    total_detections: int
    high_risk_count: int
    medium_risk_count: int


class RiskOut(RiskBriefOut):
    unique_types: int
    recommendations: list[str] = Field(description="In the caller's language setting (es, en, pt)")
    basis: Literal["not_rejected", "all_detections"] | None = Field(
        default=None,
        description="which detections the assessment counts: not_rejected (current) or all_detections (the model's)",
    )


class ValidityOut(BaseModel):
    status: ValidityStatus
    remaining_days: int
    remaining_percent: int
    is_expired: bool
    is_expiring_soon: bool
    requires_revalidation: bool


class BoundingBox(BaseModel):
    x_min: float
    y_min: float
    x_max: float
    y_max: float


class PointOut(BaseModel):
    latitude: float
    longitude: float
    google_maps_url: str | None


class DetectionOut(BaseModel):
    id: uuid.UUID
    analysis_id: uuid.UUID
    class_id: int
    class_name: str
    breeding_site_type: str | None
    confidence: float
    risk_level: RiskLevel
    polygon: list[list[float]] = Field(
        description="Outline in pixels of the original image: the largest part's ring (not closed), at most 256 points"
    )
    shape: dict[str, Any] | None = Field(
        default=None,
        description="Every part of the outline as a GeoJSON MultiPolygon in original-image pixels (at most 256 "
        "vertices); null when the outline has no area or was stored before migration 0010 could repair it",
    )
    bbox: BoundingBox = Field(description="Box of the outline, in original-image pixels")
    area_square_pixels: float | None = Field(
        default=None, description="Area of the outline in square pixels of the original image"
    )
    mask_area: float | None = Field(description="Same as area_square_pixels (the original client's name)")
    mask_area_model_px: float | None = Field(
        default=None,
        description="The YOLO host's own mask_area as it sent it (the original service: pixels of its model's "
        "~640 px mask grid); null when unknown",
    )
    location: PointOut | None
    validation_status: ValidationStatus
    validated_by: uuid.UUID | None
    validated_at: datetime | None
    validation_notes: str | None
    persistence_type: PersistenceType
    is_weather_dependent: bool
    validity_days: int
    expires_at: datetime
    validity: ValidityOut
    validity_extended_reason: str | None
    validity_extended_by: uuid.UUID | None
    validity_extended_at: datetime | None
    created_at: datetime


class ValidationSummary(BaseModel):
    state: ValidationState
    total: int
    pending: int
    requires_review: int
    validated_positive: int
    validated_negative: int


class AnalysisSummary(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID | None
    status: AnalysisStatus
    status_url: str
    failure_reason: str | None
    image: ImageOut
    image_url: str | None = Field(description="Same as image.url (the field the original client reads)")
    processed_image_url: str | None = Field(description="Same as image.processed_url")
    location: LocationOut
    risk_level: RiskLevel | None
    risk_score: float | None
    total_detections: int
    high_risk_count: int
    medium_risk_count: int
    confidence_threshold: float
    camera_info: CameraOut | None
    duplicate_of: uuid.UUID | None
    location_flagged: bool = Field(default=False, description="See location_evidence in the detail")
    model_used: str | None = Field(description="The detector's model, as it named itself")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    # Compatibility fields: what the original web client reads at the top level, beside the nested forms above.
    risk_assessment: RiskBriefOut | None = Field(
        description="Compatibility: risk_level, risk_score and the counts as one object; null until completed"
    )
    image_filename: str | None = Field(
        description="Compatibility: the standardized name (image.standardized_filename), as the original stored it"
    )
    image_size_bytes: int | None = Field(description="Compatibility: image.size_bytes")
    yolo_service_version: str | None = Field(
        description="Compatibility: model_version (null while the detector reports no version)"
    )


class DetectionsPage(BaseModel):
    """Where the detections of an answer sit among all of the analysis' (docs/upload.md, *Large analyses*)."""

    total: int = Field(description="Detections of the analysis, over all pages")
    limit: int
    offset: int
    returned: int = Field(description="Detections in this answer")
    has_next: bool
    next_offset: int | None = Field(description="offset of the next page; null on the last")
    next: str | None = Field(description="GET this for the next page (…/detections?offset=…&limit=…); null on the last")


class AnalysisDetail(AnalysisSummary):
    attempts: int
    include_gps: bool
    model_version: str | None
    processing_time_ms: int | None = Field(description="Time YOLO took")
    pipeline_time_ms: int | None
    processing_started_at: datetime | None
    risk_assessment: RiskOut | None = Field(
        description="The current assessment, from the detections an expert has not rejected; null until completed"
    )
    model_risk_level: RiskLevel | None = Field(default=None, description="The model's own level, before verdicts")
    model_risk_assessment: RiskOut | None = Field(
        default=None, description="The model's own assessment of every detection, kept for audit"
    )
    validation: ValidationSummary = Field(description="Over all the analysis' detections, not only this page")
    detections: list[DetectionOut] = Field(description="The first 50 detections, highest confidence first")
    detections_page: DetectionsPage
    location_evidence: LocationEvidenceOut
    validity_basis: ValidityBasis | None = Field(description="captured_at or uploaded_at; null before detection")
    validity_from: datetime | None = Field(description="The moment the detections' validity counts from")
    validity_basis_reason: BasisReason | None = Field(
        description="Why the upload time: no_capture_time, capture_time_in_future, capture_time_before_2000"
    )
    captured_at: datetime | None = Field(description="The photo's capture time (EXIF), as read")
    local_time_zone: str | None = Field(description="Zone local times were read in (photo offset or user setting)")


class AnalysisPage(BaseModel):
    analyses: list[AnalysisSummary]
    total: int = Field(description="Analyses matching the filters, over all pages")
    limit: int
    offset: int
    has_next: bool


class DetectionList(BaseModel):
    analysis_id: uuid.UUID
    total: int = Field(description="Detections of the analysis, over all pages")
    validation: ValidationSummary
    items: list[DetectionOut] = Field(description="This page, highest confidence first")
    limit: int
    offset: int
    has_next: bool
    next_offset: int | None = Field(description="offset of the next page; null on the last")
    next: str | None = Field(description="GET this for the next page; null on the last")
