"""The local stack's S3/SQS state saved on stop and put back on start (sentrix_local.state), on moto's server."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

pytestmark = pytest.mark.integration


def provisioned(endpoint: str, prefix: str):
    from sentrix_local.provision import provision

    return provision(endpoint, prefix=prefix)


def drain(sqs, url: str) -> list[dict]:
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        found += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_objects_and_messages_come_back_as_they_were_without_new_s3_events(moto_server, tmp_path):
    from sentrix_local import state
    from sentrix_local.template import stack_spec

    # Given a stack's bucket with an upload (content type, metadata, tags) and a queued message in its DLQ
    run = uuid.uuid4().hex[:8]
    before = provisioned(moto_server, f"st-{run}-a")
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    spec = stack_spec()
    detect = next(q for q in spec.queues.values() if q.consumer)
    key = "incoming/user/analysis/patio con agua.jpg"
    s3.put_object(
        Bucket=before.bucket(),
        Key=key,
        Body=b"\xff\xd8\xff photo",
        ContentType="image/jpeg",
        Metadata={"original-filename": "patio.jpg"},
        Tagging="sentrix-unmatched=true",
    )
    drain(sqs, before.queue_urls[detect.logical_id])  # the upload's own S3 event
    sqs.send_message(QueueUrl=before.queue_urls[detect.dead_letter_queue], MessageBody='{"dead": "letter"}')

    # When the state is saved and restored into a fresh set of the template's resources
    saved = state.save(moto_server, before, tmp_path / "moto", settle_s=0)
    after = provisioned(moto_server, f"st-{run}-b")  # notification configured: restoring must not trigger it
    restored = state.restore(moto_server, after, tmp_path / "moto")

    # Then the object is back with its body, type, metadata and tags; the message is back in the DLQ
    assert saved == {"objects": 1, "messages": 1}
    assert restored == {"objects": 1, "messages": 1}
    got = s3.get_object(Bucket=after.bucket(), Key=key)
    assert got["Body"].read() == b"\xff\xd8\xff photo"
    assert got["ContentType"] == "image/jpeg"
    assert got["Metadata"] == {"original-filename": "patio.jpg"}
    assert s3.get_object_tagging(Bucket=after.bucket(), Key=key)["TagSet"] == [
        {"Key": "sentrix-unmatched", "Value": "true"}
    ]
    dead = drain(sqs, after.queue_urls[detect.dead_letter_queue])
    assert [json.loads(m["Body"]) for m in dead] == [{"dead": "letter"}]


def test_restoring_before_notifications_does_not_make_s3_events(moto_server, tmp_path):
    from sentrix_local import state
    from sentrix_local.provision import provision
    from sentrix_local.template import stack_spec

    # Given a saved bucket with one object
    run = uuid.uuid4().hex[:8]
    before = provisioned(moto_server, f"st-{run}-c")
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    detect = next(q for q in stack_spec().queues.values() if q.consumer)
    s3.put_object(Bucket=before.bucket(), Key="incoming/u/a/x.jpg", Body=b"x")
    drain(sqs, before.queue_urls[detect.logical_id])
    state.save(moto_server, before, tmp_path / "moto", settle_s=0)

    # When a new stack restores it the way the stack does (before the bucket notifies the queue)
    after = provision(
        moto_server,
        prefix=f"st-{run}-d",
        before_notifications=lambda resources: state.restore(moto_server, resources, tmp_path / "moto"),
    )

    # Then the object is there and the detect queue got no event for it (S3's s3:TestEvent on configuring
    # the notification carries no Records)
    assert s3.get_object(Bucket=after.bucket(), Key="incoming/u/a/x.jpg")["Body"].read() == b"x"
    events = [json.loads(m["Body"]) for m in drain(sqs, after.queue_urls[detect.logical_id])]
    assert [e for e in events if "Records" in e] == []


def test_a_start_after_an_unsaved_run_is_told_apart(tmp_path):
    from sentrix_local import state

    directory = tmp_path / "moto"
    # A first start: no database yet, nothing saved — clean
    assert not state.unclean(directory, database_initialised=False)
    # A database without saved objects beside it (killed before any save, or an older stack) — unclean
    assert state.unclean(directory, database_initialised=True)
    # A run started (marker) and never saved — unclean, whatever the database
    directory.mkdir()
    (directory / state.RUNNING).touch()
    assert state.unclean(directory, database_initialised=False)
