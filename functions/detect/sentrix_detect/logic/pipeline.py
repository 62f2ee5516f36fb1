"""One uploaded object → one finished analysis: claim, check, normalise, deduplicate, detect, store.

Failure semantics (docs/detect.md): a permanent failure (bad image, YOLO 4xx, upload deleted, S3 refusing
access) ends the analysis `failed` and consumes the message; a transient one (YOLO, S3 or the database
unavailable) puts it back to `queued` and raises RetryLater so SQS delivers the message again, until the failure
budget (DETECT_MAX_ATTEMPTS) or the last allowed receive is reached, where it becomes `failed` ("gave up after N
attempts: …") and the message goes on to the dead-letter queue. A busy YOLO host (HTTP 429) is neither: the
analysis goes back to `queued` without spending the budget and the message comes back later
(sentrix_detect.logic.backpressure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy.exc import DBAPIError

from sentrix.adapters.yolo import YoloResult, get_yolo_client
from sentrix.config import get_settings
from sentrix.domain.filetypes import sniff
from sentrix.domain.location import location_evidence, resolve_location
from sentrix.domain.naming import standardized_name
from sentrix.domain.risk import RiskAssessment, assess_risk
from sentrix.domain.validity import validity_start, zone_named
from sentrix.errors import (
    DependencyUnavailable,
    DetectorBusy,
    DetectorRejected,
    DetectorUnavailable,
    InvalidImage,
    InvalidLocation,
    NotFound,
    SentrixError,
    StorageAccessDenied,
    ValidationFailed,
)
from sentrix.observability import logger, metrics
from sentrix_detect.adapters.objects import ObjectStore, S3Objects
from sentrix_detect.dal.store import AnalysisStore, SqlAnalysisStore
from sentrix_detect.logic import backpressure
from sentrix_detect.logic.annotate import draw_detections, is_jpeg
from sentrix_detect.logic.duplicates import sha256_hex
from sentrix_detect.logic.events import (
    INCOMING_PREFIX,
    UploadedObject,
    UploadTarget,
    original_key,
    parse_key,
    processed_key,
    upload_key,
)
from sentrix_detect.logic.imaging import ImageLimits, PreparedImage, prepare_image
from sentrix_detect.logic.model import (
    GAVE_UP_PREFIX,
    AnalysisResult,
    ClaimedAnalysis,
    ClaimOutcome,
    ImageFacts,
    Outcome,
    RetryLater,
)
from sentrix_detect.logic.privacy import stored_original, stripped_jpeg, stripped_unreadable
from sentrix_detect.logic.results import build_detections
from sentrix_detect.settings import DetectSettings, get_detect_settings

PERMANENT = (InvalidImage, DetectorRejected, InvalidLocation, NotFound)


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def describe(exc: BaseException) -> str:
    """A reason a person can read: our typed errors say it themselves; anything else is named, not dumped."""
    if isinstance(exc, SentrixError):
        return exc.message
    if isinstance(exc, DBAPIError):
        # e.g. the connection was terminated mid-transaction (not always reported as a disconnect).
        return f"Database error ({type(exc.orig).__name__})"
    return f"internal error ({type(exc).__name__})"


class DetectPipeline:
    """The detect logic with its collaborators; each one can be replaced (tests pass fakes)."""

    def __init__(
        self,
        *,
        store: AnalysisStore | None = None,
        objects: ObjectStore | None = None,
        detector: Any | None = None,
        settings: DetectSettings | None = None,
        bucket: str | None = None,
        max_upload_bytes: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        base = get_settings()
        self.settings = settings or get_detect_settings()
        self.store = store or SqlAnalysisStore()
        self.objects = objects or S3Objects()
        self._detector = detector
        self.bucket = bucket or base.images_bucket
        s = self.settings
        self.limits = ImageLimits(
            max_bytes=max_upload_bytes or base.max_upload_bytes,
            max_pixels=s.max_pixels,
            max_side=s.max_side,
            min_side=s.min_side,
            yolo_min_side=s.yolo_min_side,
            jpeg_quality=s.jpeg_quality,
        )
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def detector(self) -> Any:
        return self._detector if self._detector is not None else get_yolo_client()

    def process(self, obj: UploadedObject, *, receive_count: int = 1, redriven: bool = False) -> Outcome:
        """Run one object through the pipeline; raises RetryLater when SQS must deliver it again."""
        started = time.perf_counter()
        target = parse_key(obj.key)
        if obj.bucket != self.bucket:
            return self._unmatched(obj, "the object is not in the images bucket", tag=False)
        if target is None:
            return self._unmatched(obj, "the key does not follow incoming/<user_id>/<analysis_id>/<file>")
        try:
            claim = self.store.claim(
                obj.bucket,
                obj.key,
                etag=obj.etag,
                size=obj.size,
                claim_ttl_s=self.settings.claim_ttl_s,
                allow_gave_up=redriven,
                original_key=original_key(target),
            )
        except Exception as exc:
            logger.warning("could not claim the analysis", extra={"key": obj.key, "error": describe(exc)})
            raise RetryLater(f"could not claim the analysis: {describe(exc)}") from exc
        if claim.outcome is ClaimOutcome.UNKNOWN:
            return self._unmatched(obj, "no analysis is waiting for this object")
        if claim.outcome is ClaimOutcome.FINISHED:
            if claim.gave_up and not redriven:
                # The failure budget ran out before the queue's maxReceiveCount: on to the DLQ, for a redrive.
                raise backpressure.ToDeadLetter("the analysis gave up; the message goes on to the dead-letter queue")
            logger.info("analysis already finished; nothing to do", extra={"key": obj.key, "status": claim.status})
            self._discard_late_upload(obj, claim.image_key)
            return Outcome.ALREADY_FINISHED
        if claim.outcome is ClaimOutcome.BUSY:
            raise RetryLater("another worker is processing this analysis")
        analysis = claim.analysis
        assert analysis is not None  # CLAIMED always carries it
        logger.append_keys(analysis_id=str(analysis.id), attempt=analysis.attempt)
        try:
            return self._run(analysis, target, obj, started)
        except StorageAccessDenied as exc:
            # A refusal does not pass with time: retrying would only carry the message into the DLQ an hour later.
            _count("StorageAccessDenied")
            logger.error("image storage refused access; the analysis fails", extra={"error": describe(exc)})
            return self._fail_permanently(analysis, describe(exc))
        except PERMANENT as exc:
            return self._fail_permanently(analysis, describe(exc))
        except DetectorBusy as exc:
            return self._postpone(analysis, exc)
        except Exception as exc:
            return self._fail_transiently(analysis, exc, receive_count)
        finally:
            logger.remove_keys(["analysis_id", "attempt"])

    def _run(self, analysis: ClaimedAnalysis, target: UploadTarget, obj: UploadedObject, started: float) -> Outcome:
        fetched = self.objects.fetch(analysis.bucket, analysis.key, self.limits.max_bytes)
        try:
            prepared = prepare_image(fetched.data, self.limits, keep_gps=analysis.include_gps)
        except InvalidImage:
            if analysis.received_sha256 is None:
                self._secure_unreadable(analysis, target, fetched.data)
            raise
        if analysis.received_sha256 is None:
            secured = self._secure(analysis, target, prepared, fetched.data)
            if secured is None:
                return self._superseded(analysis)
            analysis = secured
        else:
            self._discard_late_upload(obj, analysis.key)
        facts = self._facts(analysis, prepared, fetched.data)
        original = self.store.find_duplicate(
            analysis,
            facts.sha256,
            prepared.perceptual_hash if prepared.hash_reliable else None,
            self.settings.duplicate_max_distance,
        )
        if original is not None:
            if not self.store.mark_duplicate(analysis, facts, original, _ms_since(started)):
                return self._superseded(analysis)
            _count("AnalysesDuplicate")
            logger.info("duplicate of an earlier analysis; YOLO not called", extra={"duplicate_of": str(original)})
            return Outcome.DUPLICATE
        result, yolo_ms = self._detect(analysis, prepared)
        start = facts.validity_start
        assert start is not None  # _facts always sets it
        point = facts.location.point
        detections = build_detections(
            result.detections,
            sent_size=prepared.sent_size,
            original_size=(prepared.width, prepared.height),
            detected_at=start.moment,
            latitude=point.latitude if point else None,
        )
        risk = _assess([d.class_name for d in detections], analysis.language)
        annotated = result.processed_image
        if not analysis.include_gps and is_jpeg(annotated):
            # Whatever YOLO wrote into its JPEG, the annotated image of an opted-out photo carries no metadata.
            annotated = stripped_jpeg(annotated)
        if not is_jpeg(annotated):
            # Our own drawing is encoded without any metadata.
            annotated = draw_detections(prepared.preview, result.detections, quality=self.limits.jpeg_quality)
        key = processed_key(target.user_id, analysis.id)
        self.objects.put_jpeg(analysis.bucket, key, annotated)
        pipeline_ms = _ms_since(started)
        outcome = AnalysisResult(
            facts=facts,
            detections=detections,
            risk=risk,
            processed_image_key=key,
            standardized_filename=standardized_name(
                analysis_id=analysis.id,
                taken_at=facts.taken_at,
                fallback_time=analysis.created_at,
                camera_make=facts.camera_make,
                camera_model=facts.camera_model,
                latitude=point.latitude if point else None,
                longitude=point.longitude if point else None,
            ),
            model_name=result.model_used,
            yolo_time_ms=yolo_ms,
            pipeline_time_ms=pipeline_ms,
            completed_at=self.clock(),
        )
        try:
            won = self.store.complete(analysis, outcome)
        except BaseException:
            # The analysis was not written: the annotated image must not outlive it.
            self._discard(analysis.bucket, key)
            raise
        if not won:
            return self._superseded(analysis)
        _count("AnalysesCompleted")
        _count("PipelineTime", pipeline_ms, MetricUnit.Milliseconds)
        logger.info(
            "analysis completed",
            extra={"detections": len(detections), "risk_level": risk.level.value, "pipeline_time_ms": pipeline_ms},
        )
        return Outcome.COMPLETED

    def _facts(self, analysis: ClaimedAnalysis, prepared: PreparedImage, data: bytes) -> ImageFacts:
        exif = prepared.exif
        gps = exif.gps if analysis.include_gps else None
        location = resolve_location(analysis.manual_latitude, analysis.manual_longitude, gps)
        # Local time: the photo's own OffsetTimeOriginal when it has one, else the uploader's time-zone
        # setting (UTC without one). A capture time without offset is the camera's wall clock in that zone.
        if exif.taken_at is not None and exif.offset_text:
            zone_name = exif.offset_text
        else:
            zone_name = analysis.time_zone if zone_named(analysis.time_zone) is not UTC else "UTC"
        zone = zone_named(zone_name)
        taken_at = exif.taken_at
        if taken_at is not None and not exif.offset_text:
            taken_at = taken_at.replace(tzinfo=zone)
        return ImageFacts(
            content_type=prepared.image_type.content_type,
            image_format=prepared.image_type.name,
            size_bytes=analysis.received_size or len(data),
            width=prepared.width,
            height=prepared.height,
            sha256=analysis.received_sha256 or sha256_hex(data),
            perceptual_hash=prepared.perceptual_hash,
            camera_make=exif.camera_make,
            camera_model=exif.camera_model,
            taken_at=taken_at,
            location=location,
            evidence=location_evidence(location, gps, self.settings.location_discrepancy_threshold_m),
            validity_start=validity_start(taken_at, analysis.created_at, zone),
            time_zone=zone_name,
        )

    def _secure(
        self, analysis: ClaimedAnalysis, target: UploadTarget, prepared: PreparedImage, data: bytes
    ) -> ClaimedAnalysis | None:
        """Keep the upload as the analysis' immutable original (GPS-free if opted out); None if superseded.

        The hash and size are of the bytes as received (duplicates compare those); what is stored may be a
        stripped copy. From here on the analysis points at `originals/…`, which no client can post to, and the
        upload under `incoming/` is deleted: re-posting the presigned form later changes nothing shown.
        """
        stored = stored_original(
            data, prepared.image_type, prepared.exif, keep_gps=analysis.include_gps, fallback=prepared.jpeg
        )
        stored_type = prepared.image_type if stored is data else sniff(stored[:64]) or prepared.image_type
        key = original_key(target)
        self.objects.put(analysis.bucket, key, stored, stored_type.content_type)
        sha256, size = sha256_hex(data), len(data)
        if not self.store.secure(analysis, key, sha256=sha256, size=size):
            return None
        self._discard(analysis.bucket, upload_key(target))
        return replace(analysis, key=key, received_sha256=sha256, received_size=size)

    def _secure_unreadable(self, analysis: ClaimedAnalysis, target: UploadTarget, data: bytes) -> None:
        """An upload that is no usable image is secured too (best effort: the analysis fails either way).

        Kept as received when GPS is allowed; without permission only if its container can be stripped of
        every metadata block, else not kept at all (a retry then answers that the original is gone).
        """
        stored = data if analysis.include_gps else stripped_unreadable(data)
        key = original_key(target)
        try:
            if stored is not None:
                self.objects.put(analysis.bucket, key, stored, "application/octet-stream")
            if self.store.secure(analysis, key, sha256=sha256_hex(data), size=len(data)):
                self._discard(analysis.bucket, upload_key(target))
        except Exception as exc:
            logger.warning("could not secure an unreadable upload", extra={"key": key, "error": describe(exc)})

    def _discard_late_upload(self, obj: UploadedObject, current_key: str | None) -> None:
        """An upload under incoming/ for an analysis whose original is already secured is never used: deleted.

        It is a re-post of the presigned form after the claim (or a redelivered notification, whose object
        is already gone: deleting it again is a no-op).
        """
        if current_key is None or obj.key == current_key or not obj.key.startswith(INCOMING_PREFIX):
            return
        logger.info("upload notification after the original was secured; object discarded", extra={"key": obj.key})
        _count("LateUploadsDiscarded")
        self._discard(obj.bucket, obj.key)

    def _detect(self, analysis: ClaimedAnalysis, prepared: PreparedImage) -> tuple[YoloResult, int]:
        started = time.perf_counter()
        try:
            result = self.detector.detect(
                prepared.jpeg,
                f"{analysis.id}.jpg",
                confidence_threshold=analysis.confidence_threshold,
                include_gps=analysis.include_gps,
                request_id=str(analysis.id),
            )
        except (DetectorUnavailable, DetectorRejected):
            _count("YoloFailures")
            raise
        elapsed = _ms_since(started)
        _count("YoloLatency", elapsed, MetricUnit.Milliseconds)
        return result, elapsed

    def _fail_permanently(self, analysis: ClaimedAnalysis, reason: str) -> Outcome:
        try:
            written = self.store.fail(analysis, reason)
        except Exception as exc:
            # Not recorded yet: let SQS bring the message back so the failure is recorded then.
            raise RetryLater(f"could not record the failure: {describe(exc)}") from exc
        if not written:
            return self._superseded(analysis)
        _count("AnalysesFailed")
        logger.warning("analysis failed", extra={"reason": reason})
        return Outcome.FAILED

    def _postpone(self, analysis: ClaimedAnalysis, exc: DetectorBusy) -> Outcome:
        """YOLO is busy: release the claim without spending the failure budget, come back after a wait."""
        delay = backpressure.delay_s(exc.retry_after_s, analysis.backpressure_delays, self.settings)
        reason = describe(exc)
        self._record(self.store.postpone, analysis, reason)
        _count("YoloBusy")
        logger.info("YOLO is busy; the message comes back later", extra={"delay_s": delay, "reason": reason})
        raise backpressure.Backpressure(reason, delay_s=delay) from exc

    def _fail_transiently(self, analysis: ClaimedAnalysis, exc: Exception, receive_count: int) -> Outcome:
        reason = describe(exc)
        if not isinstance(exc, DetectorUnavailable | DependencyUnavailable | DBAPIError):
            logger.exception("unexpected error in the detect pipeline")
        # Deliveries that met a busy host were no failures (0011 backpressure_delays): they do not count.
        failures = max(1, receive_count - analysis.backpressure_delays)
        if failures >= self.settings.max_attempts or receive_count >= self.settings.max_receive_count:
            final = f"{GAVE_UP_PREFIX}{max(1, analysis.attempt - analysis.backpressure_delays)} attempts: {reason}"
            if self._record(self.store.fail, analysis, final):
                _count("AnalysesFailed")
            logger.error("giving up; the message goes on to the dead-letter queue", extra={"reason": final})
            raise backpressure.ToDeadLetter(final) from exc
        self._record(self.store.requeue, analysis, reason)
        _count("AnalysesRetried")
        logger.warning("transient failure; the message will be delivered again", extra={"reason": reason})
        raise RetryLater(reason) from exc

    @staticmethod
    def _record(write: Callable[[ClaimedAnalysis, str], bool], analysis: ClaimedAnalysis, reason: str) -> bool:
        # With the database down this cannot be written; the row stays `processing` until the claim TTL ends.
        try:
            return write(analysis, reason)
        except Exception as exc:
            logger.warning("could not record the analysis state", extra={"error": describe(exc)})
            return False

    def _superseded(self, analysis: ClaimedAnalysis) -> Outcome:
        logger.warning("another attempt took the analysis over; this attempt's result is dropped")
        return Outcome.SUPERSEDED

    def _discard(self, bucket: str, key: str) -> None:
        try:
            self.objects.delete(bucket, key)
        except Exception as exc:
            logger.error("could not delete an orphan object", extra={"key": key, "error": describe(exc)})

    def _unmatched(self, obj: UploadedObject, why: str, *, tag: bool = True) -> Outcome:
        """Consume an object no pending analysis owns: never create an analysis for it; lifecycle expires it."""
        logger.warning("object without a pending analysis", extra={"bucket": obj.bucket, "key": obj.key, "why": why})
        _count("UnmatchedObjects")
        if tag:
            try:
                self.objects.mark_unmatched(obj.bucket, obj.key)
            except Exception as exc:
                logger.warning("could not tag the unmatched object", extra={"key": obj.key, "error": describe(exc)})
        return Outcome.UNMATCHED


def _assess(class_names: list[str], language: str) -> RiskAssessment:
    """The shared risk rules, with recommendations in the user's language (Spanish when unknown)."""
    try:
        return assess_risk(class_names, language=language)
    except ValidationFailed:
        return assess_risk(class_names, language="es")
