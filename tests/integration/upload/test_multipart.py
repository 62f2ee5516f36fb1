"""Small photos through the API: checked by content, stored under the key scheme, 202 and queued."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import boto3
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.domain.status import AnalysisStatus
from tests.builders import LambdaContext, api_event
from tests.integration.upload.support import call, jpeg_bytes, make_user, multipart, png_bytes

pytestmark = pytest.mark.integration


def send(user, data: bytes, *, filename="calle.jpg", content_type="image/jpeg", fields=None, headers=None):
    body, multipart_headers = multipart([("file", filename, data, content_type)], fields)
    return call("POST", "/api/v1/analyses", user=user, body=body, headers={**multipart_headers, **(headers or {})})


def stored_objects(aws) -> dict[str, bytes]:
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket, Prefix="incoming/").get("Contents", [])]
    return {key: s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read() for key in keys}


def test_a_small_photo_is_stored_and_queued(upload_env):
    user = make_user()
    data = jpeg_bytes()

    answer = send(
        user,
        data,
        fields={"confidence_threshold": "0.6", "include_gps": "false", "latitude": "-26.8083", "longitude": "-65.2176"},
    )

    assert answer.status == 202, answer.body
    analysis_id = uuid.UUID(answer.body["analysis_id"])
    assert answer.body["status"] == "queued"
    assert answer.body["status_url"] == f"/api/v1/analyses/{analysis_id}"
    with session_scope() as session:
        row = session.get(Analysis, analysis_id)
    assert row.status is AnalysisStatus.QUEUED
    assert row.image_key == f"incoming/{user.id}/{analysis_id}/calle.jpg"
    assert (row.confidence_threshold, row.include_gps) == (0.6, False)
    assert (row.manual_latitude, row.manual_longitude) == (-26.8083, -65.2176)
    assert (row.size_bytes, row.content_type, row.image_format) == (len(data), "image/jpeg", "jpeg")
    assert stored_objects(upload_env) == {row.image_key: data}


def test_the_type_comes_from_the_bytes_not_the_name_or_the_claim(upload_env):
    user = make_user()

    answer = send(user, png_bytes(), filename="really-a-png.jpg", content_type="image/jpeg")

    with session_scope() as session:
        row = session.get(Analysis, uuid.UUID(answer.body["analysis_id"]))
    assert answer.status == 202
    assert row.content_type == "image/png"
    s3 = boto3.client("s3", endpoint_url=upload_env.endpoint_url)
    assert s3.head_object(Bucket=upload_env.bucket, Key=row.image_key)["ContentType"] == "image/png"


def test_the_base64_body_of_the_gateway_is_read_byte_exact(upload_env):
    # API Gateway (BinaryMediaTypes multipart/form-data) hands the body over base64-encoded.
    from sentrix_upload.api import handler

    user = make_user()
    data = jpeg_bytes((64, 48))
    body, headers = multipart([("file", "x.jpg", data, "image/jpeg")])
    event = api_event("POST", "/api/v1/analyses", headers=headers, body=body, authorizer=user.authorizer)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body

    response = handler(event, LambdaContext("UploadFunction", 29))

    assert response["statusCode"] == 202
    assert list(stored_objects(upload_env).values()) == [data]


@pytest.mark.parametrize(
    ("data", "filename", "fields", "status", "code"),
    [
        (b"", "empty.jpg", {}, 422, "invalid_image"),
        (b"%PDF-1.7 not a photo at all", "renamed.jpg", {}, 422, "invalid_image"),
        (b"GIF89a\x01\x00\x01\x00", "anim.gif", {}, 422, "invalid_image"),
        (None, "ok.jpg", {"latitude": "12.5"}, 422, "invalid_location"),
        (None, "ok.jpg", {"latitude": "95", "longitude": "0"}, 422, "invalid_location"),
        (None, "ok.jpg", {"latitude": "nan", "longitude": "0"}, 422, "invalid_location"),
        (None, "ok.jpg", {"confidence_threshold": "0"}, 422, "validation_error"),
        (None, "ok.jpg", {"confidence_threshold": "many"}, 422, "validation_error"),
        (None, "ok.jpg", {"include_gps": "perhaps"}, 422, "validation_error"),
    ],
    ids=lambda value: f"{len(value)}-bytes" if isinstance(value, bytes) else None,  # plain ids for mutmut
)
def test_bad_uploads_are_refused_before_anything_is_stored(upload_env, data, filename, fields, status, code):
    user = make_user()

    answer = send(user, jpeg_bytes() if data is None else data, filename=filename, fields=fields)

    assert answer.status == status, answer.body
    assert answer.error["code"] == code
    assert stored_objects(upload_env) == {}
    with session_scope() as session:
        assert session.query(Analysis).count() == 0


def test_zero_coordinates_are_a_valid_point(upload_env):
    user = make_user()

    answer = send(user, jpeg_bytes(), fields={"latitude": "0", "longitude": "0"})

    with session_scope() as session:
        row = session.get(Analysis, uuid.UUID(answer.body["analysis_id"]))
    assert (row.manual_latitude, row.manual_longitude) == (0.0, 0.0)


def test_empty_form_fields_mean_not_given(upload_env):
    user = make_user(settings={"default_confidence_threshold": 0.8, "default_include_gps": False})

    answer = send(user, jpeg_bytes(), fields={"latitude": "", "longitude": "", "confidence_threshold": ""})

    with session_scope() as session:
        row = session.get(Analysis, uuid.UUID(answer.body["analysis_id"]))
    assert answer.status == 202
    assert (row.manual_latitude, row.confidence_threshold, row.include_gps) == (None, 0.8, False)


def test_an_oversized_body_gets_413_pointing_to_the_presigned_flow(upload_env, monkeypatch):
    monkeypatch.setenv("UPLOAD_MULTIPART_MAX_BYTES", "2048")
    from sentrix_upload.settings import get_upload_settings

    get_upload_settings.cache_clear()
    user = make_user()
    big = jpeg_bytes() + b"\0" * 3000

    answer = send(user, big)

    assert answer.status == 413
    assert answer.error["code"] == "payload_too_large"
    assert "POST /api/v1/analyses/uploads" in answer.error["message"]
    assert answer.error["details"]["max_bytes"] == 2048
    assert stored_objects(upload_env) == {}


def test_a_missing_file_or_a_json_body_is_refused(upload_env):
    user = make_user()
    body, headers = multipart([], {"confidence_threshold": "0.5"})

    no_file = call("POST", "/api/v1/analyses", user=user, body=body, headers=headers)
    as_json = call("POST", "/api/v1/analyses", user=user, body={"file": "aGVsbG8="})

    assert (no_file.status, no_file.error["code"]) == (422, "validation_error")
    assert (as_json.status, as_json.error["code"]) == (415, "unsupported_media_type")


def test_idempotency_key_replays_without_storing_again(upload_env):
    user = make_user()
    data = jpeg_bytes()

    first = send(user, data, headers={"Idempotency-Key": "phone-42"})
    again = send(user, data, fields={"idempotency_key": "phone-42"})

    assert (first.status, again.status) == (202, 200)
    assert again.body["analysis_id"] == first.body["analysis_id"]
    assert again.body["replayed"] is True
    assert len(stored_objects(upload_env)) == 1


class HalfPastTheMinute(datetime):
    """`datetime` for sentrix.ratelimit whose now() is 10:00:30 UTC: the three uploads fall in one minute's window
    whatever the machine's load (with the wall clock they could straddle a minute boundary)."""

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 12, 3, 10, 0, 30, tzinfo=UTC)


