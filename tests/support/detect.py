"""Shared test material for the detect function: photos with EXIF, SQS events, and in-memory collaborators."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sentrix.adapters.yolo import YoloDetection, YoloResult
from sentrix.errors import NotFound
from sentrix_detect.adapters.objects import FetchedObject
from sentrix_detect.logic.model import AnalysisResult, Claim, ClaimedAnalysis, ClaimOutcome, ImageFacts
from tests.builders import s3_notification, sqs_event

TUCUMAN = (-26.808, -65.218)  # San Miguel de Tucumán: south and west, so both refs are negative


def picture(index: int = 0, size: tuple[int, int] = (320, 240)) -> Any:
    """A distinct, reproducible RGB picture with enough structure for a trustworthy perceptual hash."""
    from PIL import ImageDraw

    from yolo_standin.detector import synthetic_image

    image = synthetic_image(index, size)
    draw = ImageDraw.Draw(image)
    # A diagonal gradient band makes every picture textured (flat pictures are "unreliable" for dHash).
    for x in range(0, size[0], 8):
        draw.line([(x, 0), (size[0] - x, size[1])], fill=((x * 3 + index * 40) % 256, (x + index * 90) % 256, 90))
    return image


def dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    """Degrees, minutes, seconds of an absolute coordinate, as exact rationals."""
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = Fraction((minutes_full - minutes) * 60).limit_denominator(10_000)
    return Fraction(degrees), Fraction(minutes), seconds


def exif_bytes(
    *,
    gps: tuple[float, float] | None = None,
    gps_tags: dict[int, Any] | None = None,
    altitude: float | None = None,
    orientation: int | None = None,
    make: str | None = "Apple",
    model: str | None = "iPhone 13",
    taken: str | None = "2024:01:15 10:30:00",
    offset: str | None = "-03:00",
) -> bytes:
    """An EXIF block as a phone writes it."""
    from PIL import Image

    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if orientation is not None:
        exif[0x0112] = orientation
    if taken:
        details = {0x9003: taken}
        if offset:
            details[0x9011] = offset
        exif[0x8769] = details
    if gps is not None:
        lat, lon = gps
        tags: dict[int, Any] = {
            1: "S" if lat < 0 else "N",
            2: dms(lat),
            3: "W" if lon < 0 else "E",
            4: dms(lon),
        }
        if altitude is not None:
            tags[5] = b"\x01" if altitude < 0 else b"\x00"
            tags[6] = Fraction(abs(altitude)).limit_denominator(100)
        exif[0x8825] = tags
    if gps_tags is not None:
        exif[0x8825] = gps_tags
    return exif.tobytes()


def exif_coordinate(value: float) -> float:
    """The decimal degrees a reader computes back from `dms(value)` with the sign of `value`."""
    degrees, minutes, seconds = dms(value)
    decimal = float(degrees) + float(minutes) / 60.0 + float(seconds) / 3600.0
    return -decimal if value < 0 else decimal


def encode(image: Any, fmt: str, *, exif: bytes | None = None, **options: Any) -> bytes:
    """Pillow image → bytes (HEIF through pillow-heif)."""
    if fmt.upper() in ("HEIF", "HEIC"):
        import pillow_heif

        pillow_heif.register_heif_opener()
        fmt = "HEIF"
    buffer = io.BytesIO()
    if exif:
        options["exif"] = exif
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def photo(fmt: str = "JPEG", index: int = 0, size: tuple[int, int] = (320, 240), **exif: Any) -> bytes:
    """A photo in `fmt` with the EXIF fields given (none when called without any)."""
    return encode(picture(index, size), fmt, exif=exif_bytes(**exif) if exif else None)


def notification(bucket: str, key: str, *, size: int = 1234, receive_count: int = 1, redrive: bool = False) -> dict:
    """An SQS event carrying one S3 ObjectCreated notification."""
    event = sqs_event(s3_notification(bucket, key, size=size), receive_count=receive_count)
    if redrive:
        event["Records"][0]["messageAttributes"] = {"Redrive": {"stringValue": "dlq", "dataType": "String"}}
    return event


def retry_notification(bucket: str, key: str) -> dict:
    """The upload function's retry message: S3's body shape with eventName ObjectCreated:Retry."""
    body = json.loads(s3_notification(bucket, key))
    body["Records"][0]["eventName"] = "ObjectCreated:Retry"
    return sqs_event(json.dumps(body))


def upload_key(user_id: uuid.UUID, analysis_id: uuid.UUID, filename: str = "foto.jpg") -> str:
    return f"incoming/{user_id}/{analysis_id}/{filename}"


# ---------------------------------------------------------------------------------------------------
# In-memory collaborators (unit tests and the bulk of the fuzz run; integration tests use the real ones)
# ---------------------------------------------------------------------------------------------------
@dataclass
class FakeRow:
    id: uuid.UUID
    user_id: uuid.UUID | None
    bucket: str
    key: str
    status: str = "pending_upload"
    attempts: int = 0
    failure_reason: str | None = None
    confidence_threshold: float = 0.5
    include_gps: bool = True
    manual_latitude: float | None = None
    manual_longitude: float | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2024, 1, 15, 13, 30, tzinfo=UTC))
    processing_started_at: float | None = None
    facts: ImageFacts | None = None
    result: AnalysisResult | None = None
    duplicate_of: uuid.UUID | None = None
    time_zone: str | None = None  # the uploader's time-zone setting
    received_sha256: str | None = None  # set when detect secured the original
    received_size: int | None = None
    backpressure_delays: int = 0


class FakeStore:
    """The AnalysisStore port over a dict, with the same guarded transitions as the SQL store."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, FakeRow] = {}
        self.now = 0.0
        self.fail_next: dict[str, Exception] = {}

    def add(self, row: FakeRow) -> FakeRow:
        self.rows[row.id] = row
        return row

    def _maybe_fail(self, operation: str) -> None:
        if operation in self.fail_next:
            raise self.fail_next.pop(operation)

    def claim(self, bucket, key, *, etag, size, claim_ttl_s, allow_gave_up, original_key=None) -> Claim:
        self._maybe_fail("claim")
        keys = {key, original_key}
        row = next((r for r in self.rows.values() if r.bucket == bucket and r.key in keys), None)
        if row is None:
            return Claim(ClaimOutcome.UNKNOWN)
        stale = row.status == "processing" and (
            row.processing_started_at is None or self.now - row.processing_started_at > claim_ttl_s
        )
        gave_up = allow_gave_up and row.status == "failed" and (row.failure_reason or "").startswith("gave up after ")
        if row.status in ("pending_upload", "queued") or stale or gave_up:
            row.status, row.attempts, row.processing_started_at, row.failure_reason = (
                "processing",
                row.attempts + 1,
                self.now,
                None,
            )
            return Claim(ClaimOutcome.CLAIMED, self._claimed(row))
        outcome = ClaimOutcome.FINISHED if row.status in ("completed", "duplicate", "failed") else ClaimOutcome.BUSY
        gave_up = row.status == "failed" and (row.failure_reason or "").startswith("gave up after ")
        return Claim(outcome, status=row.status, image_key=row.key, gave_up=gave_up)

    @staticmethod
    def _claimed(row: FakeRow) -> ClaimedAnalysis:
        return ClaimedAnalysis(
            id=row.id,
            user_id=row.user_id,
            bucket=row.bucket,
            key=row.key,
            attempt=row.attempts,
            confidence_threshold=row.confidence_threshold,
            include_gps=row.include_gps,
            manual_latitude=row.manual_latitude,
            manual_longitude=row.manual_longitude,
            original_filename=row.key.rsplit("/", 1)[-1],
            created_at=row.created_at,
            time_zone=row.time_zone,
            received_sha256=row.received_sha256,
            received_size=row.received_size,
            backpressure_delays=row.backpressure_delays,
        )

    def secure(self, analysis, original_key, *, sha256, size) -> bool:
        self._maybe_fail("secure")
        row = self._owned(analysis)
        if row is None:
            return False
        row.key, row.received_sha256, row.received_size = original_key, sha256, size
        return True

    def _owned(self, analysis: ClaimedAnalysis) -> FakeRow | None:
        row = self.rows.get(analysis.id)
        return row if row and row.status == "processing" and row.attempts == analysis.attempt else None

    def find_duplicate(self, analysis, sha256, perceptual_hash, max_distance):
        from sentrix_detect.logic.duplicates import hamming

        self._maybe_fail("find_duplicate")
        for row in self.rows.values():
            if row.id == analysis.id or row.user_id != analysis.user_id or row.status != "completed" or not row.facts:
                continue
            if row.facts.sha256 == sha256 or (
                perceptual_hash is not None and hamming(row.facts.perceptual_hash, perceptual_hash) <= max_distance
            ):
                return row.id
        return None

    def complete(self, analysis, result) -> bool:
        self._maybe_fail("complete")
        row = self._owned(analysis)
        if row is None:
            return False
        row.status, row.result, row.facts = "completed", result, result.facts
        return True

    def mark_duplicate(self, analysis, facts, original_id, pipeline_time_ms) -> bool:
        row = self._owned(analysis)
        if row is None:
            return False
        row.status, row.facts, row.duplicate_of = "duplicate", facts, original_id
        return True

    def fail(self, analysis, reason) -> bool:
        self._maybe_fail("fail")
        row = self._owned(analysis)
        if row is None:
            return False
        row.status, row.failure_reason = "failed", reason
        return True

    def requeue(self, analysis, reason) -> bool:
        self._maybe_fail("requeue")
        row = self._owned(analysis)
        if row is None:
            return False
        row.status, row.failure_reason = "queued", reason
        return True

    def postpone(self, analysis, reason) -> bool:
        row = self._owned(analysis)
        if row is None:
            return False
        row.status, row.failure_reason = "queued", reason
        row.backpressure_delays += 1
        return True


