"""Requests and answers of the intake routes: presigned uploads, multipart uploads, batches, previews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sentrix.domain.status import AnalysisStatus

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"


class UploadOptions(BaseModel):
    """What the original web client sends with a photo; unset values come from the user's settings."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    confidence_threshold: float | None = Field(
        default=None, ge=0.1, le=1.0, description="0.1-1.0; default: the user's setting, else 0.5"
    )
    include_gps: bool | None = Field(default=None, description="Read the photo's EXIF GPS; default true")
    latitude: float | None = Field(default=None, description="Manual point: both or neither, [-90, 90]")
    longitude: float | None = Field(default=None, description="Manual point: both or neither, [-180, 180]")
    idempotency_key: str | None = Field(
        default=None,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Same key from the same user returns the same analysis instead of a new one",
    )

    @field_validator("confidence_threshold", "latitude", "longitude", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # HTML forms send an empty string for a field the user left empty.
        return None if isinstance(value, str) and not value.strip() else value


class PresignedUploadRequest(UploadOptions):
    filename: str = Field(min_length=1, max_length=255, description="The photo's file name (sanitised for the key)")
    content_type: str | None = Field(
        default=None, max_length=100, description="image/jpeg, image/png, ... ; default: from the file name"
    )
    size_bytes: int | None = Field(default=None, ge=1, description="Optional: refused early when over the limit")


class PresignedPostForm(BaseModel):
    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str] = Field(description="Form fields to send before the `file` part, unchanged")
    key: str
    content_type: str
    max_bytes: int
    expires_at: datetime


class AnalysisAccepted(BaseModel):
    """An analysis that exists and waits for its image (presigned) or for the detector (multipart)."""

    analysis_id: uuid.UUID
    status: AnalysisStatus
    status_url: str
    replayed: bool = Field(description="True when an idempotency key returned an analysis made earlier")
    upload: PresignedPostForm | None = Field(default=None, description="Present while the image is awaited")


class BatchPresignedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are validated one by one in the logic, so one bad item does not refuse the others.
    items: list[Any] = Field(min_length=1, description="Up to 50 presigned upload requests")


class BatchItemError(BaseModel):
    code: str
    message: str
    status: int
    details: Any = None
    title: str | None = Field(default=None, description="the catalogue's words for `code`, when a language is stated")


class BatchItemResult(BaseModel):
    index: int
    filename: str | None = None
    ok: bool
    analysis: AnalysisAccepted | None = None
    error: BatchItemError | None = None


class BatchResult(BaseModel):
    total: int
    accepted: int
    failed: int
    items: list[BatchItemResult]


class PreviewDetection(BaseModel):
    class_id: int
    class_name: str
    breeding_site_type: str | None
    confidence: float
    risk_level: str
    polygon: list[list[float]] = Field(
        description="Outline in the photo's pixels (largest part's ring, not closed); all of them together hold at "
        "most 12,000 points (docs/upload.md, *Large analyses*)"
    )
    bbox: dict[str, float] | None
    area_square_pixels: float | None = Field(default=None, description="Area of the outline in the photo's pixels")
    mask_area: float | None = Field(description="Same as area_square_pixels (the original client's name)")
    mask_area_model_px: float | None = Field(
        default=None, description="The YOLO host's own mask_area as it sent it (its unit is the host's)"
    )


class PreviewResult(BaseModel):
    """The anonymous preview: nothing of it is stored."""

    id: uuid.UUID = Field(description="Identifies this answer only; no analysis exists under it")
    stored: Literal[False]
    detections: list[PreviewDetection]
    total_detections: int
    risk_level: str
    risk_assessment: dict[str, Any]
    processed_image_url: str | None = Field(description="data:image/jpeg;base64,… with the masks drawn")
    location: dict[str, Any]
    camera_info: dict[str, Any] | None
    processing_time_ms: float | None
    model_used: str
    confidence_threshold: float
    message: str
