"""The batch: partial failures, test events, unparseable bodies and the time budget."""

from __future__ import annotations

import json
import uuid

from sentrix_detect.handler import handler
from sentrix_detect.logic.pipeline import DetectPipeline
from sentrix_detect.logic.records import TimeBudget
from sentrix_detect.settings import DetectSettings
from tests.builders import LambdaContext, s3_notification, sqs_event
from tests.support.detect import FakeDetector, FakeObjects, FakeRow, FakeStore, photo, upload_key

BUCKET = "images"


def world(**settings):
    store, objects = FakeStore(), FakeObjects()
    pipeline = DetectPipeline(
        store=store, objects=objects, detector=FakeDetector(), bucket=BUCKET, settings=DetectSettings(**settings)
    )
    return store, objects, pipeline


def pending(store, objects, data) -> FakeRow:
    user, analysis = uuid.uuid4(), uuid.uuid4()
    key = upload_key(user, analysis)
    objects.objects[(BUCKET, key)] = data
    return store.add(FakeRow(analysis, user, BUCKET, key))


class Remaining:
    def __init__(self, *values: int) -> None:
        self.values = list(values)

    def get_remaining_time_in_millis(self) -> int:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_only_the_records_that_must_come_back_are_reported():
    store, objects, pipeline = world()
    good = pending(store, objects, photo("JPEG"))
    busy = pending(store, objects, photo("JPEG", index=1))
    busy.status, busy.processing_started_at = "processing", 0.0
    event = sqs_event(
        json.dumps({"Event": "s3:TestEvent"}),
        s3_notification(BUCKET, good.key),
        "not json",
        s3_notification(BUCKET, busy.key),
        s3_notification(BUCKET, "processed/whatever.jpg"),
    )

    response = handler(event, LambdaContext("DetectFunction", 120), pipeline=pipeline)

    ids = [r["messageId"] for r in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[2]}, {"itemIdentifier": ids[3]}]}
    assert good.status == "completed"


def test_an_entirely_failed_batch_is_reported_not_raised():
    *_, pipeline = world()
    event = sqs_event("nope", "still nope")
    response = handler(event, LambdaContext("DetectFunction", 120), pipeline=pipeline)
    assert len(response["batchItemFailures"]) == 2


def test_no_record_starts_once_the_margin_is_reached():
    store, objects, pipeline = world(time_margin_ms=10_000)
    rows = [pending(store, objects, photo("JPEG", index=i)) for i in range(3)]
    event = sqs_event(*(s3_notification(BUCKET, r.key) for r in rows))
    context = LambdaContext("DetectFunction", 120)
    context.get_remaining_time_in_millis = Remaining(60_000, 60_000, 9_999).get_remaining_time_in_millis

    response = handler(event, context, pipeline=pipeline)

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [event["Records"][2]["messageId"]]
    assert [r.status for r in rows] == ["completed", "completed", "pending_upload"]


def test_a_context_without_a_clock_never_runs_out():
    assert not TimeBudget(object(), 10_000).exhausted()
    assert TimeBudget(Remaining(5), 10_000).exhausted()
    assert not TimeBudget(Remaining(10_000), 10_000).exhausted()


def test_every_object_of_a_message_is_processed():
    store, objects, pipeline = world()
    rows = [pending(store, objects, photo("JPEG", index=i)) for i in range(2)]
    body = json.loads(s3_notification(BUCKET, rows[0].key))
    body["Records"] += json.loads(s3_notification(BUCKET, rows[1].key))["Records"]

    response = handler(sqs_event(json.dumps(body)), LambdaContext("DetectFunction", 120), pipeline=pipeline)

    assert response == {"batchItemFailures": []}
    assert [r.status for r in rows] == ["completed", "completed"]
