"""Dashboard statistics: every number against the hand count of the seeded rows, scoped to the caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

CELL_A, CELL_B, CELL_C, CELL_D = (-26.8005, -65.2005), (-26.7005, -65.1005), (-26.6005, -65.0005), (-26.5005, -65.5005)


@pytest.fixture
def seeded(user, other_user, expert):
    """Six counted analyses (U1, U2 of `user`; O1-O4 of `other_user`), six detections, two validations."""
    now = datetime.now(UTC)
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    with session_scope() as s:
        u1 = make_analysis(s, user=user.id, latitude=CELL_A[0], longitude=CELL_A[1], created_at=ago(5),
                           risk_level="ALTO",
                           detections=[D(0, validation_status="validated_positive", validated_by=expert.id,
                                         validated_at=now - timedelta(seconds=1)), D(0)])  # fmt: skip
        u2 = make_analysis(s, user=user.id, latitude=CELL_B[0], longitude=CELL_B[1], created_at=ago(40),
                           risk_level="MEDIO", detections=[3])  # fmt: skip
        o1 = make_analysis(s, user=other_user.id, latitude=CELL_A[0], longitude=CELL_A[1], created_at=ago(10),
                           risk_level="ALTO",
                           detections=[D(0), D(2, validation_status="validated_negative", validated_by=expert.id,
                                               validated_at=ago(3))])  # fmt: skip
        o2 = make_analysis(s, user=other_user.id, created_at=ago(45), risk_level="BAJO", detections=[1])
        o3 = make_analysis(s, user=other_user.id, latitude=CELL_C[0], longitude=CELL_C[1], created_at=ago(100),
                           risk_level="MINIMO")  # fmt: skip
        o4 = make_analysis(s, user=other_user.id, latitude=CELL_D[0], longitude=CELL_D[1], created_at=ago(20),
                           risk_level="BAJO")  # fmt: skip
        make_analysis(s, user=user.id, latitude=CELL_A[0], longitude=CELL_A[1], status="processing", detections=[0])
    return {"now": now, "analyses": [u1, u2, o1, o2, o3, o4], "u1": u1, "o1": o1}


ALL_TIME = {"include_expired": "true"}


def test_statistics_for_an_expert(seeded, expert):
    body = call("GET", "/api/v1/reports/statistics", caller=expert, query=ALL_TIME).json()
    assert body["total_analyses"] == 6
    assert body["total_detections"] == 5  # O1's Charcos was rejected by an expert
    assert body["high_risk_detections"] == 3  # U1 2 Basura, O1 Basura
    assert body["monitored_locations"] == 4  # cells A, B, C, D (U1 and O1 share A)
    assert body["active_users"] == 2
    # Every earlier window counts fewer than 10: no percentage, the terms and the reason instead.
    below = {"change_pct": None, "reason": "base_below_minimum", "min_base": 10}
    assert body["monthly_change_detail"] == {
        "total_analyses": {"current": 3, "previous": 2, "difference": 1, **below},  # U1, O1, O4 vs U2, O2
        "high_risk_detections": {"current": 3, "previous": 0, "difference": 3, **below},
        "monitored_locations": {"current": 2, "previous": 1, "difference": 1, **below},  # A, D vs B
        "active_users": {"current": 2, "previous": 2, "difference": 0, **below},
    }
    assert body["monthly_change"] == {"total_analyses": None, "high_risk_detections": None,
                                      "monitored_locations": None, "active_users": None}  # fmt: skip
    assert body["scope"] == "all users" and body["counted"] == "solo análisis completados"


def test_statistics_for_a_user_are_their_own(seeded, user, other_user):
    body = call("GET", "/api/v1/reports/statistics", caller=user, query=ALL_TIME).json()
    assert (body["total_analyses"], body["total_detections"], body["high_risk_detections"]) == (2, 3, 2)
    assert body["monitored_locations"] == 2
    assert body["monthly_change_detail"]["total_analyses"] == {
        "current": 1, "previous": 1, "difference": 0, "change_pct": None, "reason": "base_below_minimum", "min_base": 10
    }  # fmt: skip
    assert body["scope"] == f"user {user.id}"
    response = call("GET", "/api/v1/reports/statistics", caller=user, query={"user_id": str(other_user.id)})
    assert response.status == 403


def test_experts_may_narrow_to_one_user(seeded, expert, other_user):
    query = {"user_id": str(other_user.id), **ALL_TIME}
    body = call("GET", "/api/v1/reports/statistics", caller=expert, query=query).json()
    assert (body["total_analyses"], body["total_detections"]) == (4, 2)
    rejected = call("GET", "/api/v1/reports/statistics", caller=expert, query={**query, "verdict": "rejected"}).json()
    assert (rejected["total_detections"], rejected["high_risk_detections"]) == (1, 1)


def _analyses(owner, *, current: int, previous: int) -> None:
    """`current` analyses 5 days old and `previous` 45 days old, one ALTO detection each, no location."""
    now = datetime.now(UTC)
    with session_scope() as s:
        for days, count in ((5, current), (45, previous)):
            for _ in range(count):
                make_analysis(s, user=owner, created_at=now - timedelta(days=days), detections=[0])


def test_a_change_from_a_base_below_the_minimum_is_null_with_its_reason(expert, other_user, monkeypatch):
    from sentrix_report.settings import get_report_settings

    _analyses(other_user.id, current=48, previous=3)  # the "+1500 % from 3"

    body = call("GET", "/api/v1/reports/statistics", caller=expert).json()

    assert body["monthly_change"]["total_analyses"] is None
    assert body["monthly_change_detail"]["total_analyses"] == {
        "current": 48, "previous": 3, "difference": 45, "change_pct": None, "reason": "base_below_minimum",
        "min_base": 10,
    }  # fmt: skip
    assert "menos de 10" in body["definitions"]["monthly_change"]

    monkeypatch.setenv("REPORT_CHANGE_MIN_BASE", "3")  # the minimum is a setting
    get_report_settings.cache_clear()
    body = call("GET", "/api/v1/reports/statistics", caller=expert).json()
    assert body["monthly_change"]["total_analyses"] == 1500.0  # (48 - 3) / 3 x 100
    assert body["monthly_change_detail"]["total_analyses"]["reason"] is None
    get_report_settings.cache_clear()


def test_a_change_from_a_base_at_the_minimum_is_given_with_its_terms(expert, other_user):
    _analyses(other_user.id, current=25, previous=10)

    body = call("GET", "/api/v1/reports/statistics", caller=expert).json()

    figure = {"current": 25, "previous": 10, "difference": 15, "change_pct": 150.0, "reason": None, "min_base": 10}
    assert body["monthly_change_detail"]["total_analyses"] == figure  # (25 - 10) / 10 x 100
    assert body["monthly_change_detail"]["high_risk_detections"] == figure  # one ALTO detection each
    assert body["monthly_change"]["total_analyses"] == 150.0
    assert body["monthly_change_detail"]["active_users"] == {  # one user in both windows
        "current": 1, "previous": 1, "difference": 0, "change_pct": None, "reason": "base_below_minimum",
        "min_base": 10,
    }  # fmt: skip
    assert body["monthly_change"]["monitored_locations"] is None  # no located analysis: 0 from 0


def test_risk_distribution_counts_analyses(seeded, expert):
    body = call("GET", "/api/v1/reports/risk-distribution", caller=expert).json()
    assert [(r["level"], r["value"], r["percentage"]) for r in body["data"]] == [
        ("ALTO", 2, 33.33),
        ("MEDIO", 1, 16.67),
        ("BAJO", 2, 33.33),
        ("MINIMO", 1, 16.67),
    ]
    assert body["total"] == 6
    assert [r["name"] for r in body["data"]] == ["Alto", "Medio", "Bajo", "Mínimo"]


def test_monthly_analyses_per_calendar_month(seeded, expert):
    body = call("GET", "/api/v1/reports/monthly-analyses", caller=expert, query={"months": 4}).json()
    now = seeded["now"]
    months = []
    year, month = now.year, now.month
    for _ in range(4):
        months.insert(0, f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    expected = {m: 0 for m in months}
    detections = {m: 0 for m in months}
    for a in seeded["analyses"]:
        key = a.created_at.astimezone(UTC).strftime("%Y-%m")
        if key in expected:
            expected[key] += 1
            detections[key] += a.total_detections
    # O1's Charcos was rejected by an expert: found that month, but not a breeding site
    detections[seeded["o1"].created_at.astimezone(UTC).strftime("%Y-%m")] -= 1
    assert [(r["month"], r["count"], r["detections"]) for r in body["data"]] == [
        (m, expected[m], detections[m]) for m in months
    ]
    assert call("GET", "/api/v1/reports/monthly-analyses", caller=expert, query={"months": 0}).status == 422


def test_recent_activity_merges_analyses_and_validations(seeded, expert, user):
    body = call("GET", "/api/v1/reports/recent-activity", caller=expert, query={"limit": 3}).json()
    assert [(r["type"], r["analysis_id"]) for r in body["data"]] == [
        ("detection_validated", str(seeded["u1"].id)),
        ("detection_validated", str(seeded["o1"].id)),
        ("analysis_completed", str(seeded["u1"].id)),
    ]
    assert body["data"][1]["validation_status"] == "validated_negative"
    mine = call("GET", "/api/v1/reports/recent-activity", caller=user, query={"limit": 10}).json()["data"]
    assert {r["analysis_id"] for r in mine} == {str(seeded["u1"].id), str(seeded["analyses"][1].id)}


def test_validation_stats(seeded, expert, user):
    body = call("GET", "/api/v1/reports/validation-stats", caller=expert).json()
    assert (body["pending_validations"], body["requires_review"]) == (4, 0)
    assert (body["validated_positive"], body["validated_negative"]) == (1, 1)
    assert (body["validated_today"], body["validated_last_7_days"], body["validated_last_30_days"]) == (1, 2, 2)
    assert body["positive_rate"]["value"] == 0.5
    assert (body["reviewed_share"]["numerator"], body["reviewed_share"]["denominator"]) == (2, 6)
    # U1's validation came 5 days (120 h) after the detection, O1's 7 days (168 h): mean and median 144 h
    assert body["mean_hours_to_validation"] == pytest.approx(144.0, abs=0.01)
    assert body["median_hours_to_validation"] == pytest.approx(144.0, abs=0.01)
    throughput = body["throughput_per_day"]
    assert len(throughput) == 14 and throughput[-1]["validated"] == 1 and sum(t["validated"] for t in throughput) == 2
    assert body["top_validators"] == [
        {"user_id": str(expert.id), "name": expert.email, "role": "expert", "validated": 2}
    ]

    own = call("GET", "/api/v1/reports/validation-stats", caller=user).json()
    assert (own["pending_validations"], own["validated_positive"], own["validated_negative"]) == (2, 1, 0)
    assert "top_validators" not in own


def test_every_dashboard_route_needs_a_caller(db):
    for path in ("statistics", "risk-distribution", "monthly-analyses", "recent-activity", "validation-stats"):
        assert call("GET", f"/api/v1/reports/{path}").status == 401


def test_validation_stats_of_one_user_in_the_callers_language(seeded, expert, other_user):
    """An expert narrowing to one user gets that user's figures only, in the language asked for, as of a UTC
    instant (docs/report.md: days and "today" are UTC)."""
    query = {"user_id": str(other_user.id), "language": "en"}
    body = call("GET", "/api/v1/reports/validation-stats", caller=expert, query=query).json()
    # other_user: O1 (one pending, one rejected) and O2 (one pending); U1's confirmation is not theirs.
    assert (body["pending_validations"], body["validated_positive"], body["validated_negative"]) == (2, 0, 1)
    assert body["top_validators"] == [
        {"user_id": str(expert.id), "name": expert.email, "role": "expert", "validated": 1}
    ]
    assert body["scope"] == f"user {other_user.id}"
    assert body["hours_to_validation_is"] == "validated_at - detection created_at, validations of the last 30 days"
    assert body["counted"] == "completed analyses only"
    assert datetime.fromisoformat(body["as_of"]).utcoffset() == timedelta(0)


def test_a_users_risk_distribution_counts_their_own_analyses(seeded, user):
    body = call("GET", "/api/v1/reports/risk-distribution", caller=user, query={"language": "en"}).json()
    # U1 is ALTO, U2 MEDIO: one each of two; every level is listed
    assert [(r["level"], r["value"], r["percentage"]) for r in body["data"]] == [
        ("ALTO", 1, 50.0),
        ("MEDIO", 1, 50.0),
        ("BAJO", 0, 0.0),
        ("MINIMO", 0, 0.0),
    ]
    assert body["total"] == 2 and body["scope"] == f"user {user.id}"
    assert [r["name"] for r in body["data"]] == ["High", "Medium", "Low", "Minimal"]


def test_the_oldest_pending_detection_is_dated(seeded, expert, user):
    # O2 (45 days old) holds the oldest detection still pending; the expert sees it, `user` sees U2 (40 days)
    body = call("GET", "/api/v1/reports/validation-stats", caller=expert).json()
    o2 = seeded["analyses"][3]
    assert datetime.fromisoformat(body["oldest_pending"]) == o2.created_at
    own = call("GET", "/api/v1/reports/validation-stats", caller=user).json()
    assert datetime.fromisoformat(own["oldest_pending"]) == seeded["analyses"][1].created_at


def test_nothing_pending_has_no_oldest(expert):
    body = call("GET", "/api/v1/reports/validation-stats", caller=expert).json()
    assert body["oldest_pending"] is None and body["pending_validations"] == 0
