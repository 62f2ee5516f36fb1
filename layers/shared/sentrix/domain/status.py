"""Lifecycle states stored in the database: analyses and expert validation of detections."""

from __future__ import annotations

from enum import StrEnum


class AnalysisStatus(StrEnum):
    PENDING_UPLOAD = "pending_upload"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    DUPLICATE = "duplicate"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = {AnalysisStatus.COMPLETED, AnalysisStatus.FAILED, AnalysisStatus.DUPLICATE}


class ValidationStatus(StrEnum):
    PENDING = "pending"
    VALIDATED_POSITIVE = "validated_positive"
    VALIDATED_NEGATIVE = "validated_negative"
    REQUIRES_REVIEW = "requires_review"
