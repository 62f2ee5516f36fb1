"""Requests and answers of the detection routes: expert verdicts and validity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sentrix.domain.status import ValidationStatus
from sentrix.domain.validity import Weather
from sentrix_upload.schemas.analyses import DetectionOut, ValidationSummary

Verdict = Literal["validated_positive", "validated_negative", "requires_review"]


class ValidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    validation_status: Verdict
    validation_notes: str | None = Field(default=None, max_length=2000)


class BatchValidateItem(ValidateRequest):
    detection_id: uuid.UUID


class BatchValidateRequest(BaseModel):
    """Either one verdict for many detections, or one verdict per detection."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    detection_ids: list[uuid.UUID] | None = Field(default=None, min_length=1)
    validation_status: Verdict | None = None
    validation_notes: str | None = Field(default=None, max_length=2000)
    validations: list[BatchValidateItem] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_shape(self) -> BatchValidateRequest:
        if (self.validations is None) == (self.detection_ids is None):
            raise ValueError("give either `validations` or `detection_ids` with `validation_status`")
        if self.detection_ids is not None and self.validation_status is None:
            raise ValueError("`detection_ids` needs a `validation_status`")
        if self.validations is not None and (self.validation_status or self.validation_notes):
            raise ValueError("with `validations`, each item carries its own status and notes")
        return self

    def items(self) -> list[BatchValidateItem]:
        if self.validations is not None:
            return self.validations
        return [
            BatchValidateItem(
                detection_id=i, validation_status=self.validation_status, validation_notes=self.validation_notes
            )
            for i in self.detection_ids or []
        ]


class ValidatedDetection(BaseModel):
    detection: DetectionOut
    analysis_validation: ValidationSummary = Field(description="The analysis' review state after this verdict")


class BatchValidateItemResult(BaseModel):
    detection_id: uuid.UUID
    ok: bool
    validation_status: ValidationStatus | None = None
    expires_at: datetime | None = None
    error: dict | None = None


class BatchValidateResult(BaseModel):
    total: int
    validated: int
    failed: int
    items: list[BatchValidateItemResult]


class QueueItem(DetectionOut):
    owner_id: uuid.UUID | None
    analysis_status: str
    image_url: str | None
    processed_image_url: str | None


class ReviewQueue(BaseModel):
    items: list[QueueItem]
    total: int
    limit: int
    offset: int
    has_next: bool


class DetectionPage(BaseModel):
    items: list[DetectionOut]
    total: int
    limit: int
    offset: int
    has_next: bool


class ExtendValidityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    detection_id: uuid.UUID
    extension_days: int = Field(ge=1, le=365)
    reason: str = Field(min_length=1, max_length=500)


class ExtendValidityResult(BaseModel):
    detection_id: uuid.UUID
    old_expires_at: datetime
    new_expires_at: datetime
    extension_days: int
    validity_days: int
    reason: str
    extended_by: uuid.UUID
    extended_by_email: str | None
    extended_at: datetime


class RevalidateResult(BaseModel):
    status: Literal["revalidated"]
    weather_condition: Weather | None
    detection: DetectionOut


class RevalidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    weather_condition: Weather | None = None
    validation_notes: str | None = Field(default=None, max_length=2000)


class ValidityStats(BaseModel):
    total_detections: int
    active_detections: int
    expired_detections: int
    expiring_soon_detections: int
    revalidation_needed: int
    extended_detections: int
    average_validity_days: float | None
    by_persistence_type: dict[str, int]
    by_breeding_site: dict[str, int]
    by_validation_status: dict[str, int]
    by_risk_level: dict[str, int]
    computed_at: datetime


class DetectionValidity(BaseModel):
    detection_id: uuid.UUID
    analysis_id: uuid.UUID
    validation_status: ValidationStatus
    persistence_type: str
    is_weather_dependent: bool
    validity_days: int
    expires_at: datetime
    status: str
    remaining_days: int
    validity_percentage: int
    is_expired: bool
    is_expiring_soon: bool
    requires_revalidation: bool
    validity_extended_reason: str | None
    validity_extended_by: uuid.UUID | None
    validity_extended_at: datetime | None
