"""Settings, statistics and activity from real rows; user deletion keeps anonymous data and deletes photos."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis, Detection, RefreshToken, User, UserSettings
from sentrix.domain.classes import PersistenceType, RiskLevel
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from tests.support.identity import bearer, create_user

pytestmark = pytest.mark.integration


def add_analysis(
    user,
    *,
    bucket="sentrix-test-images",
    key=None,
    risk=RiskLevel.ALTO,
    detections=2,
    when=None,
    filename="patio.jpg",
    status=AnalysisStatus.COMPLETED,
):
    with session_scope() as session:
        analysis = Analysis(
            user_id=user.id if user else None,
            status=status,
            image_bucket=bucket,
            image_key=key or f"incoming/{user.id if user else 'anonymous'}/{uuid.uuid4()}.jpg",
            processed_image_key=None,
            original_filename=filename,
            risk_level=risk,
            total_detections=detections,
            created_at=when or datetime.now(UTC),
        )
        session.add(analysis)
        session.flush()
        return analysis


def add_detection(analysis, *, validated_by=None, status=ValidationStatus.PENDING, when=None):
    with session_scope() as session:
        detection = Detection(
            analysis_id=analysis.id,
            class_id=2,
            class_name="Charcos/Cumulo de agua",
            confidence=0.9,
            risk_level=RiskLevel.ALTO,
            polygon=[[0, 0], [10, 0], [10, 10]],
            bbox_x_min=0,
            bbox_y_min=0,
            bbox_x_max=10,
            bbox_y_max=10,
            persistence_type=PersistenceType.TRANSIENT,
            validity_days=2,
            expires_at=datetime.now(UTC) + timedelta(days=2),
            validated_by=validated_by.id if validated_by else None,
            validation_status=status,
            validated_at=when,
        )
        session.add(detection)
        session.flush()
        return detection


def test_settings_start_from_the_defaults(api):
    user = create_user()
    settings = api.get("/users/me/settings", headers=bearer(user)).json()
    assert settings["language"] == "es"
    assert settings["timezone"] == "America/Argentina/Buenos_Aires"
    assert settings["default_confidence_threshold"] == 0.5  # DEFAULT_CONFIDENCE_THRESHOLD, as docs/upload.md says


def test_settings_updates_merge_over_what_is_stored(api):
    user = create_user()
    first = api.put(
        "/users/me/settings", json={"language": "pt", "timezone": "America/Sao_Paulo"}, headers=bearer(user)
    )
    assert first.status_code == 200, first.text
    second = api.put("/users/me/settings", json={"default_confidence_threshold": 0.9}, headers=bearer(user))
    assert second.json()["settings"]["language"] == "pt"  # kept from the first update
    settings = api.get("/users/me/settings", headers=bearer(user)).json()
    assert (settings["language"], settings["timezone"], settings["default_confidence_threshold"]) == (
        "pt",
        "America/Sao_Paulo",
        0.9,
    )
    assert settings["date_format"] == "DD/MM/YYYY"  # untouched defaults still there


def test_a_null_setting_in_an_update_leaves_that_setting_as_stored(api):
    """SettingsUpdate's fields are `… | null` (docs/openapi.json) while no stored setting can be null: a null
    names a setting the update leaves alone — never a 500."""
    user = create_user()
    api.put("/users/me/settings", json={"language": "pt"}, headers=bearer(user))
    response = api.put(
        "/users/me/settings", json={"language": None, "timezone": "America/Sao_Paulo"}, headers=bearer(user)
    )
    assert response.status_code == 200, response.text
    settings = api.get("/users/me/settings", headers=bearer(user)).json()
    assert (settings["language"], settings["timezone"]) == ("pt", "America/Sao_Paulo")


@pytest.mark.parametrize(
    "body",
    [
        {"language": "fr"},
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "../../etc/passwd"},
        {"default_confidence_threshold": 0.3},
        {"default_confidence_threshold": 0.99},
        {"date_format": "YYYY/DD/MM"},
        {"email_notifications": "yes"},
        {"theme": "dark"},
        {"profile_visibility": "everyone"},
    ],
)
def test_settings_validation_errors_are_422_envelopes(api, body):
    user = create_user()
    response = api.put("/users/me/settings", json=body, headers=bearer(user))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"]
    assert api.get("/users/me/settings", headers=bearer(user)).json()["language"] == "es"  # nothing stored


def test_stats_count_the_callers_analyses_and_validations(api):
    user, expert, other = create_user(), create_user(role="expert"), create_user()
    mine = add_analysis(user, detections=3)
    add_analysis(user, risk=RiskLevel.BAJO, detections=1)
    add_analysis(other, detections=7)  # someone else's: not counted
    add_detection(mine, validated_by=expert, status=ValidationStatus.VALIDATED_POSITIVE, when=datetime.now(UTC))
    stats = api.get("/users/me/stats", headers=bearer(user)).json()
    assert stats["total_analyses"] == 2 and stats["total_detections"] == 4 and stats["high_risk_analyses"] == 1
    assert stats["validated_detections"] == 0
    expert_stats = api.get("/users/me/stats", headers=bearer(expert)).json()
    assert expert_stats["total_analyses"] == 0
    assert (expert_stats["validated_detections"], expert_stats["validated_positive"]) == (1, 1)


def test_activities_merge_analyses_and_validations_newest_first(api):
    expert = create_user(role="expert")
    now = datetime.now(UTC)
    own = add_analysis(expert, when=now - timedelta(hours=3))
    add_detection(own, validated_by=expert, status=ValidationStatus.VALIDATED_NEGATIVE, when=now - timedelta(hours=1))
    add_analysis(expert, when=now - timedelta(hours=2))
    feed = api.get("/users/me/activities", params={"limit": 2}, headers=bearer(expert)).json()
    assert [a["type"] for a in feed["activities"]] == ["validation", "analysis"]
    assert feed["total"] == 3
    assert feed["activities"][0]["status"] == "validated_negative"
    assert api.get("/users/me/activities", params={"limit": 0}, headers=bearer(expert)).status_code == 422


def test_activity_items_carry_the_documented_fields(api):
    """docs/auth.md (The activity feed): every field of both kinds of item, newest first; `total` counts the
    caller's analyses and validations only."""
    expert, other = create_user(role="expert"), create_user()
    now = datetime.now(UTC).replace(microsecond=0)
    photo = add_analysis(expert, risk=RiskLevel.ALTO, detections=2, when=now - timedelta(hours=3))
    queued = add_analysis(
        expert, filename=None, risk=None, detections=0, status=AnalysisStatus.QUEUED, when=now - timedelta(hours=2)
    )
    checked = add_detection(
        photo, validated_by=expert, status=ValidationStatus.VALIDATED_POSITIVE, when=now - timedelta(hours=1)
    )
    add_analysis(None, when=now - timedelta(minutes=30))  # anonymous (a deleted user's): nobody's activity
    add_analysis(other, when=now - timedelta(minutes=20))
    add_detection(add_analysis(other), validated_by=other, status=ValidationStatus.VALIDATED_NEGATIVE, when=now)

    response = api.get("/users/me/activities", params={"limit": 10, "language": "en"}, headers=bearer(expert))

    assert response.status_code == 200, response.text
    feed = response.json()
    for item in feed["activities"]:
        item["timestamp"] = datetime.fromisoformat(item["timestamp"])
    assert feed == {
        "activities": [
            {
                "id": str(checked.id),
                "type": "validation",
                "description": "Detection validated: Puddles or standing water",
                "status": "validated_positive",
                "risk": "ALTO",
                "timestamp": now - timedelta(hours=1),
                "metadata": {"analysis_id": str(photo.id), "detection_id": str(checked.id)},
            },
            {
                "id": str(queued.id),
                "type": "analysis",
                "description": "Analysis: unnamed photo",
                "status": "queued",
                "risk": None,
                "timestamp": now - timedelta(hours=2),
                "metadata": {"analysis_id": str(queued.id), "detections_count": 0},
            },
            {
                "id": str(photo.id),
                "type": "analysis",
                "description": "Analysis: patio.jpg",
                "status": "completed",
                "risk": "ALTO",
                "timestamp": now - timedelta(hours=3),
                "metadata": {"analysis_id": str(photo.id), "detections_count": 2},
            },
        ],
        "total": 3,
        "limit": 10,
    }
    latest = api.get("/users/me/activities", params={"limit": 1, "language": "en"}, headers=bearer(expert)).json()
    assert ([item["id"] for item in latest["activities"]], latest["total"]) == ([str(checked.id)], 3)


