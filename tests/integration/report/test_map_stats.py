"""GET /map-stats: every figure against a value computed by hand from the seeded rows."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call, make_caller
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(user, other_user, expert):
    """Five counted analyses (two of `user`), plus one processing and one failed that must not count.

    Detections (7): A1 Basura (active, confirmed), Basura (expired), Huecos (rejected); A2 Calles (active,
    confirmed), Charcos (expired); A4 Charcos (active, no location); A7 Basura (expired). By default (active,
    not rejected) 3 count: A1's active Basura, A2's Calles, A4's Charcos; with expired ones 6 (all but Huecos).
    """
    now = datetime.now(UTC)
    # Expired before today began: aggregate-only audiences judge validity at the start of the (UTC) day.
    live, dead = now + timedelta(days=5), now - timedelta(days=1, hours=1)
    with session_scope() as s:
        a1 = make_analysis(
            s, user=user.id, latitude=-26.8005, longitude=-65.2005, created_at=now - timedelta(days=1),
            risk_level="ALTO",
            detections=[D(0, expires_at=live, validation_status="validated_positive"), D(0, expires_at=dead),
                        D(3, expires_at=dead, validation_status="validated_negative")],
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
    assert body["total_detections"] == 3
    assert body["high_risk_detections"] == 2  # A1's Basura and A4's Charcos (ALTO classes)
    assert body["locations_with_gps"] == 4
    assert body["gps_share"] == {"value": 0.8, "numerator": 4, "denominator": 5, "of": "analyses with a location",
                                 "per": "analyses"}  # fmt: skip
    assert body["risk_distribution"] == {"alto": 2, "medio": 1, "bajo": 1, "minimo": 1, "sin_nivel": 0}
    assert body["risk_distribution_pct"] == {"alto": 40.0, "medio": 20.0, "bajo": 20.0, "minimo": 20.0}
    assert body["active_detections"] == 3
    # A1 and A2 share one 0.001° cell; A7's cell only has an expired site; A4 has no location.
    assert body["active_zones"] == 1
    assert body["detection_types"] == [
        {"name": "Basura", "value": 1, "active": 1, "label": "Basura"},
        {"name": "Calles mal hechas", "value": 1, "active": 1, "label": "Calles en mal estado"},
        {"name": "Charcos/Cumulo de agua", "value": 1, "active": 1, "label": "Charcos o agua acumulada"},
    ]
    assert body["total_mask_area_px"] == 3 * 1200.0
    # Verdict tallies count every detection of the analyses, whatever the filters counted.
    assert body["expert_confirmation_rate"]["value"] == round(2 / 3, 4)
    assert (body["expert_confirmation_rate"]["numerator"], body["expert_confirmation_rate"]["denominator"]) == (2, 3)
    assert body["awaiting_validation"] == 4
    assert body["last_updated"] == seeded["a1_created"].astimezone(UTC).date().isoformat()  # the day, in public
    assert body["counted"] == "solo análisis completados"  # the anonymous default language
    assert body["coverage"]["verdict"] == "not_rejected" and body["coverage"]["validity"] == "active"
    assert "high_risk_detections" in body["counts_are"]


def test_expired_detections_count_when_asked_for_and_rejected_ones_only_by_verdict(seeded):
    body = call("GET", "/api/v1/map-stats", query={"include_expired": "true"}).json()
    assert (body["total_detections"], body["active_detections"], body["high_risk_detections"]) == (6, 3, 5)
    assert [(t["name"], t["value"], t["active"]) for t in body["detection_types"]] == [
        ("Basura", 3, 1),
        ("Charcos/Cumulo de agua", 2, 1),
        ("Calles mal hechas", 1, 1),
    ]
    everything = call("GET", "/api/v1/map-stats", query={"include_expired": "true", "verdict": "all"}).json()
    assert everything["total_detections"] == 7
    rejected = call("GET", "/api/v1/map-stats", query={"include_expired": "true", "verdict": "rejected"}).json()
    assert rejected["total_detections"] == 1
    assert [(t["name"], t["value"], t["active"]) for t in rejected["detection_types"]] == [("Huecos", 1, 0)]
    confirmed = call("GET", "/api/v1/map-stats", query={"verdict": "confirmed"}).json()
    assert confirmed["total_detections"] == 2  # A1's Basura and A2's Calles


def test_original_client_parameters_are_accepted(seeded):
    since = (seeded["now"] - timedelta(days=2)).date().isoformat()
    by_alias = call("GET", "/api/v1/map-stats", query={"date_from": since, "risk_level": "ALTO"}).json()
    assert by_alias["total_analyses"] == 2  # A1 and A7, both ALTO and from two days ago on
    until = (seeded["now"] - timedelta(days=4)).date().isoformat()
    assert call("GET", "/api/v1/map-stats", query={"date_to": until}).json()["total_analyses"] == 2  # A3, A4
    clash = call("GET", "/api/v1/map-stats", query={"date_from": since, "since": until})
    assert clash.status == 422


# When the seeded detections were found (days before `now`) and how many of them a trend counts (A1's rejected
# Huecos is out: the verdict filter applies, validity does not); A4 is ten days old.
FOUND = ((1, 2), (2, 1), (3, 2), (10, 1))


@pytest.mark.parametrize("zone", ["America/Argentina/Buenos_Aires", "Asia/Tokyo", "UTC"])
def test_weekly_trend_counts_per_calendar_day_of_the_callers_zone(seeded, expert, zone):
    """Experts see everything exactly, their own calendar days included (aggregate-only audiences: UTC days)."""

    with session_scope() as s:
        s.execute(text("INSERT INTO user_settings (user_id, settings) VALUES (:u, CAST(:s AS jsonb)) "
                       "ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings"),
                  {"u": expert.id, "s": json.dumps({"timezone": zone})})  # fmt: skip
    tz = ZoneInfo(zone)
    today = seeded["now"].astimezone(tz).date()
    # One more site found near a local midnight, where the local and the UTC calendar days differ: 00:30 east of
    # Greenwich, 23:30 west of it, two local days ago.
    local = datetime.combine(today - timedelta(days=2), time(0, 30) if zone == "Asia/Tokyo" else time(23, 30), tz)
    assert zone == "UTC" or local.date() != local.astimezone(UTC).date()
    days = [today - timedelta(days=6 - i) for i in range(7)]
    # And the trend's first local day from its first minutes (east of Greenwich, still the UTC day before), a
    # site found half an hour before it not counted.
    first = datetime.combine(days[0], time(0, 30), tz)
    before = datetime.combine(days[0], time(0, 0), tz) - timedelta(minutes=30)
    with session_scope() as s:
        for moment in (local, first, before):
            make_analysis(s, user=expert.id, latitude=-26.9, longitude=-65.3, created_at=moment.astimezone(UTC),
                          detections=[D(0)])  # fmt: skip
    body = call("GET", "/api/v1/map-stats", caller=expert).json()
    found = Counter({local.date(): 1, first.date(): 1})
    for ago, n in FOUND:
        found[(seeded["now"] - timedelta(days=ago)).astimezone(tz).date()] += n
    assert [t["date"] for t in body["weekly_trend"]] == [d.isoformat() for d in days]
    assert [t["detections"] for t in body["weekly_trend"]] == [found[d] for d in days]
    assert body["weekly_trend_timezone"] == zone


def test_weekly_trend_of_aggregate_only_audiences_is_in_utc_days_with_spanish_day_names(seeded, user):
    """One public day grid for everyone who sees others' data only aggregated: a caller's own zone would shift
    the day edges against the (UTC-day) date filters and split a day."""
    with session_scope() as s:
        s.execute(text("INSERT INTO user_settings (user_id, settings) VALUES (:u, '{\"timezone\": \"Asia/Tokyo\"}')"),
                  {"u": user.id})  # fmt: skip
    assert call("GET", "/api/v1/map-stats", caller=user).json()["weekly_trend_timezone"] == "UTC"
    trend = call("GET", "/api/v1/map-stats").json()["weekly_trend"]
    today = seeded["now"].astimezone(UTC).date()
    assert trend[-1]["date"] == today.isoformat()
    names = ["Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"]
    assert trend[-1]["day"] == names[today.weekday()]


def test_signed_in_callers_also_get_their_own_figures(seeded, user):
    body = call("GET", "/api/v1/map-stats", caller=user).json()
    assert body["total_analyses"] == 5  # the public figures stay system-wide
    own = body["own"]
    assert (own["total_analyses"], own["total_detections"], own["active_detections"]) == (2, 2, 2)
    assert own["risk_distribution"] == {"alto": 1, "medio": 0, "bajo": 1, "minimo": 0, "sin_nivel": 0}
    assert "own" not in call("GET", "/api/v1/map-stats").json()


def test_bbox_and_since_filters(seeded):
    body = call("GET", "/api/v1/map-stats", query={"bbox": "-65.21,-26.81,-65.19,-26.79"}).json()
    assert (body["total_analyses"], body["total_detections"]) == (2, 2)
    query = {"bbox": "-65.21,-26.81,-65.19,-26.79", "include_expired": "true"}
    assert call("GET", "/api/v1/map-stats", query=query).json()["total_detections"] == 4
    since = seeded["now"] - timedelta(days=2, hours=12)
    body = call("GET", "/api/v1/map-stats", query={"since": since.isoformat()}).json()
    # An instant widens to its whole UTC day for aggregate-only audiences: A1, A7, and A2 when it was
    # created on that day (three days ago at this hour, 2.5 days ago at midnight: only before 12:00 UTC)
    day = since.astimezone(UTC).date()
    created = [seeded["now"] - timedelta(days=d) for d in (1, 2, 3)]
    assert body["total_analyses"] == sum(c.astimezone(UTC).date() >= day for c in created)
    assert body["filters"]["date_from"] == day.isoformat()


def test_empty_database_gives_zeros_not_inventions(db):
    # An expert sees the empty figures as they are; the public sees an empty area as a withheld one (no
    # reporters is fewer than k), so that withheld never tells that somebody reported there.
    public = call("GET", "/api/v1/map-stats").json()
    assert public["k_anonymity"] == {"min_reporters": 1, "withheld": True}
    assert (public["total_analyses"], public["weekly_trend"], public["last_updated"]) == (None, [], None)
    body = call("GET", "/api/v1/map-stats", caller=make_caller("expert", "empty@example.org")).json()
    assert body["k_anonymity"] == {"min_reporters": 1, "withheld": False}
    assert (body["total_analyses"], body["total_detections"], body["active_zones"]) == (0, 0, 0)
    assert body["detection_types"] == []
    assert body["last_updated"] is None
    assert [t["detections"] for t in body["weekly_trend"]] == [0] * 7
    assert body["expert_confirmation_rate"]["value"] is None
    assert "model_accuracy" not in body  # the original's constant 87.3 is gone


def test_the_notes_speak_the_callers_language(seeded):
    notes = {lang: call("GET", "/api/v1/map-stats", query={"language": lang}).json() for lang in ("es", "en", "pt")}
    assert [notes[lang]["counted"] for lang in ("es", "en", "pt")] == [
        "solo análisis completados", "completed analyses only", "somente análises concluídas"]  # fmt: skip
    assert notes["en"]["counts_are"]["high_risk_detections"].startswith("counted detections of ALTO risk")
    assert notes["pt"]["weekly_trend_is"].startswith("detecções encontradas por dia")
    english = call("GET", "/api/v1/map-stats", headers={"Accept-Language": "en-GB,en;q=0.8"}).json()
    assert english["scope"] == "all users (aggregated)"
