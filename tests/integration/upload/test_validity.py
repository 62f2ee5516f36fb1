"""Validity endpoints against known dates: expired, expiring soon, extend, revalidate, stats, one detection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Detection
from tests.integration.upload.support import call, make_user, seed_analysis

pytestmark = pytest.mark.integration


def expiring_in(owner, delta: timedelta, *, classes=(0,), extended: bool = False) -> uuid.UUID:
    """A detection (of a fresh analysis) whose expiry is `now + delta`."""
    analysis = seed_analysis(owner, classes=classes)
    with session_scope() as session:
        detection = session.query(Detection).filter(Detection.analysis_id == analysis).one()
        detection.expires_at = datetime.now(UTC) + delta
        if extended:
            detection.validity_extended_at = datetime.now(UTC)
        return detection.id


@pytest.fixture
def timeline(upload_env):
    alice, bob, expert = make_user(), make_user(), make_user("expert")
    return {
        "alice": alice,
        "bob": bob,
        "expert": expert,
        "expired_long": expiring_in(alice, -timedelta(days=10)),
        "expired_now": expiring_in(alice, -timedelta(hours=1), classes=(3,)),
        "in_12h": expiring_in(alice, timedelta(hours=12)),
        "in_2_5d": expiring_in(alice, timedelta(days=2, hours=12), extended=True),
        "in_20d": expiring_in(alice, timedelta(days=20), classes=(1,)),
        "bobs_expired": expiring_in(bob, -timedelta(days=1)),
    }


def item_ids(answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [item["id"] for item in answer.body["items"]]


def test_expired_lists_the_callers_expired_detections_oldest_expiry_first(timeline):
    alice = timeline["alice"]

    mine = call("GET", "/api/v1/detections/expired", user=alice)
    everyone = call("GET", "/api/v1/detections/expired", user=timeline["expert"])
    holes = call("GET", "/api/v1/detections/expired", user=alice, query={"breeding_site_type": "huecos"})

    assert item_ids(mine) == [str(timeline["expired_long"]), str(timeline["expired_now"])]
    assert mine.body["items"][0]["validity"]["status"] == "EXPIRED"
    assert mine.body["items"][0]["validity"]["is_expired"] is True
    assert everyone.body["total"] == 3
    assert item_ids(holes) == [str(timeline["expired_now"])]
    bad = call("GET", "/api/v1/detections/expired", user=alice, query={"breeding_site_type": "volcanoes"})
    assert bad.status == 422


def test_expiring_soon_honours_days_threshold(timeline):
    alice = timeline["alice"]

    one_day = call("GET", "/api/v1/detections/expiring-soon", user=alice)
    three_days = call("GET", "/api/v1/detections/expiring-soon", user=alice, query={"days_threshold": 3})
    thirty = call("GET", "/api/v1/detections/expiring-soon", user=alice, query={"days_threshold": 30})

    assert item_ids(one_day) == [str(timeline["in_12h"])]
    assert one_day.body["items"][0]["validity"]["status"] == "EXPIRING_SOON"
    assert item_ids(three_days) == [str(timeline["in_12h"]), str(timeline["in_2_5d"])]
    assert three_days.body["items"][1]["validity"]["status"] == "LOW_VALIDITY"
    assert thirty.body["total"] == 3
    assert call("GET", "/api/v1/detections/expiring-soon", user=alice, query={"days_threshold": 31}).status == 422
    assert call("GET", "/api/v1/detections/expiring-soon", user=alice, query={"days_threshold": 0}).status == 422


def test_extend_validity_stores_reason_who_and_when(timeline):
    expert, detection_id = timeline["expert"], timeline["in_12h"]
    with session_scope() as session:
        before = session.get(Detection, detection_id)

    answer = call(
        "POST",
        "/api/v1/detections/extend-validity",
        user=expert,
        body={"detection_id": str(detection_id), "extension_days": 10, "reason": "Zona con lluvias persistentes"},
    )

    assert answer.status == 200, answer.body
    assert answer.body["extension_days"] == 10
    assert answer.body["extended_by"] == str(expert.id)
    assert answer.body["extended_by_email"] == expert.email
    with session_scope() as session:
        after = session.get(Detection, detection_id)
    assert after.expires_at == before.expires_at + timedelta(days=10)
    assert after.validity_days == before.validity_days + 10
    assert after.validity_extended_reason == "Zona con lluvias persistentes"
    assert after.validity_extended_by == expert.id
    assert after.validity_extended_at is not None


@pytest.mark.parametrize(
    "body",
    [
        {"extension_days": 0, "reason": "x"},
        {"extension_days": 366, "reason": "x"},
        {"extension_days": 5, "reason": ""},
        {"extension_days": 5, "reason": "x" * 501},
        {"extension_days": 5},
    ],
)
def test_extend_validity_refuses_bad_input(timeline, body):
    answer = call(
        "POST",
        "/api/v1/detections/extend-validity",
        user=timeline["expert"],
        body={"detection_id": str(timeline["in_12h"]), **body},
    )
    assert answer.status == 422


def test_extend_validity_of_an_unknown_detection_is_404(timeline):
    answer = call(
        "POST",
        "/api/v1/detections/extend-validity",
        user=timeline["expert"],
        body={"detection_id": str(uuid.uuid4()), "extension_days": 5, "reason": "x"},
    )
    assert answer.status == 404


def test_revalidate_restarts_validity_from_now_with_the_weather(timeline):
    # Basura (short term, 7 d) × ALTO 1.2 × RAINY 1.5 × validated 1.3 at confidence 0.8: int(16.38) = 16 days
    expert, detection_id = timeline["expert"], timeline["expired_long"]
    started = datetime.now(UTC)

    by_query = call(
        "POST", f"/api/v1/detections/{detection_id}/revalidate", user=expert, query={"weather_condition": "RAINY"}
    )
    sunny = call(
        "POST", f"/api/v1/detections/{detection_id}/revalidate", user=expert, body={"weather_condition": "SUNNY"}
    )

    assert by_query.status == 200, by_query.body
    assert by_query.body["detection"]["validity_days"] == 16
    assert by_query.body["detection"]["validation_status"] == "validated_positive"
    assert by_query.body["detection"]["validity"]["status"] == "VALID"
    assert sunny.body["detection"]["validity_days"] == 5  # 7 × 1.2 × 0.5 × 1.3 = 5.46
    with session_scope() as session:
        stored = session.get(Detection, detection_id)
    assert stored.validated_by == expert.id
    assert started + timedelta(days=5) <= stored.expires_at <= datetime.now(UTC) + timedelta(days=5)
    wrong = call(
        "POST", f"/api/v1/detections/{detection_id}/revalidate", user=expert, query={"weather_condition": "FOGGY"}
    )
    assert wrong.status == 422


def test_validity_stats_are_aggregates_over_what_the_caller_sees(timeline):
    mine = call("GET", "/api/v1/detections/validity-stats", user=timeline["alice"])
    everyone = call("GET", "/api/v1/detections/validity-stats", user=timeline["expert"])

    assert mine.status == 200, mine.body
    body = mine.body
    assert (body["total_detections"], body["active_detections"], body["expired_detections"]) == (5, 3, 2)
    assert (body["expiring_soon_detections"], body["revalidation_needed"], body["extended_detections"]) == (1, 3, 1)
    assert body["by_breeding_site"] == {"Basura": 3, "Huecos": 1, "Calles mal hechas": 1}
    assert body["by_persistence_type"] == {"SHORT_TERM": 3, "MEDIUM_TERM": 1, "LONG_TERM": 1}
    assert body["by_validation_status"] == {"pending": 5}
    assert body["by_risk_level"] == {"ALTO": 3, "MEDIO": 2}
    assert everyone.body["total_detections"] == 6
    # docs/openapi.json: `format: date-time` (RFC 3339, which requires an offset); the service answers in UTC
    assert datetime.fromisoformat(body["computed_at"].replace("Z", "+00:00")).utcoffset() == timedelta(0)


def test_one_detections_validity(timeline):
    alice = timeline["alice"]

    soon = call("GET", f"/api/v1/detections/{timeline['in_2_5d']}/validity", user=alice)
    gone = call("GET", f"/api/v1/detections/{timeline['expired_now']}/validity", user=alice)
    not_hers = call("GET", f"/api/v1/detections/{timeline['bobs_expired']}/validity", user=alice)
    malformed = call("GET", "/api/v1/detections/nope/validity", user=alice)

    assert soon.status == 200, soon.body
    assert (soon.body["status"], soon.body["remaining_days"], soon.body["validity_percentage"]) == (
        "LOW_VALIDITY",
        2,
        30,
    )
    assert (soon.body["is_expired"], soon.body["requires_revalidation"]) == (False, False)
    assert (gone.body["status"], gone.body["is_expired"], gone.body["requires_revalidation"]) == ("EXPIRED", True, True)
    assert (not_hers.status, malformed.status) == (404, 404)


def test_the_validity_lists_are_paged(timeline):
    alice = timeline["alice"]

    first = call("GET", "/api/v1/detections/expired", user=alice, query={"limit": 1})
    second = call("GET", "/api/v1/detections/expired", user=alice, query={"limit": 1, "offset": 1})
    soon = call("GET", "/api/v1/detections/expiring-soon", user=alice, query={"days_threshold": 30, "limit": 2})

    assert item_ids(first) == [str(timeline["expired_long"])]
    assert (first.body["total"], first.body["limit"], first.body["offset"], first.body["has_next"]) == (2, 1, 0, True)
    assert item_ids(second) == [str(timeline["expired_now"])]
    assert (second.body["total"], second.body["offset"], second.body["has_next"]) == (2, 1, False)
    assert item_ids(soon) == [str(timeline["in_12h"]), str(timeline["in_2_5d"])]
    assert (soon.body["total"], soon.body["limit"], soon.body["has_next"]) == (3, 2, True)


def test_validity_stats_average_to_one_decimal_and_expiring_soon_means_within_a_day(upload_env):
    carol, nobody = make_user(), make_user()
    for delta, days in ((timedelta(hours=36), 1), (timedelta(days=10), 1), (timedelta(days=20), 2)):
        detection_id = expiring_in(carol, delta)
        with session_scope() as session:
            session.get(Detection, detection_id).validity_days = days

    body = call("GET", "/api/v1/detections/validity-stats", user=carol).body
    empty = call("GET", "/api/v1/detections/validity-stats", user=nobody).body

    # (1 + 1 + 2) / 3 = 1.333… → 1.3; the one expiring in 36 hours is not "within a day"
    assert (body["total_detections"], body["average_validity_days"], body["expiring_soon_detections"]) == (3, 1.3, 0)
    assert (empty["total_detections"], empty["average_validity_days"]) == (0, None)
