"""Verdict rules: validity moves with the ×1.3 bonus, extensions survive, review states, retry messages."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sentrix.db.models import Detection
from sentrix.domain.classes import BreedingSiteType, PersistenceType, RiskLevel
from sentrix.domain.roles import Role
from sentrix.domain.status import ValidationStatus
from sentrix.http.identity import Principal
from sentrix_upload.logic.lifecycle import retry_message
from sentrix_upload.logic.validation import apply_verdict, revalued_days
from sentrix_upload.logic.views import validation_summary

MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)


def detection(days: int = 30, status: ValidationStatus = ValidationStatus.PENDING) -> Detection:
    """A Huecos detection (medium term, MEDIO, confidence 0.8): 30 days before any verdict."""
    return Detection(
        class_id=3,
        class_name="Huecos",
        breeding_site_type=BreedingSiteType.HUECOS,
        confidence=0.8,
        risk_level=RiskLevel.MEDIO,
        persistence_type=PersistenceType.MEDIUM_TERM,
        validation_status=status,
        validity_days=days,
        expires_at=MARCH + timedelta(days=days),
        created_at=MARCH,
    )


@pytest.mark.parametrize(
    ("before", "days", "verdict", "expected"),
    [
        (ValidationStatus.PENDING, 30, ValidationStatus.VALIDATED_POSITIVE, 39),
        (ValidationStatus.PENDING, 30, ValidationStatus.VALIDATED_NEGATIVE, 30),
        (ValidationStatus.VALIDATED_POSITIVE, 39, ValidationStatus.VALIDATED_POSITIVE, 39),
        (ValidationStatus.VALIDATED_POSITIVE, 39, ValidationStatus.REQUIRES_REVIEW, 30),
        (ValidationStatus.PENDING, 40, ValidationStatus.VALIDATED_POSITIVE, 49),  # 10 extension days kept
        (ValidationStatus.VALIDATED_POSITIVE, 44, ValidationStatus.VALIDATED_NEGATIVE, 35),
    ],
)
def test_revalued_days(before, days, verdict, expected):
    assert revalued_days(detection(days, before), verdict) == expected


def test_apply_verdict_records_who_when_and_shifts_the_expiry():
    d = detection()
    expert = Principal(uuid.uuid4(), Role.EXPERT)
    now = MARCH + timedelta(days=2)

    apply_verdict(d, ValidationStatus.VALIDATED_POSITIVE, "visto", expert, now)

    assert (d.validation_status, d.validated_by, d.validated_at, d.validation_notes) == (
        ValidationStatus.VALIDATED_POSITIVE,
        expert.user_id,
        now,
        "visto",
    )
    assert (d.validity_days, d.expires_at) == (39, MARCH + timedelta(days=39))


@pytest.mark.parametrize(
    ("statuses", "state"),
    [
        ([], "no_detections"),
        ([ValidationStatus.PENDING, ValidationStatus.REQUIRES_REVIEW], "pending"),
        ([ValidationStatus.PENDING, ValidationStatus.VALIDATED_NEGATIVE], "partially_validated"),
        ([ValidationStatus.VALIDATED_POSITIVE, ValidationStatus.VALIDATED_NEGATIVE], "validated"),
    ],
)
def test_review_state_of_an_analysis(statuses, state):
    summary = validation_summary(statuses)
    assert summary["state"] == state
    assert summary["total"] == len(statuses)


def test_retry_message_is_an_s3_notification_detect_can_read():
    from sentrix_detect.logic.events import objects_in

    key = "incoming/u/a/foto de la calle+1.jpg"

    message = retry_message("bucket-1", key, 2048, "etag", MARCH)

    (record,) = message["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Retry"
    assert record["s3"]["object"]["key"] == "incoming/u/a/foto+de+la+calle%2B1.jpg"
    assert record["eventTime"] == "2026-03-10T12:00:00Z"
    (found,) = objects_in(json.dumps(message))
    assert (found.bucket, found.key, found.size) == ("bucket-1", key, 2048)


def test_a_rejection_ends_the_validity_at_once_and_keeps_what_it_ended():
    d = detection()
    expert = Principal(uuid.uuid4(), Role.EXPERT)
    now = MARCH + timedelta(days=2)

    apply_verdict(d, ValidationStatus.VALIDATED_NEGATIVE, "no es un bache", expert, now)

    assert (d.expires_at, d.unrejected_expires_at, d.validity_days) == (now, MARCH + timedelta(days=30), 30)


def test_a_rejection_of_an_already_expired_detection_keeps_its_earlier_end():
    d = detection()
    now = MARCH + timedelta(days=40)  # ten days after its validity ran out

    apply_verdict(d, ValidationStatus.VALIDATED_NEGATIVE, None, Principal(uuid.uuid4(), Role.EXPERT), now)

    assert (d.expires_at, d.unrejected_expires_at) == (MARCH + timedelta(days=30), MARCH + timedelta(days=30))


@pytest.mark.parametrize(
    ("verdict", "days"),
    [(ValidationStatus.PENDING, 30), (ValidationStatus.REQUIRES_REVIEW, 30), (ValidationStatus.VALIDATED_POSITIVE, 39)],
)
def test_taking_a_rejection_back_restores_the_validity_it_ended(verdict, days):
    d = detection()
    expert = Principal(uuid.uuid4(), Role.EXPERT)
    apply_verdict(d, ValidationStatus.VALIDATED_NEGATIVE, None, expert, MARCH + timedelta(days=2))

    apply_verdict(d, verdict, None, expert, MARCH + timedelta(days=3))

    # Counted from the same origin as before the rejection (a positive verdict adds its ×1.3)
    assert (d.expires_at, d.unrejected_expires_at, d.validity_days) == (MARCH + timedelta(days=days), None, days)


def test_a_second_rejection_changes_nothing_about_the_validity():
    d = detection()
    expert = Principal(uuid.uuid4(), Role.EXPERT)
    apply_verdict(d, ValidationStatus.VALIDATED_NEGATIVE, None, expert, MARCH + timedelta(days=2))

    apply_verdict(d, ValidationStatus.VALIDATED_NEGATIVE, "otra vez", expert, MARCH + timedelta(days=5))

    assert (d.expires_at, d.unrejected_expires_at) == (MARCH + timedelta(days=2), MARCH + timedelta(days=30))
