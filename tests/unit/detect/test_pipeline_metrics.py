"""The pipeline's metrics (docs/detect.md, "Metrics" and the failure table): one count per outcome, by name.

The names are the documented ones, written out here; each scenario starts from an empty metric set and
asserts exactly which counts it added (the timings only by how many values they carry, never their size).
"""

from __future__ import annotations

import uuid

import pytest

from sentrix.errors import DetectorBusy, DetectorUnavailable, StorageAccessDenied
from sentrix.observability import metrics
from sentrix_detect.logic.backpressure import Backpressure, ToDeadLetter
from sentrix_detect.logic.events import UploadedObject
from sentrix_detect.logic.model import Outcome, RetryLater
from tests.support.detect import FakeDetector, photo
from tests.unit.detect.test_pipeline import BUCKET, World


@pytest.fixture(autouse=True)
def empty_metrics():
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def counted() -> dict[str, list[float]]:
    return {name: list(entry["Value"]) for name, entry in metrics.metric_set.items()}


def unit_of(name: str) -> str:
    return metrics.metric_set[name]["Unit"]


def test_a_completed_analysis_counts_once_and_times_yolo_and_the_pipeline_in_milliseconds():
    world = World()
    row = world.upload(photo("JPEG"))

    assert world.process(row) is Outcome.COMPLETED

    found = counted()
    assert found["AnalysesCompleted"] == [1.0]
    assert len(found["YoloLatency"]) == 1 and len(found["PipelineTime"]) == 1
    assert (unit_of("AnalysesCompleted"), unit_of("YoloLatency"), unit_of("PipelineTime")) == (
        "Count",
        "Milliseconds",
        "Milliseconds",
    )
    assert set(found) == {"AnalysesCompleted", "YoloLatency", "PipelineTime"}


def test_a_duplicate_counts_as_a_duplicate_and_yolo_is_not_timed():
    world = World()
    user = uuid.uuid4()
    first = world.upload(photo("JPEG", index=3), user_id=user)
    second = world.upload(photo("JPEG", index=3), user_id=user)
    world.process(first)
    metrics.clear_metrics()

    assert world.process(second) is Outcome.DUPLICATE

    assert counted() == {"AnalysesDuplicate": [1.0]}


def test_a_permanent_failure_counts_one_failed_analysis():
    world = World()
    row = world.upload(b"%PDF-1.7 not a photo")

    assert world.process(row) is Outcome.FAILED

    assert counted() == {"AnalysesFailed": [1.0]}


def test_a_transient_yolo_failure_counts_the_yolo_failure_and_the_retry():
    world = World(FakeDetector(error=DetectorUnavailable("YOLO service error (HTTP 503): busy")))
    row = world.upload(photo("JPEG"))

    with pytest.raises(RetryLater):
        world.process(row, receive_count=1)

    assert counted() == {"YoloFailures": [1.0], "AnalysesRetried": [1.0]}


def test_giving_up_counts_a_failed_analysis_not_a_retry():
    world = World(FakeDetector(error=DetectorUnavailable("YOLO service unreachable (ConnectError)")), max_attempts=2)
    row = world.upload(photo("JPEG"))

    with pytest.raises(ToDeadLetter):
        world.process(row, receive_count=2)

    assert row.status == "failed"
    assert counted() == {"YoloFailures": [1.0], "AnalysesFailed": [1.0]}


def test_a_busy_yolo_counts_yolo_busy_and_neither_a_retry_nor_a_failed_analysis():
    world = World(FakeDetector(error=DetectorBusy("YOLO service rate limit (HTTP 429): slow down")))
    row = world.upload(photo("JPEG"))

    # The detector's words travel with the wait (the record handler names them when it puts the message back)
    with pytest.raises(Backpressure, match=r"^YOLO service rate limit \(HTTP 429\): slow down$"):
        world.process(row)

    found = counted()
    assert found["YoloBusy"] == [1.0]
    assert "AnalysesRetried" not in found and "AnalysesFailed" not in found


def test_storage_refusing_access_counts_storage_access_denied_and_the_failed_analysis():
    world = World()
    row = world.upload(photo("JPEG"))

    def refuse(bucket: str, key: str, max_bytes: int):
        raise StorageAccessDenied("Image storage refused access (AccessDenied)")

    world.objects.fetch = refuse

    assert world.process(row) is Outcome.FAILED

    assert counted() == {"StorageAccessDenied": [1.0], "AnalysesFailed": [1.0]}


def test_objects_nobody_waits_for_count_one_unmatched_object_each():
    world = World()
    stray = f"incoming/{uuid.uuid4()}/{uuid.uuid4()}/x.jpg"

    assert world.pipeline.process(UploadedObject(BUCKET, stray, 1, None, None)) is Outcome.UNMATCHED
    assert world.pipeline.process(UploadedObject("elsewhere", stray, 1, None, None)) is Outcome.UNMATCHED

    assert counted() == {"UnmatchedObjects": [1.0, 1.0]}


def test_a_late_upload_after_the_original_was_secured_counts_as_discarded():
    world = World()
    row = world.upload(photo("JPEG"))
    upload = row.key
    world.process(row)
    metrics.clear_metrics()

    world.objects.objects[(BUCKET, upload)] = photo("JPEG", index=5)  # the presigned form, posted again
    assert world.pipeline.process(UploadedObject(BUCKET, upload, None, None, None)) is Outcome.ALREADY_FINISHED

    assert counted() == {"LateUploadsDiscarded": [1.0]}


def test_giving_up_with_the_database_down_counts_no_failed_analysis():
    """The failure could not be written: nothing was failed, so nothing is counted (the row stays processing)."""
    from sentrix.errors import DependencyUnavailable

    world = World(FakeDetector(error=DetectorUnavailable("YOLO service unreachable (ConnectError)")), max_attempts=1)
    row = world.upload(photo("JPEG"))
    world.store.fail_next["fail"] = DependencyUnavailable("Database unavailable")

    with pytest.raises(ToDeadLetter):
        world.process(row, receive_count=1)

    assert row.status == "processing"
    assert counted() == {"YoloFailures": [1.0]}