@pytest.mark.parametrize(
    ("headers", "params", "saved", "validation", "analysis"),
    [
        ({}, {}, None, "Detección validada: Charcos o agua acumulada", "Análisis: patio.jpg"),
        ({"Accept-Language": "en-GB,en;q=0.8"}, {}, None, "Detection validated: Puddles or standing water", None),
        ({}, {"language": "pt"}, "en", "Detecção validada: Poças ou água acumulada", "Análise: patio.jpg"),
        ({}, {}, "en", "Detection validated: Puddles or standing water", "Analysis: patio.jpg"),
    ],
)
def test_activity_descriptions_are_in_the_callers_language(api, headers, params, saved, validation, analysis):
    expert = create_user(role="expert")
    now = datetime.now(UTC)
    own = add_analysis(expert, when=now - timedelta(hours=3))
    add_detection(own, validated_by=expert, status=ValidationStatus.VALIDATED_POSITIVE, when=now - timedelta(hours=1))
    if saved:
        api.put("/users/me/settings", json={"language": saved}, headers=bearer(expert))
    feed = api.get("/users/me/activities", params=params, headers={**bearer(expert), **headers}).json()
    words = {item["type"]: item["description"] for item in feed["activities"]}
    assert words["validation"] == validation
    if analysis:
        assert words["analysis"] == analysis


