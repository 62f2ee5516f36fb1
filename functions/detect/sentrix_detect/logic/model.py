"""The plain data the detect modules hand each other: claims, image facts, detections, results, outcomes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sentrix.domain.classes import BreedingSiteType, PersistenceType, RiskLevel
from sentrix.domain.location import NO_EVIDENCE, LocationEvidence, ResolvedLocation
from sentrix.domain.risk import RiskAssessment
from sentrix.domain.validity import ValidityStart

# A failure_reason starting with this marks a give-up after transient failures: a redriven message may retry it.
GAVE_UP_PREFIX = "gave up after "


class RetryLater(Exception):
    """This record must come back later: report it as a batch item failure so SQS delivers it again."""


class Outcome(StrEnum):
    COMPLETED = "completed"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    ALREADY_FINISHED = "already_finished"  # a redelivery of finished work: nothing to do
    UNMATCHED = "unmatched"  # no pending analysis owns this object
    SUPERSEDED = "superseded"  # another worker took the analysis over while this one was running


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # this worker now owns the analysis (status processing)
    FINISHED = "finished"  # completed, duplicate or failed already
    BUSY = "busy"  # another live worker is processing it
    UNKNOWN = "unknown"  # no analysis for this object


@dataclass(frozen=True, slots=True)
class ClaimedAnalysis:
    """What the pipeline needs from the analysis row it claimed; `attempt` fences every later write."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    bucket: str
    key: str
    attempt: int
    confidence_threshold: float
    include_gps: bool
    manual_latitude: float | None
    manual_longitude: float | None
    original_filename: str | None
    created_at: datetime
    language: str = "es"
    time_zone: str | None = None  # the uploader's time-zone setting (IANA name), if any
    # Of the bytes as received, recorded when the original was secured (a retry reads the stored copy,
    # which may have lost its GPS metadata, so it must not hash it again).
    received_sha256: str | None = None
    received_size: int | None = None
    # Earlier claims that met a busy YOLO host (429): not failures (sentrix_detect.logic.backpressure).
    backpressure_delays: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome
    analysis: ClaimedAnalysis | None = None
    status: str | None = None
    image_key: str | None = None  # where the analysis' original is now (FINISHED, BUSY)
    gave_up: bool = False  # FINISHED as `failed` after transient failures (a redriven message may revive it)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the pipeline learned about the uploaded image; stored for completed and duplicate analyses."""

    content_type: str
    image_format: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    perceptual_hash: int
    camera_make: str | None
    camera_model: str | None
    taken_at: datetime | None
    location: ResolvedLocation
    evidence: LocationEvidence = NO_EVIDENCE
    validity_start: ValidityStart | None = None
    time_zone: str | None = None  # the zone local times of this photo were read in ("+02:00", an IANA name)


@dataclass(frozen=True, slots=True)
class DetectionRecord:
    """One detection as stored: outline, box and area in pixels of the (oriented) original image.

    `polygon` is the largest part's ring, `shape_wkt` every part (a MultiPolygon; None when the outline is
    degenerate), `mask_area` the area of the cleaned outline (sentrix.shapes) and `mask_area_model_px` the
    host's own `mask_area`, in whatever unit it counts (docs/detect.md, *Shapes*)."""

    class_id: int
    class_name: str
    breeding_site_type: BreedingSiteType | None
    confidence: float
    risk_level: RiskLevel
    polygon: list[list[float]]
    bbox: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max
    mask_area: float
    shape_wkt: str | None
    mask_area_model_px: float | None
    persistence_type: PersistenceType
    is_weather_dependent: bool
    validity_days: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything the final transaction writes for a completed analysis."""

    facts: ImageFacts
    detections: tuple[DetectionRecord, ...]
    risk: RiskAssessment
    processed_image_key: str
    standardized_filename: str
    model_name: str
    yolo_time_ms: int
    pipeline_time_ms: int
    completed_at: datetime
