"""The pipeline's decisions with in-memory collaborators: every outcome and every failure branch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sentrix.errors import DependencyUnavailable, DetectorRejected, DetectorUnavailable
from sentrix_detect.logic.backpressure import ToDeadLetter
from sentrix_detect.logic.events import UploadedObject
from sentrix_detect.logic.model import Outcome, RetryLater
from sentrix_detect.logic.pipeline import DetectPipeline
from sentrix_detect.settings import DetectSettings
from tests.support.detect import (
    TUCUMAN,
    FakeDetector,
    FakeObjects,
    FakeRow,
    FakeStore,
    photo,
    square_detection,
    upload_key,
)

BUCKET = "images"
NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


class World:
    """A pipeline over fakes, and one pending upload to feed it."""

    def __init__(self, detector: FakeDetector | None = None, **settings) -> None:
        self.store, self.objects = FakeStore(), FakeObjects()
        self.detector = detector or FakeDetector()
        self.pipeline = DetectPipeline(
            store=self.store,
            objects=self.objects,
            detector=self.detector,
            bucket=BUCKET,
            settings=DetectSettings(**settings),
            clock=lambda: NOW,
        )

    def upload(self, data: bytes, user_id: uuid.UUID | None = None, **columns) -> FakeRow:
        user_id = user_id or uuid.uuid4()
        analysis_id = uuid.uuid4()
        key = upload_key(user_id, analysis_id)
        self.objects.objects[(BUCKET, key)] = data
        return self.store.add(FakeRow(analysis_id, user_id, BUCKET, key, **columns))

    def process(self, row: FakeRow, **kwargs) -> Outcome:
        return self.pipeline.process(UploadedObject(BUCKET, row.key, None, None, None), **kwargs)


def test_a_good_photo_completes_with_everything_the_result_needs():
    world = World(FakeDetector([square_detection(2, 0.95), square_detection(0, 0.6, (100, 100, 150, 160))]))
    row = world.upload(photo("JPEG", gps=TUCUMAN))

    assert world.process(row) is Outcome.COMPLETED

    result = row.result
    assert row.status == "completed"
    assert [d.class_name for d in result.detections] == ["Charcos/Cumulo de agua", "Basura"]
    assert result.risk.level.value == "MEDIO"  # 2 ALTO detections of 2 classes: rule 4, not "highest risk"
    assert result.facts.location.source.value == "EXIF_GPS"
    assert result.processed_image_key == f"processed/{row.user_id}/{row.id}.jpg"
    assert (BUCKET, result.processed_image_key) in world.objects.objects
    assert result.model_name == "fake-yolo"
    assert result.standardized_filename.startswith("SENTRIX_20240115_133000_IPHONE13_LATn26p808_LONn65p218_")  # UTC
    water = result.detections[0]
    # water: 2 days x 1.2 (ALTO) x 1.8 (January in the south: wet season) x 1.1 (confidence > 0.9) = 4.75 → 4,
    # counted from the capture time 2024-01-15 10:30 -03:00 (EXIF), not from the clock
    assert (water.validity_days, water.expires_at) == (4, datetime(2024, 1, 19, 13, 30, tzinfo=UTC))
    assert result.facts.validity_start.basis.value == "captured_at"
    assert water.persistence_type.value == "TRANSIENT" and water.is_weather_dependent
    assert len(world.detector.calls) == 1


def test_the_detector_gets_the_threshold_and_a_jpeg_named_after_the_analysis():
    world = World()
    row = world.upload(photo("PNG"), confidence_threshold=0.8)

    world.process(row)

    call = world.detector.calls[0]
    assert (call["filename"], call["threshold"]) == (f"{row.id}.jpg", 0.8)
    assert call["image"].startswith(b"\xff\xd8\xff")


def test_an_invalid_image_fails_for_good_without_calling_yolo():
    world = World()
    row = world.upload(b"%PDF-1.7 not a photo")

    assert world.process(row) is Outcome.FAILED

    assert row.status == "failed" and "not a supported image" in row.failure_reason
    assert world.detector.calls == []


def test_a_yolo_rejection_fails_for_good():
    world = World(FakeDetector(error=DetectorRejected("YOLO service rejected the image (HTTP 413): too large")))
    row = world.upload(photo("JPEG"))

    assert world.process(row) is Outcome.FAILED
    assert row.failure_reason == "YOLO service rejected the image (HTTP 413): too large"


def test_yolo_unavailable_requeues_and_asks_for_a_retry():
    world = World(FakeDetector(error=DetectorUnavailable("YOLO service error (HTTP 503): busy")))
    row = world.upload(photo("JPEG"))

    with pytest.raises(RetryLater, match="HTTP 503"):
        world.process(row, receive_count=4)

    assert (row.status, row.failure_reason, row.attempts) == ("queued", "YOLO service error (HTTP 503): busy", 1)


def test_on_the_last_receive_it_gives_up_but_still_asks_for_a_retry_so_the_message_reaches_the_dlq():
    world = World(
        FakeDetector(error=DetectorUnavailable("YOLO service unreachable (ConnectError)")), max_receive_count=3
    )
    row = world.upload(photo("JPEG"))

    with pytest.raises(RetryLater, match="gave up after 1 attempts"):
        world.process(row, receive_count=3)

    assert row.status == "failed"
    assert row.failure_reason == "gave up after 1 attempts: YOLO service unreachable (ConnectError)"


def test_a_redriven_message_revives_a_give_up_but_not_a_permanent_failure():
    world = World()
    gave_up = world.upload(photo("JPEG", index=1), status="failed", failure_reason="gave up after 5 attempts: x")
    invalid = world.upload(photo("JPEG", index=2), status="failed", failure_reason="The uploaded file is empty.")

    assert world.process(gave_up, redriven=True) is Outcome.COMPLETED
    assert world.process(invalid, redriven=True) is Outcome.ALREADY_FINISHED
    # Without the redrive mark a give-up stays final, and its message is sent on towards the DLQ (visibility 0)
    stays = world.upload(photo("JPEG", index=3), status="failed", failure_reason="gave up after 5 attempts")
    with pytest.raises(ToDeadLetter) as raised:
        world.process(stays, receive_count=6)
    assert raised.value.delay_s == 0
    assert (stays.status, stays.failure_reason, stays.attempts) == ("failed", "gave up after 5 attempts", 0)


def test_an_unexpected_error_is_transient_and_named():
    world = World(FakeDetector(error=KeyError("boom")))
    row = world.upload(photo("JPEG"))

    with pytest.raises(RetryLater, match=r"internal error \(KeyError\)"):
        world.process(row)
    assert row.status == "queued"


def test_if_the_final_write_fails_the_annotated_image_is_deleted():
    world = World()
    row = world.upload(photo("JPEG"))
    world.store.fail_next["complete"] = DependencyUnavailable("Database unavailable")

    with pytest.raises(RetryLater, match="Database unavailable"):
        world.process(row)

    key = f"processed/{row.user_id}/{row.id}.jpg"
    assert (BUCKET, key) in world.objects.deleted
    assert (BUCKET, key) not in world.objects.objects
    assert row.status == "queued"


def test_if_the_failure_cannot_be_recorded_the_message_comes_back():
    world = World()
    row = world.upload(b"not an image")
    world.store.fail_next["fail"] = DependencyUnavailable("Database unavailable")

    with pytest.raises(RetryLater, match=r"^could not record the failure: Database unavailable$"):
        world.process(row)
    assert row.status == "processing"


def test_a_claim_that_fails_asks_for_a_retry():
    world = World()
    row = world.upload(photo("JPEG"))
    world.store.fail_next["claim"] = DependencyUnavailable("Database unavailable")

    with pytest.raises(RetryLater, match="could not claim"):
        world.process(row)
    assert row.status == "pending_upload"


def test_a_finished_analysis_is_left_alone_and_a_busy_one_is_retried_later():
    world = World()
    done = world.upload(photo("JPEG"), status="completed")
    busy = world.upload(photo("JPEG"), status="processing", processing_started_at=0.0)

    assert world.process(done) is Outcome.ALREADY_FINISHED
    with pytest.raises(RetryLater, match="another worker"):
        world.process(busy)
    assert world.detector.calls == []


def test_an_attempt_that_lost_its_claim_does_not_overwrite_the_newer_one():
    world = World()
    row = world.upload(photo("JPEG"))

    class TakeOverDuringYolo(FakeDetector):
        def detect(self, *args, **kwargs):
            row.attempts += 1  # another worker took the (stale) analysis over meanwhile
            return super().detect(*args, **kwargs)

    world.pipeline._detector = TakeOverDuringYolo()

    assert world.process(row) is Outcome.SUPERSEDED
    assert row.result is None and row.status == "processing"


def test_a_users_second_copy_is_a_duplicate_and_yolo_is_not_called_again():
    world = World()
    user = uuid.uuid4()
    first = world.upload(photo("JPEG", index=7), user_id=user)
    second = world.upload(photo("JPEG", index=7), user_id=user)
    world.process(first)

    assert world.process(second) is Outcome.DUPLICATE

    assert (second.status, second.duplicate_of) == ("duplicate", first.id)
    assert len(world.detector.calls) == 1


def test_a_flat_picture_is_only_a_duplicate_of_the_exact_same_file():
    from PIL import Image

    from tests.support.detect import encode

    world = World()
    user = uuid.uuid4()
    black = world.upload(encode(Image.new("RGB", (200, 150), (0, 0, 0)), "PNG"), user_id=user)
    grey = world.upload(encode(Image.new("RGB", (200, 150), (20, 20, 20)), "PNG"), user_id=user)
    world.process(black)

    assert world.process(grey) is Outcome.COMPLETED  # both hash to 0, but a flat hash is not trusted


def test_objects_nobody_waits_for_are_tagged_and_consumed():
    world = World()
    stray = f"incoming/{uuid.uuid4()}/{uuid.uuid4()}/x.jpg"

    assert world.pipeline.process(UploadedObject(BUCKET, stray, 1, None, None)) is Outcome.UNMATCHED
    assert world.pipeline.process(UploadedObject(BUCKET, "incoming/x.jpg", 1, None, None)) is Outcome.UNMATCHED
    assert world.pipeline.process(UploadedObject("elsewhere", stray, 1, None, None)) is Outcome.UNMATCHED
    assert world.objects.tags == {(BUCKET, stray), (BUCKET, "incoming/x.jpg")}
    assert world.store.rows == {}


def test_manual_coordinates_and_include_gps():
    world = World()
    manual = world.upload(photo("JPEG", gps=TUCUMAN), manual_latitude=-31.4, manual_longitude=-64.18)
    private = world.upload(photo("JPEG", index=1, gps=TUCUMAN), include_gps=False)

    world.process(manual)
    world.process(private)

    point = manual.result.facts.location.point
    assert (point.latitude, point.longitude, manual.result.facts.location.source.value) == (-31.4, -64.18, "MANUAL")
    assert private.result.facts.location.point is None
    assert private.result.standardized_filename.split("_")[4] == "NOLOC"


def test_a_detection_without_a_polygon_is_skipped():
    world = World(FakeDetector([square_detection(1, 0.7), {**square_detection(3, 0.8), "polygon": []}]))
    row = world.upload(photo("JPEG"))

    world.process(row)

    assert [d.class_id for d in row.result.detections] == [1]
    assert row.result.risk.total == 1


def test_the_first_failure_of_a_budget_of_two_is_retried_and_the_second_gives_up():
    world = World(FakeDetector(error=DetectorUnavailable("YOLO service unreachable (ConnectError)")), max_attempts=2)
    row = world.upload(photo("JPEG"))

    with pytest.raises(RetryLater) as first:
        world.process(row, receive_count=1)
    assert not isinstance(first.value, ToDeadLetter)
    assert (row.status, row.attempts) == ("queued", 1)

    with pytest.raises(ToDeadLetter, match="gave up after 2 attempts"):
        world.process(row, receive_count=2)
    assert row.status == "failed"


def test_a_redelivered_notification_of_a_finished_upload_never_secured_leaves_the_upload_alone():
    # Refused before its body was read (over the size limit): the analysis failed and still points at incoming/
    world = World()
    row = world.upload(photo("JPEG"), status="failed", failure_reason="The uploaded file is too large")

    assert world.process(row) is Outcome.ALREADY_FINISHED

    assert (BUCKET, row.key) in world.objects.objects
    assert world.objects.deleted == []


def test_a_database_error_is_named_by_the_drivers_error_not_dumped():
    """describe(): a connection terminated mid-transaction surfaces as SQLAlchemy's DBAPIError around the
    driver's own error; the reason names the driver's error class, never its text (which may quote SQL)."""
    from sqlalchemy.exc import DBAPIError

    class InterfaceError(Exception):
        pass

    world = World()
    row = world.upload(photo("JPEG"))
    world.store.fail_next["complete"] = DBAPIError("UPDATE analyses …", {}, InterfaceError("network error: secret"))

    with pytest.raises(RetryLater, match=r"^Database error \(InterfaceError\)$"):
        world.process(row)
    assert (row.status, row.failure_reason) == ("queued", "Database error (InterfaceError)")


def test_yolo_and_pipeline_times_are_whole_milliseconds_of_the_monotonic_clock(monkeypatch):
    from sentrix_detect.logic import pipeline as module

    class SteppingClock:
        """perf_counter moving 1.5 s on every reading: no real time passes."""

        def __init__(self) -> None:
            self.now = 100.0

        def perf_counter(self) -> float:
            self.now += 1.5
            return self.now

    monkeypatch.setattr(module, "time", SteppingClock())
    world = World()
    row = world.upload(photo("JPEG"))

    world.process(row)

    assert row.result.yolo_time_ms == 1500  # one step between YOLO's start and its end
    assert row.result.pipeline_time_ms % 1500 == 0 and row.result.pipeline_time_ms > 1500


def test_an_unknown_language_falls_back_to_spanish_recommendations():
    from sentrix.domain.risk import assess_risk
    from sentrix_detect.logic.pipeline import _assess

    found = _assess(["Basura"], "xx")

    assert found.total == 1
    assert found.recommendations == assess_risk(["Basura"], language="es").recommendations