def test_saving_settings_answers_in_the_language_stated_else_the_one_saved(api):
    user = create_user()
    saved = api.put("/users/me/settings", json={"language": "pt"}, headers=bearer(user)).json()
    assert saved["message"] == "Configurações salvas"
    stated = api.put(
        "/users/me/settings", json={"date_format": "YYYY-MM-DD"}, headers={**bearer(user), "Accept-Language": "en"}
    )
    assert stated.json()["message"] == "Settings saved"


def test_deleting_a_user_keeps_anonymous_analyses_and_deletes_their_photos(api, aws):
    admin, user = create_user(role="admin"), create_user()
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    key = f"incoming/{user.id}/photo.jpg"
    s3.put_object(Bucket=aws.bucket, Key=key, Body=b"jpeg bytes")
    s3.put_object(Bucket=aws.bucket, Key="incoming/someone-else.jpg", Body=b"other")
    analysis = add_analysis(user, bucket=aws.bucket, key=key)
    add_detection(analysis)
    api.put("/users/me/settings", json={"language": "en"}, headers=bearer(user))

    response = api.delete(f"/users/{user.id}", headers=bearer(admin))
    assert response.status_code == 200, response.text
    assert response.json()["analyses_anonymised"] == 1 and response.json()["images_deleted"] == 1

    with session_scope() as session:
        assert session.get(User, user.id) is None
        assert session.get(UserSettings, user.id) is None
        assert session.query(RefreshToken).filter_by(user_id=user.id).count() == 0
        kept = session.get(Analysis, analysis.id)
        assert kept is not None and kept.user_id is None and kept.original_filename is None
        assert kept.risk_level is RiskLevel.ALTO  # the public-health facts stay
        assert session.query(Detection).filter_by(analysis_id=analysis.id).count() == 1
    remaining = {o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket).get("Contents", [])}
    assert key not in remaining and "incoming/someone-else.jpg" in remaining
    assert api.get("/me", headers=bearer(user)).status_code == 401  # the deleted user's token is dead
    assert api.delete(f"/users/{user.id}", headers=bearer(admin)).status_code == 404


