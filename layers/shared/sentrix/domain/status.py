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


# An expert's rejection is the one verdict that takes a detection out of every count by default.
REJECTED = ValidationStatus.VALIDATED_NEGATIVE


class Verdict(StrEnum):
    """Which detections a read counts, by their expert verdict (the `verdict` filter of every report read)."""

    NOT_REJECTED = "not_rejected"
    CONFIRMED = "confirmed"
    PENDING = "pending"
    REJECTED = "rejected"
    ALL = "all"

    @property
    def statuses(self) -> tuple[ValidationStatus, ...]:
        """The validation statuses this verdict filter selects."""
        return _VERDICT_STATUSES[self]


_VERDICT_STATUSES = {
    Verdict.NOT_REJECTED: (
        ValidationStatus.PENDING,
        ValidationStatus.REQUIRES_REVIEW,
        ValidationStatus.VALIDATED_POSITIVE,
    ),
    Verdict.CONFIRMED: (ValidationStatus.VALIDATED_POSITIVE,),
    Verdict.PENDING: (ValidationStatus.PENDING, ValidationStatus.REQUIRES_REVIEW),
    Verdict.REJECTED: (ValidationStatus.VALIDATED_NEGATIVE,),
    Verdict.ALL: tuple(ValidationStatus),
}