class FakeObjects:
    """The ObjectStore port over a dict."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.tags: set[tuple[str, str]] = set()
        self.deleted: list[tuple[str, str]] = []
        self.fail_put: Exception | None = None

    def fetch(self, bucket: str, key: str, max_bytes: int) -> FetchedObject:
        from sentrix.errors import InvalidImage

        if (bucket, key) not in self.objects:
            raise NotFound(f"Object {key} not found")
        data = self.objects[(bucket, key)]
        if len(data) > max_bytes:
            raise InvalidImage(f"The uploaded file is {len(data)} bytes, over the limit of {max_bytes} bytes.")
        return FetchedObject(data, "etag", None)

    def put_jpeg(self, bucket: str, key: str, body: bytes) -> None:
        if self.fail_put is not None:
            raise self.fail_put
        self.objects[(bucket, key)] = body

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.objects[(bucket, key)] = body

    def delete(self, bucket: str, key: str) -> None:
        self.deleted.append((bucket, key))
        self.objects.pop((bucket, key), None)

    def mark_unmatched(self, bucket: str, key: str) -> None:
        self.tags.add((bucket, key))


class FakeDetector:
    """Answers like YOLO with fixed detections (or raises `error`), and counts its calls."""

    def __init__(self, detections: list[dict] | None = None, *, error: Exception | None = None) -> None:
        self.detections = detections if detections is not None else [_square(2, 0.91)]
        self.error = error
        self.calls: list[dict] = []

    def detect(self, image, filename, *, confidence_threshold, include_gps, request_id=None) -> YoloResult:
        self.calls.append({"image": image, "filename": filename, "threshold": confidence_threshold})
        if self.error is not None:
            raise self.error
        return YoloResult(
            detections=tuple(YoloDetection(**d) for d in self.detections),
            model_used="fake-yolo",
            processed_image=None,
        )


def _square(class_id: int, confidence: float, box: tuple[float, float, float, float] = (10, 10, 60, 50)) -> dict:
    x0, y0, x1, y1 = box
    return {
        "class_id": class_id,
        "class_name": "whatever YOLO calls it",
        "confidence": confidence,
        "polygon": [(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
        "mask_area": (x1 - x0) * (y1 - y0),
    }


square_detection = _square
