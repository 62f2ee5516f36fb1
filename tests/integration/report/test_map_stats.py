"""GET /map-stats: every figure against a value computed by hand from the seeded rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(user, other_user, expert):
    """Five counted analyses (two of `user`), plus one processing and one failed that must not count.

    Detections (7 counted): A1 Basura (active), Basura (expired), Huecos (active); A2 Calles (active),
    Charcos (expired); A4 Charcos (active, no location); A7 Basura (expired).
    """
    now = datetime.now(UTC)
    live, dead = now + timedelta(days=5), now - timedelta(hours=1)
    with session_scope() as s:
        a1 = make_analysis(
            s, user=user.id, latitude=-26.8005, longitude=-65.2005, created_at=now - timedelta(days=1),
            risk_level="ALTO",
            detections=[D(0, expires_at=live, validation_status="validated_positive"), D(0, expires_at=dead),
                        D(3, expires_at=live, validation_status="validated_negative")],
        )  # fmt: skip
        make_analysis(
            s, user=other_user.id, latitude=-26.8007, longitude=-65.2007, created_at=now - timedelta(days=3),
            risk_level="MEDIO",
            detections=[D(1, expires_at=live, validation_status="validated_positive"), D(2, expires_at=dead)],
        )  # fmt: skip
        make_analysis(s, user=other_user.id, latitude=-26.9055, longitude=-65.3055, risk_level="MINIMO",
                      created_at=now - timedelta(days=4))  # fmt: skip
        make_analysis(s, user=user.id, created_at=now - timedelta(days=10), risk_level="BAJO",
                      detections=[D(2, expires_at=live)])  # fmt: skip
        make_analysis(s, user=other_user.id, latitude=-26.7505, longitude=-65.1505, created_at=now - timedelta(days=2),
                      risk_level="ALTO", detections=[D(0, expires_at=dead)])  # fmt: skip
        # Not counted: still processing (newer than everything) and failed
        make_analysis(s, user=user.id, latitude=-26.8, longitude=-65.2, status="processing", detections=[0, 0])
        make_analysis(s, user=user.id, latitude=-26.8, longitude=-65.2, status="failed")
    return {"a1_created": a1.created_at, "now": now}


def test_every_figure_matches_the_hand_count(seeded):
    body = call("GET", "/api/v1/map-stats").json()

    assert body["total_analyses"] == 5
    assert body["total_detections"] == 7
    assert body["locations_with_gps"] == 4
    assert body["gps_share"] == {"value": 0.8, "numerator": 4, "denominator": 5, "of": "analyses with a location",
                                 "per": "analyses"}  # fmt: skip
    assert body["risk_distribution"] == {"alto": 2, "medio": 1, "bajo": 1, "minimo": 1, "sin_nivel": 0}
    assert body["risk_distribution_pct"] == {"alto": 40.0, "medio": 20.0, "bajo": 20.0, "minimo": 20.0}
    assert body["active_detections"] == 4
    # A1 and A2 share one 0.001° cell; A7's cell only has an expired site; A4 has no location.
    assert body["active_zones"] == 1
    assert body["detection_types"] == [
        {"name": "Basura", "value": 3, "active": 1, "label": "Basura"},
        {"name": "Charcos/Cumulo de agua", "value": 2, "active": 1, "label": "Charcos o agua acumulada"},
        {"name": "Calles mal hechas", "value": 1, "active": 1, "label": "Calles en mal estado"},
        {"name": "Huecos", "value": 1, "active": 1, "label": "Huecos"},
    ]
    assert body["total_mask_area_px"] == 7 * 1200.0
    assert body["expert_confirmation_rate"]["value"] == round(2 / 3, 4)
    assert (body["expert_confirmation_rate"]["numerator"], body["expert_confirmation_rate"]["denominator"]) == (2, 3)
    assert body["awaiting_validation"] == 4
    assert body["last_updated"] == seeded["a1_created"].isoformat()
    assert body["counted"] == "completed analyses only"
    assert "expires_at" in body["active"]


def test_weekly_trend_counts_detections_per_utc_day_oldest_first(seeded):
    trend = call("GET", "/api/v1/map-stats").json()["weekly_trend"]
    today = seeded["now"].date()
    assert [t["date"] for t in trend] == [(today - timedelta(days=6 - i)).isoformat() for i in range(7)]
    # A2 three days ago (2), A7 two days ago (1), A1 yesterday (3); A4 is ten days old
    assert [t["detections"] for t in trend] == [0, 0, 0, 2, 1, 3, 0]
    names = ["Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"]
    assert trend[-1]["day"] == names[today.weekday()]


def test_signed_in_callers_also_get_their_own_figures(seeded, user):
    body = call("GET", "/api/v1/map-stats", caller=user).json()
    assert body["total_analyses"] == 5  # the public figures stay system-wide
    own = body["own"]
    assert (own["total_analyses"], own["total_detections"], own["active_detections"]) == (2, 4, 3)
    assert own["risk_distribution"] == {"alto": 1, "medio": 0, "bajo": 1, "minimo": 0, "sin_nivel": 0}
    assert "own" not in call("GET", "/api/v1/map-stats").json()


def test_bbox_and_since_filters(seeded):
    body = call("GET", "/api/v1/map-stats", query={"bbox": "-65.21,-26.81,-65.19,-26.79"}).json()
    assert (body["total_analyses"], body["total_detections"]) == (2, 5)
    since = (seeded["now"] - timedelta(days=2, hours=12)).isoformat()
    body = call("GET", "/api/v1/map-stats", query={"since": since}).json()
    assert body["total_analyses"] == 2  # A1 (1 day) and A7 (2 days)
    assert body["filters"]["date_from"].startswith(since[:19])


def test_empty_database_gives_zeros_not_inventions(db):
    body = call("GET", "/api/v1/map-stats").json()
    assert (body["total_analyses"], body["total_detections"], body["active_zones"]) == (0, 0, 0)
    assert body["detection_types"] == []
    assert body["last_updated"] is None
    assert [t["detections"] for t in body["weekly_trend"]] == [0] * 7
    assert body["expert_confirmation_rate"]["value"] is None
    assert "model_accuracy" not in body  # the original's constant 87.3 is gone
