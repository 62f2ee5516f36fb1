"""The message a retry puts on the detect queue is an S3 ObjectCreated notification (docs/upload.md, "retry"):
the record fields AWS documents for S3 event notifications ("Event message structure", event version 2.1), spelt
as AWS spells them, with the values S3 itself sends for the same object.

The expected values are written by hand from that structure and from what S3 (moto) reports for the object: its
size and its ETag (the MD5 of the bytes for a single PUT, without quotes in a notification). The key is
URL-encoded as S3 encodes it ('+' for a space, '/' kept: moto's own notification also encodes the '/', which S3
does not, so only the decoded keys are compared with moto's).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from urllib.parse import unquote_plus

import boto3
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.domain.status import AnalysisStatus
from tests.integration.upload.support import call, jpeg_bytes, make_user, seed_analysis

pytestmark = pytest.mark.integration

RECEIVE_ATTEMPTS = 20  # long polls of one second each; the messages are on the queue before the call returns


def records_about(sqs, queue_url: str, analysis_id: str, wanted: set[str]) -> dict[str, dict]:
    """The first record of each event name in `wanted` whose object key names `analysis_id` (others deleted)."""
    found: dict[str, dict] = {}
    for _ in range(RECEIVE_ATTEMPTS):
        if set(found) == wanted:
            break
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            for record in json.loads(message["Body"]).get("Records") or []:
                name = record.get("eventName")
                if name in wanted and analysis_id in record["s3"]["object"]["key"]:
                    found.setdefault(name, record)
    assert set(found) == wanted, f"received {sorted(found)}, wanted {sorted(wanted)}"
    return found


def test_the_retry_record_is_an_s3_object_created_notification_as_aws_documents_it(upload_env):
    # Given a failed analysis whose original (a name with spaces and a '+') is still stored
    alice = make_user()
    analysis = seed_analysis(alice, status=AnalysisStatus.FAILED)
    key = f"incoming/{alice.id}/{analysis}/foto de la calle+1.jpg"
    with session_scope() as session:
        session.get(Analysis, analysis).image_key = key
    data = jpeg_bytes()
    s3 = boto3.client("s3", endpoint_url=upload_env.endpoint_url)
    s3.put_object(Bucket=upload_env.bucket, Key=key, Body=data, ContentType="image/jpeg")
    sqs = boto3.client("sqs", endpoint_url=upload_env.endpoint_url)

    # When its owner retries it
    answer = call("POST", f"/api/v1/analyses/{analysis}/retry", user=alice)

    # Then the queue holds S3's own notification of the object and the retry record, alike where they overlap
    assert answer.status == 202, answer.body
    records = records_about(sqs, upload_env.queue_url, str(analysis), {"ObjectCreated:Put", "ObjectCreated:Retry"})
    retry, put = records["ObjectCreated:Retry"], records["ObjectCreated:Put"]
    encoded = f"incoming/{alice.id}/{analysis}/foto+de+la+calle%2B1.jpg"  # form encoding: ' ' → '+', '+' → %2B
    event_time = retry.pop("eventTime")
    assert retry == {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",  # the region the tests run in (tests/conftest.py)
        "eventName": "ObjectCreated:Retry",
        "s3": {
            "bucket": {"name": upload_env.bucket, "arn": f"arn:aws:s3:::{upload_env.bucket}"},
            "object": {"key": encoded, "size": len(data), "eTag": hashlib.md5(data, usedforsecurity=False).hexdigest()},
        },
    }
    # ISO 8601 in UTC with the 'Z' designator, as S3 writes it
    assert event_time.endswith("Z")
    assert datetime.fromisoformat(event_time).utcoffset().total_seconds() == 0
    # The fields both carry hold the same values as the bucket's own notification of the object
    for field in ("eventVersion", "eventSource", "awsRegion"):
        assert retry[field] == put[field], field
    assert retry["s3"]["bucket"] == {name: put["s3"]["bucket"][name] for name in ("name", "arn")}
    assert {name: retry["s3"]["object"][name] for name in ("size", "eTag")} == {
        name: put["s3"]["object"][name] for name in ("size", "eTag")
    }
    assert unquote_plus(retry["s3"]["object"]["key"]) == unquote_plus(put["s3"]["object"]["key"]) == key
