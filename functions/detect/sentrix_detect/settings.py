"""Settings of the detect function (DETECT_* variables), validated once per execution environment."""

from __future__ import annotations

import functools

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sentrix.domain.location import DEFAULT_DISCREPANCY_THRESHOLD_M
from sentrix.image_checks import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE, DEFAULT_MIN_SIDE


class DetectSettings(BaseSettings):
    """Limits and policies of the pipeline; the queue-related ones must agree with infra/template.yaml."""

    model_config = SettingsConfigDict(env_file=None, env_prefix="DETECT_", extra="ignore", case_sensitive=False)

    # The queue's RedrivePolicy.maxReceiveCount: on that receive a transient failure becomes final whatever
    # the budget below says (the message goes on to the DLQ after it). High, so backpressure redeliveries
    # (YOLO answering 429) do not dead-letter a message: see docs/detect.md "Backpressure".
    max_receive_count: int = Field(default=20, ge=1)
    # The failure budget: on the delivery that is the analysis' max_attempts-th failure (deliveries that met a
    # busy host do not count: receive count minus analyses.backpressure_delays) a transient failure is final.
    max_attempts: int = Field(default=5, ge=1)
    # A 429 from YOLO without Retry-After: the message comes back after backpressure_initial_s, doubled per
    # earlier busy answer of the same analysis, at most backpressure_max_s; ±backpressure_jitter of it at
    # random so a burst does not come back all at once. A Retry-After is honoured (capped at the maximum, plus
    # up to the jitter, never less than asked).
    backpressure_initial_s: float = Field(default=30.0, ge=0, le=43_200)
    backpressure_max_s: float = Field(default=300.0, ge=0, le=43_200)
    backpressure_jitter: float = Field(default=0.2, ge=0, lt=1)
    # A `processing` row older than this belongs to a dead worker and may be taken over. Longer than the
    # function's timeout (a live invocation cannot run longer), shorter than the visibility timeout (so the
    # first redelivery after a crash takes it over instead of wasting a receive).
    claim_ttl_s: int = Field(default=180, ge=1)
    # No new record is started with less than this left of the invocation: one record's worst case.
    time_margin_ms: int = Field(default=30_000, ge=0)

    # The defaults are the shared ones the anonymous preview checks with too.
    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)
    max_side: int = Field(default=DEFAULT_MAX_SIDE, ge=1)
    min_side: int = Field(default=DEFAULT_MIN_SIDE, ge=1)
    # The image sent to YOLO is reduced by the largest whole factor that keeps its long side at or above
    # this (JPEG: inside the decoder). YOLO resizes to its input size (640–1280) anyway.
    yolo_min_side: int = Field(default=1600, ge=64)
    jpeg_quality: int = Field(default=90, ge=50, le=100)
    # Hamming distance between 64-bit dHashes at or below which two photos of one user are the same photo.
    duplicate_max_distance: int = Field(default=4, ge=0, le=16)
    # Manual coordinates farther than this from the photo's EXIF GPS point flag the analysis for experts.
    location_discrepancy_threshold_m: float = Field(default=DEFAULT_DISCREPANCY_THRESHOLD_M, gt=0)

    @model_validator(mode="after")
    def _sides_fit(self) -> DetectSettings:
        if self.min_side > self.max_side:
            raise ValueError("DETECT_MIN_SIDE must not exceed DETECT_MAX_SIDE")
        if self.backpressure_initial_s > self.backpressure_max_s:
            raise ValueError("DETECT_BACKPRESSURE_INITIAL_S must not exceed DETECT_BACKPRESSURE_MAX_S")
        return self


@functools.cache
def get_detect_settings() -> DetectSettings:
    """The detect settings of this execution environment (tests call `get_detect_settings.cache_clear()`)."""
    return DetectSettings()