def test_photos_s3_cannot_delete_are_counted_and_the_deletion_stands(api, aws):
    # Given a user with one photo in the images bucket and two whose bucket S3 no longer has (NoSuchBucket: a
    # real refusal from the S3 API, as after a bucket was emptied and removed by hand)
    admin, user = create_user(role="admin"), create_user()
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    kept_key = f"incoming/{user.id}/here.jpg"
    s3.put_object(Bucket=aws.bucket, Key=kept_key, Body=b"jpeg bytes")
    reachable = add_analysis(user, bucket=aws.bucket, key=kept_key)
    lost = [add_analysis(user, bucket="sentrix-test-gone", key=f"incoming/{user.id}/gone-{i}.jpg") for i in range(2)]

    response = api.delete(f"/users/{user.id}", headers=bearer(admin))

    # Then the answer says exactly what could not be deleted, and nothing of the deletion is undone
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["user_id"], body["message"]) == (str(user.id), "User deleted")
    assert (body["analyses_anonymised"], body["images_deleted"], body["images_not_deleted"]) == (3, 1, 2)
    with session_scope() as session:
        assert session.get(User, user.id) is None
        for analysis in (reachable, *lost):
            assert session.get(Analysis, analysis.id).user_id is None
    remaining = {o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket).get("Contents", [])}
    assert kept_key not in remaining


def test_photos_s3_refuses_one_by_one_are_counted_not_deleted(api, aws):
    # Given a user with three photos, and S3 answering DeleteObjects 200 with one of them under Errors (what it
    # does for a key it may not delete: the call succeeds, the refusal is per object)
    from sentrix.adapters.aws import client

    admin, user = create_user(role="admin"), create_user()
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    keys = [f"incoming/{user.id}/photo-{i}.jpg" for i in range(3)]
    for key in keys:
        s3.put_object(Bucket=aws.bucket, Key=key, Body=b"jpeg bytes")
        add_analysis(user, bucket=aws.bucket, key=key)
    refused = keys[1]

    def refuse_one(parsed, **_):
        parsed["Errors"] = [{"Key": refused, "Code": "AccessDenied", "Message": "Access Denied"}]

    events = client("s3").meta.events
    events.register("after-call.s3.DeleteObjects", refuse_one)
    try:
        response = api.delete(f"/users/{user.id}", headers=bearer(admin))
    finally:
        events.unregister("after-call.s3.DeleteObjects", refuse_one)

    # Then the refused photo is counted as not deleted, the two others as deleted
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["analyses_anonymised"], body["images_deleted"], body["images_not_deleted"]) == (3, 2, 1)


def test_more_than_a_thousand_photos_go_in_batches_of_at_most_a_thousand(api, aws):
    """S3's DeleteObjects takes at most 1,000 keys (docs/auth.md, Deleting a user): 1,001 photos in the images
    bucket are two calls, both counted; 1,001 in a bucket S3 no longer has (NoSuchBucket) are two failed calls,
    both counted as not deleted. S3 confirms the deletion of a key it does not hold, so the photos need not
    exist for the count."""
    from sqlalchemy import insert

    admin, user = create_user(role="admin"), create_user()
    rows = [
        {
            "user_id": user.id,
            "status": AnalysisStatus.COMPLETED,
            "image_bucket": bucket,
            "image_key": f"incoming/{user.id}/{i:04d}.jpg",
            "original_filename": "patio.jpg",
        }
        for bucket in (aws.bucket, "sentrix-test-gone")
        for i in range(1001)
    ]
    with session_scope() as session:
        session.execute(insert(Analysis), rows)

    response = api.delete(f"/users/{user.id}", headers=bearer(admin))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["analyses_anonymised"], body["images_deleted"], body["images_not_deleted"]) == (2002, 1001, 1001)
