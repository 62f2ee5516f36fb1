"""POST /analyses/{id}/retry: its refusals in the catalogue's words (English without a stated language, the stated
language otherwise), and the original looked up in the bucket the analysis was stored in."""

from __future__ import annotations

import boto3
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.domain.status import AnalysisStatus
from tests.integration.upload.support import call, jpeg_bytes, make_user, seed_analysis
from tests.integration.upload.test_lifecycle import receive_retry

pytestmark = pytest.mark.integration


def retry(user, analysis, language: str | None = None):
    headers = {"Accept-Language": language} if language else None
    return call("POST", f"/api/v1/analyses/{analysis}/retry", user=user, headers=headers)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "Only failed analyses can be retried; this one is completed"),
        ("pt", "Só análises com falha podem ser repetidas; esta está no estado completed"),
    ],
    ids=["stated-none", "pt"],
)
def test_a_completed_analysis_is_409_naming_its_status(upload_env, language, message):
    alice = make_user()
    answer = retry(alice, seed_analysis(alice), language)

    assert answer.status == 409, answer.body
    assert (answer.error["code"], answer.error["details"], answer.error["message"]) == (
        "conflict",
        {"status": "completed"},
        message,
    )


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "The original image is no longer stored; upload the photo again"),
        ("es", "La imagen original ya no está guardada; vuelve a subir la foto"),
    ],
    ids=["stated-none", "es"],
)
def test_a_failed_analysis_whose_photo_is_gone_is_409_and_stays_failed(upload_env, language, message):
    alice = make_user()
    analysis = seed_analysis(alice, status=AnalysisStatus.FAILED)

    answer = retry(alice, analysis, language)

    assert (answer.status, answer.error["message"]) == (409, message)
    with session_scope() as session:
        assert session.get(Analysis, analysis).status is AnalysisStatus.FAILED


def test_the_photo_is_found_in_the_bucket_the_analysis_was_stored_in(upload_env, older_bucket):
    alice = make_user()
    analysis = seed_analysis(alice, status=AnalysisStatus.FAILED, bucket=older_bucket)
    with session_scope() as session:
        key = session.get(Analysis, analysis).image_key
    data = jpeg_bytes()
    boto3.client("s3", endpoint_url=upload_env.endpoint_url).put_object(Bucket=older_bucket, Key=key, Body=data)

    answer = retry(alice, analysis)

    assert (answer.status, answer.body["status"]) == (202, "queued")
    sqs = boto3.client("sqs", endpoint_url=upload_env.endpoint_url)
    record = receive_retry(sqs, upload_env.queue_url, str(analysis))
    assert (record["s3"]["bucket"]["name"], record["s3"]["object"]["size"]) == (older_bucket, len(data))