def test_quota_per_minute_answers_429_with_retry_after(upload_env, monkeypatch):
    from sentrix import ratelimit

    monkeypatch.setattr(ratelimit, "datetime", HalfPastTheMinute)
    monkeypatch.setenv("UPLOAD_QUOTA_PER_MINUTE", "2")
    from sentrix_upload.settings import get_upload_settings

    get_upload_settings.cache_clear()
    user, other = make_user(), make_user()

    answers = [send(user, jpeg_bytes()) for _ in range(3)]
    others = send(other, jpeg_bytes())

    assert [a.status for a in answers] == [202, 202, 429]
    assert answers[2].error["code"] == "rate_limited"
    assert answers[2].error["message"] == "Upload limit reached: 2 uploads per minute"
    assert answers[2].headers["retry-after"] == "31"  # 30 s left in the minute, rounded up
    assert others.status == 202
    assert len(stored_objects(upload_env)) == 3


def test_daily_quota_counts_analyses(upload_env, monkeypatch):
    monkeypatch.setenv("UPLOAD_QUOTA_PER_DAY", "1")
    from sentrix_upload.settings import get_upload_settings

    get_upload_settings.cache_clear()
    user = make_user()

    first = call("POST", "/api/v1/analyses/uploads", user=user, body={"filename": "a.jpg"})
    second = call("POST", "/api/v1/analyses/uploads", user=user, body={"filename": "b.jpg"})

    assert (first.status, second.status) == (201, 429)
    assert "Daily upload quota" in second.error["message"]
    assert int(second.headers["retry-after"]) > 60


def test_when_storage_fails_the_analysis_is_taken_back_and_the_answer_is_503(upload_env):
    from sentrix.domain.roles import Role
    from sentrix.errors import DependencyUnavailable
    from sentrix.http.identity import Principal
    from sentrix_upload.logic.intake import IncomingFile, accept_file
    from sentrix_upload.schemas.intake import UploadOptions
    from sentrix_upload.settings import UploadSettings

    class BrokenStore:
        def put(self, key, body, content_type):
            raise DependencyUnavailable("Image storage unavailable")

    user = make_user()
    principal = Principal(user.id, Role(user.role))

    with pytest.raises(DependencyUnavailable):
        accept_file(
            principal,
            IncomingFile("a.jpg", "image/jpeg", jpeg_bytes()),
            UploadOptions(),
            UploadSettings(),
            store=BrokenStore(),
        )

    with session_scope() as session:
        assert session.query(Analysis).count() == 0
