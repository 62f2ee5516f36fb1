"""Reading SQS records: S3 notifications (moto and AWS), the retry message, upload keys, redrive marks."""

from __future__ import annotations

import json
import uuid

import pytest

from sentrix_detect.logic.events import is_redriven, objects_in, parse_key, processed_key
from tests.builders import s3_notification


def test_a_notification_yields_its_decoded_incoming_key_with_identity():
    (obj,) = objects_in(s3_notification("bucket", "incoming/u/a/foto de la calle+1.jpg", size=99, etag='"e1"'))
    assert (obj.bucket, obj.key, obj.size, obj.etag, obj.event_name) == (
        "bucket",
        "incoming/u/a/foto de la calle+1.jpg",
        99,
        "e1",
        "ObjectCreated:Post",
    )


def test_test_events_other_prefixes_and_other_events_yield_nothing():
    assert objects_in(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})) == []
    assert objects_in(s3_notification("b", "processed/u/a.jpg")) == []
    removed = json.loads(s3_notification("b", "incoming/u/a/x.jpg"))
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert objects_in(json.dumps(removed)) == []
    assert objects_in(json.dumps({"Records": []})) == []


def test_the_upload_functions_retry_message_is_accepted():
    body = json.loads(s3_notification("b", "incoming/u/a/x.jpg"))
    body["Records"][0]["eventName"] = "ObjectCreated:Retry"
    del body["Records"][0]["s3"]["object"]["eTag"], body["Records"][0]["s3"]["object"]["size"]
    (obj,) = objects_in(json.dumps(body))
    assert (obj.key, obj.event_name, obj.etag, obj.size) == ("incoming/u/a/x.jpg", "ObjectCreated:Retry", None, None)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"'])
def test_a_body_that_is_no_notification_raises(body):
    with pytest.raises((ValueError, TypeError)):
        objects_in(body)


def test_a_well_formed_key_names_its_owner_and_analysis():
    user, analysis = uuid.uuid4(), uuid.uuid4()
    target = parse_key(f"incoming/{user}/{analysis}/IMG_0001.heic")
    assert (target.user_id, target.analysis_id, target.filename) == (user, analysis, "IMG_0001.heic")


@pytest.mark.parametrize(
    "key",
    [
        "incoming/x.jpg",
        "incoming/{u}/{a}/",
        "incoming/{u}/{a}/sub/x.jpg",
        "incoming/{u}/not-a-uuid/x.jpg",
        "incoming/{U}/{a}/x.jpg",
        "incoming/{uh}/{a}/x.jpg",
        "processed/{u}/{a}/x.jpg",
        "incoming//{a}/x.jpg",
    ],
)
def test_keys_outside_the_scheme_name_no_analysis(key):
    user, analysis = uuid.uuid4(), uuid.uuid4()
    assert parse_key(key.format(u=user, a=analysis, U=str(user).upper(), uh=user.hex)) is None


def test_redrive_marks_are_read_in_lambdas_and_boto3s_spelling():
    assert is_redriven({"Redrive": {"stringValue": "dlq", "dataType": "String"}})
    assert is_redriven({"Redrive": {"StringValue": "dlq", "DataType": "String"}})
    assert not is_redriven({})
    assert not is_redriven(None)
    assert not is_redriven({"Redrive": "dlq"})
    assert not is_redriven({"Other": {"stringValue": "x"}})


def test_processed_images_live_under_processed():
    user, analysis = uuid.uuid4(), uuid.uuid4()
    assert processed_key(user, analysis) == f"processed/{user}/{analysis}.jpg"
