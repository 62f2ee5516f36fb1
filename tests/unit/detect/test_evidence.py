"""Evidence is secured when detect claims it: moved out of the client's reach, never replaced by a later post."""

from __future__ import annotations

import hashlib
import json

import pytest

from sentrix.errors import DetectorRejected, DetectorUnavailable
from sentrix_detect.logic.events import UploadedObject, objects_in
from sentrix_detect.logic.model import Outcome, RetryLater
from tests.builders import s3_notification
from tests.support.detect import TUCUMAN, FakeDetector, photo
from tests.unit.detect.test_pipeline import BUCKET, World


def original_of(row) -> str:
    return f"originals/{row.user_id}/{row.id}/foto.jpg"


def test_a_claimed_upload_moves_to_originals_and_the_upload_is_deleted():
    world = World()
    data = photo("JPEG")
    row = world.upload(data)
    upload = row.key

    assert world.process(row) is Outcome.COMPLETED

    assert row.key == original_of(row)
    assert world.objects.objects[(BUCKET, row.key)] == data  # GPS allowed: byte for byte
    assert (BUCKET, upload) not in world.objects.objects
    assert row.result.facts.sha256 == hashlib.sha256(data).hexdigest()


def test_a_post_after_completion_is_discarded_and_changes_nothing():
    world = World()
    row = world.upload(photo("JPEG"))
    upload = row.key
    world.process(row)
    result, stored = row.result, world.objects.objects[(BUCKET, row.key)]

    world.objects.objects[(BUCKET, upload)] = photo("JPEG", index=5)  # the presigned form, posted again
    outcome = world.pipeline.process(UploadedObject(BUCKET, upload, None, None, None))

    assert outcome is Outcome.ALREADY_FINISHED
    assert (BUCKET, upload) not in world.objects.objects
    assert world.objects.objects[(BUCKET, row.key)] == stored
    assert row.result is result and row.status == "completed"
    assert len(world.detector.calls) == 1


def test_a_retry_reads_the_secured_copy_and_keeps_the_hash_of_what_was_received():
    world = World(FakeDetector(error=DetectorRejected("YOLO service rejected the image (HTTP 422): odd")))
    data = photo("JPEG", gps=TUCUMAN)
    row = world.upload(data, include_gps=False)
    upload = row.key
    assert world.process(row) is Outcome.FAILED
    assert row.key == original_of(row)
    assert world.objects.objects[(BUCKET, row.key)] != data  # stored without its GPS

    world.detector.error = None
    row.status = "queued"  # POST /analyses/{id}/retry
    world.objects.objects[(BUCKET, upload)] = photo("JPEG", index=5)  # and a late post that must not count
    outcome = world.pipeline.process(UploadedObject(BUCKET, row.key, None, None, None, "ObjectCreated:Retry"))

    assert outcome is Outcome.COMPLETED
    assert row.result.facts.sha256 == hashlib.sha256(data).hexdigest()
    assert row.result.facts.size_bytes == len(data)
    assert row.result.facts.location.point is None


def test_a_redelivered_upload_notification_finds_its_queued_secured_analysis():
    world = World(FakeDetector(error=DetectorUnavailable("YOLO service error (HTTP 503): busy")))
    data = photo("JPEG")
    row = world.upload(data)
    upload = row.key
    with pytest.raises(RetryLater):
        world.process(row)
    assert (row.status, row.key) == ("queued", original_of(row))

    world.detector.error = None
    outcome = world.pipeline.process(UploadedObject(BUCKET, upload, None, None, None))

    assert outcome is Outcome.COMPLETED
    assert row.result.facts.sha256 == hashlib.sha256(data).hexdigest()


def test_only_the_retry_message_may_name_a_secured_original():
    key = "originals/3f0c2b1e-8a8e-4d5b-9a41-1b2c3d4e5f60/9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d/foto.jpg"
    retry = json.loads(s3_notification(BUCKET, key))
    retry["Records"][0]["eventName"] = "ObjectCreated:Retry"

    assert objects_in(s3_notification(BUCKET, key)) == []
    assert [o.key for o in objects_in(json.dumps(retry))] == [key]


def test_an_unreadable_upload_is_secured_as_received_when_gps_is_allowed():
    world = World()
    row = world.upload(b"%PDF-1.7 not a photo")
    upload = row.key

    assert world.process(row) is Outcome.FAILED

    assert row.key == original_of(row)
    assert world.objects.objects[(BUCKET, row.key)] == b"%PDF-1.7 not a photo"
    assert (BUCKET, upload) not in world.objects.objects


def test_an_unreadable_upload_without_gps_permission_keeps_no_metadata_or_nothing_at_all():
    world = World()
    located = photo("JPEG", gps=TUCUMAN)
    truncated = world.upload(located[: len(located) // 2], include_gps=False)  # pixels cut off mid-scan
    headless = world.upload(located[:40], include_gps=False)  # its EXIF segment runs past the end

    assert world.process(truncated) is Outcome.FAILED
    assert world.process(headless) is Outcome.FAILED

    kept = world.objects.objects[(BUCKET, original_of(truncated))]
    assert kept.startswith(b"\xff\xd8") and b"Exif" not in kept and b"Apple" not in kept
    assert headless.key == original_of(headless)
    assert (BUCKET, headless.key) not in world.objects.objects  # could not be stripped for sure: not kept
