"""The public map-stats rollup (migration 0020) and the answers of GET /map-stats against one plain SQL statement.

- After every kind of write (detect's store order, validations and their withdrawal, validity changes, deletes,
  moves, a status leaving `completed`, a user's deletion, TRUNCATE) the trigger-maintained tables equal a
  rebuild, and the figures read from them equal the live query's.
- The anonymous route's answer equals a plain SQL statement written here (no rollup, no code under test) for
  the whole data set and for bbox, date-range, risk, verdict and validity filters, active and not.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sentrix.db.engine import get_engine, session_scope
from tests.integration.report.conftest import call
from tests.integration.report.test_map_rollup import _blocked_by
from tests.support.admin import admin_engine
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

# Each group's sum over its shards (a write adds to the shard of its analysis' cell; only sums mean anything).
TABLES = {
    "map_stats_analyses": (
        "SELECT day, risk_key, located, sum(n) FROM map_stats_analyses GROUP BY 1, 2, 3 HAVING sum(n) <> 0 "
        "ORDER BY 1, 2, 3"
    ),
    "map_stats_reporters": "SELECT user_id, n FROM map_stats_reporters WHERE n <> 0 ORDER BY 1",
    "map_stats_detections": (
        "SELECT site_key, alto, status, expiry_day, sum(n), sum(mask_area) FROM map_stats_detections "
        "GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 OR sum(mask_area) <> 0 ORDER BY 1, 2, 3, 4"
    ),
    "map_stats_found": "SELECT day, status, sum(n) FROM map_stats_found GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2",
    "map_stats_zones": "SELECT zx, zy, expires FROM map_stats_zones WHERE expires IS NOT NULL ORDER BY 1, 2",
}

# The same question as one plain statement over the base tables: the public view of map-stats (validity at the
# UTC midnight `as_of`, UTC days), for the analyses `{where}` selects. Written for this test, independently.
PLAIN = """
WITH a AS (SELECT * FROM analyses WHERE status = 'completed' AND {where}),
d AS (SELECT d.*, a.location AS spot FROM detections d JOIN a ON a.id = d.analysis_id),
c AS (SELECT * FROM d WHERE validation_status IN ({verdicts}) AND (:all OR expires_at > :as_of))
SELECT
    (SELECT count(*) FROM a) AS total_analyses,
    (SELECT count(*) FROM a WHERE location IS NOT NULL) AS locations_with_gps,
    (SELECT count(*) FROM a WHERE risk_level = 'ALTO') AS alto,
    (SELECT count(*) FROM a WHERE risk_level = 'MEDIO') AS medio,
    (SELECT count(*) FROM a WHERE risk_level = 'BAJO') AS bajo,
    (SELECT count(*) FROM a WHERE risk_level = 'MINIMO') AS minimo,
    (SELECT count(*) FROM a WHERE risk_level IS NULL) AS sin_nivel,
    (SELECT to_char(max(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM a) AS last_updated,
    (SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM a) AS first_analysis,
    (SELECT count(*) FROM c) AS total_detections,
    (SELECT count(*) FROM c WHERE expires_at > :as_of) AS active_detections,
    (SELECT count(*) FROM c WHERE risk_level = 'ALTO') AS high_risk_detections,
    (SELECT coalesce(sum(mask_area), 0) FROM c) AS total_mask_area_px,
    (SELECT count(*) FROM (SELECT DISTINCT floor(ST_X(spot) / 0.001), floor(ST_Y(spot) / 0.001) FROM c
                           WHERE expires_at > :as_of AND spot IS NOT NULL) AS z) AS active_zones,
    (SELECT count(*) FROM d WHERE validation_status = 'validated_positive') AS positive,
    (SELECT count(*) FROM d WHERE validation_status = 'validated_negative') AS negative,
    (SELECT count(*) FROM d WHERE validation_status IN ('pending', 'requires_review')) AS awaiting_validation,
    (SELECT coalesce(json_agg(json_build_array(name, n, active) ORDER BY n DESC, name), '[]') FROM (
        SELECT coalesce(breeding_site_type::text, 'Otro') AS name, count(*) AS n,
               count(*) FILTER (WHERE expires_at > :as_of) AS active
        FROM c GROUP BY 1) AS t) AS types,
    (SELECT json_agg(json_build_array(to_char(g, 'YYYY-MM-DD'),
                     (SELECT count(*) FROM d WHERE validation_status IN ({verdicts})
                      AND (created_at AT TIME ZONE 'UTC')::date = g::date)) ORDER BY g)
     FROM generate_series(CAST(:as_of AS date) - 6, CAST(:as_of AS date), interval '1 day') AS g) AS trend
"""
VERDICTS = {
    None: "'pending', 'requires_review', 'validated_positive'",
    "all": "'pending', 'requires_review', 'validated_positive', 'validated_negative'",
    "confirmed": "'validated_positive'",
}


def _midnight() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def plain(*, where: str = "TRUE", params: dict | None = None, include_expired: bool = False, verdict=None) -> dict:
    sql = PLAIN.format(where=where, verdicts=VERDICTS[verdict])
    with session_scope() as s:
        row = s.execute(text(sql), {"as_of": _midnight(), "all": include_expired, **(params or {})}).mappings().one()
    return dict(row)


def route_figures(query: dict | None = None) -> dict:
    """The anonymous answer's figures in PLAIN's shape."""
    body = call("GET", "/api/v1/map-stats", query=query).json()
    levels = body["risk_distribution"]
    return {
        "total_analyses": body["total_analyses"],
        "locations_with_gps": body["locations_with_gps"],
        **{k: levels[k] for k in ("alto", "medio", "bajo", "minimo", "sin_nivel")},
        "last_updated": body["last_updated"],
        "first_analysis": body["first_analysis"],
        "total_detections": body["total_detections"],
        "active_detections": body["active_detections"],
        "high_risk_detections": body["high_risk_detections"],
        "total_mask_area_px": body["total_mask_area_px"],
        "active_zones": body["active_zones"],
        "positive": body["expert_confirmation_rate"]["numerator"],
        "negative": body["expert_confirmation_rate"]["denominator"] - body["expert_confirmation_rate"]["numerator"],
        "awaiting_validation": body["awaiting_validation"],
        "types": [[t["name"], t["value"], t["active"]] for t in body["detection_types"]],
        "trend": [[day["date"][:10], day["detections"]] for day in body["weekly_trend"]],
    }


def _state() -> dict:
    with session_scope() as s:
        return {name: [tuple(r) for r in s.execute(text(sql))] for name, sql in TABLES.items()}


def _figures(rollup: bool, active_only: bool) -> dict:
    """The public figures over everything from the rollup or from the live query, at today's UTC midnight."""
    from sentrix_report.dal.map_stats import map_stats, map_stats_rollup
    from sentrix_report.logic.filters import DataFilters
    from sentrix_report.logic.scope import apply_filters, counted, counted_detections, found_detections

    as_of = _midnight()
    with session_scope() as s:
        if rollup:
            return map_stats_rollup(s, as_of=as_of, active_only=active_only)
        filters = DataFilters(include_expired=not active_only)
        return map_stats(s, where=apply_filters(counted("a"), filters), detections=counted_detections(filters, as_of),
                         found=found_detections(filters, as_of), as_of=as_of, timezone="UTC")  # fmt: skip


def assert_consistent() -> dict:
    """Incremental state == rebuilt, the rollup's figures == the live ones, the route == the plain statement."""
    incremental = _state()
    for active_only in (True, False):
        rolled, live = _figures(True, active_only), _figures(False, active_only)
        # The live query's days are instants; the rollup knows their UTC day, all a public answer shows.
        for key in ("last_updated", "first_analysis"):
            rolled[key], live[key] = (v[key] and v[key].astimezone(UTC).date() for v in (rolled, live))
        assert rolled == live, active_only
    assert route_figures() == plain()
    assert route_figures({"include_expired": "true"}) == plain(include_expired=True)
    with session_scope() as s:
        s.execute(text("SELECT map_stats_rebuild()"))
    assert _state() == incremental
    return incremental


def _add_detection(s, analysis_id, *, class_id=0, name="Basura", site="Basura", risk="ALTO", days=7, area=10.5):
    return s.execute(
        text(
            "INSERT INTO detections (id, analysis_id, class_id, class_name, breeding_site_type, confidence, "
            "risk_level, polygon, bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, mask_area, validation_status, "
            "persistence_type, validity_days, expires_at, created_at, location) SELECT gen_random_uuid(), :a, :k, :c, "
            "CAST(:t AS breeding_site_type), 0.9, CAST(:r AS risk_level), '[]', 0, 0, 1, 1, :m, 'pending', "
            "'SHORT_TERM', 7, now() + make_interval(days => :d), now(), location FROM analyses WHERE id = :a "
            "RETURNING id"
        ),
        {"a": analysis_id, "k": class_id, "c": name, "t": site, "r": risk, "d": days, "m": area},
    ).scalar()


@pytest.fixture
def city(user, other_user, expert):
    """Counted analyses of three people in two zones of one public cell, a third cell and no place; detections
    of every verdict, some expired before today, some found in the last days; one analysis still processing."""
    now = datetime.now(UTC)
    live, dead = now + timedelta(days=5), now - timedelta(days=1, hours=1)
    with session_scope() as s:
        a1 = make_analysis(s, user=user.id, latitude=-26.8005, longitude=-65.2005, created_at=now - timedelta(days=1),
                           detections=[D(0, expires_at=live, validation_status="validated_positive", mask_area=100.5),
                                       D(0, expires_at=dead),
                                       D(3, expires_at=live, validation_status="validated_negative"),
                                       D(7, expires_at=live, mask_area=None)]).id  # fmt: skip
        a2 = make_analysis(s, user=other_user.id, latitude=-26.8035, longitude=-65.2075,
                           created_at=now - timedelta(days=3), risk_level="MEDIO",
                           detections=[D(1, expires_at=live, validation_status="requires_review"),
                                       D(2, expires_at=dead, created_at=now - timedelta(days=20))]).id  # fmt: skip
        a3 = make_analysis(s, user=expert.id, latitude=-26.9055, longitude=-65.3055, risk_level="MINIMO",
                           created_at=now - timedelta(days=40)).id  # fmt: skip
        a4 = make_analysis(s, user=user.id, created_at=now - timedelta(days=10), risk_level="BAJO",
                           detections=[D(2, expires_at=live, mask_area=3.25)]).id  # fmt: skip
        a5 = make_analysis(s, user=other_user.id, latitude=-26.7505, longitude=-65.1505,
                           created_at=now - timedelta(days=2), detections=[D(0, expires_at=dead), D(3)]).id  # fmt: skip
        a6 = make_analysis(s, user=user.id, latitude=-26.8005, longitude=-65.2005, status="processing",
                           detections=[0, 0]).id  # fmt: skip
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5, "a6": a6}


def test_every_kind_of_write_keeps_the_map_stats_rollup_exact(city, user):
    state = assert_consistent()
    assert state["map_stats_reporters"] and state["map_stats_zones"]

    # Detect's order: the analysis completed first, its detections inserted after, in one transaction.
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET status = 'completed' WHERE id = :id"), {"id": city["a6"]})
        _add_detection(s, city["a6"], class_id=3, name="Huecos", site="Huecos", risk="MEDIO")
    assert_consistent()
    # The other order: detections of an analysis still processing count once it completes.
    with session_scope() as s:
        late = make_analysis(s, user=user.id, latitude=-26.70, longitude=-65.10, status="processing").id
        _add_detection(s, late, days=1)
    assert_consistent()
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET status = 'completed' WHERE id = :id"), {"id": late})
    assert_consistent()

    # A rejection ends validity (its zone may go quiet); taking it back restores both; a confirmation.
    with session_scope() as s:
        s.execute(text("UPDATE detections SET validation_status = 'validated_negative', unrejected_expires_at = "
                       "expires_at, expires_at = now() WHERE analysis_id = :a"), {"a": late})  # fmt: skip
    assert_consistent()
    with session_scope() as s:
        s.execute(text("UPDATE detections SET validation_status = 'pending', expires_at = unrejected_expires_at, "
                       "unrejected_expires_at = NULL WHERE analysis_id = :a"), {"a": late})  # fmt: skip
        s.execute(text("UPDATE detections SET validation_status = 'validated_positive' WHERE analysis_id = :a"),
                  {"a": city["a2"]})  # fmt: skip
    assert_consistent()
    # Validity extended and shortened; a type, a risk and an area corrected.
    with session_scope() as s:
        s.execute(text("UPDATE detections SET expires_at = now() + interval '30 days' WHERE analysis_id = :a "
                       "AND expires_at < now()"), {"a": city["a1"]})  # fmt: skip
        s.execute(text("UPDATE detections SET expires_at = now() - interval '3 days' WHERE analysis_id = :a"),
                  {"a": city["a4"]})  # fmt: skip
        s.execute(text("UPDATE detections SET breeding_site_type = NULL, risk_level = 'BAJO', mask_area = 7.5 "
                       "WHERE analysis_id = :a AND class_id = 0"), {"a": city["a5"]})  # fmt: skip
    assert_consistent()

    # Moves, a backdated upload, a changed level, a failure.
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET location = ST_SetSRID(ST_MakePoint(-65.4, -26.6), 4326) WHERE id = :id"),
                  {"id": city["a2"]})  # fmt: skip
        s.execute(text("UPDATE analyses SET location = ST_SetSRID(ST_MakePoint(-65.21, -26.81), 4326) WHERE id = :id"),
                  {"id": city["a4"]})  # fmt: skip
        s.execute(text("UPDATE analyses SET created_at = created_at - interval '400 days', risk_level = NULL "
                       "WHERE id = :id"), {"id": city["a3"]})  # fmt: skip
    assert_consistent()
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET status = 'failed' WHERE id = :id"), {"id": city["a5"]})
    assert_consistent()

    # Deletes (the owner's: the application role deletes no detection by itself): a site, an analysis, a user.
    with admin_engine().begin() as s:
        s.execute(text("DELETE FROM detections WHERE id = (SELECT id FROM detections WHERE analysis_id = :a "
                       "ORDER BY id LIMIT 1)"), {"a": city["a1"]})  # fmt: skip
    assert_consistent()
    with admin_engine().begin() as s:
        s.execute(text("DELETE FROM analyses WHERE id = :id"), {"id": city["a1"]})
    assert_consistent()
    with admin_engine().begin() as s:
        s.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})  # analyses keep, without a person
    state = assert_consistent()
    assert all(row[0] != user.id for row in state["map_stats_reporters"])

    # TRUNCATE rebuilds.
    with admin_engine().begin() as connection:
        connection.execute(text("TRUNCATE detections"))
    state = assert_consistent()
    assert not state["map_stats_detections"] and not state["map_stats_zones"]


@pytest.mark.parametrize(
    ("query", "where", "params"),
    [
        # Public answers widen a bbox to whole 0.01° cells (this one to -65.22..-65.19, -26.82..-26.79), ending a
        # nanodegree before the next cell's west and south edges.
        ({"bbox": "-65.215,-26.815,-65.195,-26.795"},
         "location && ST_MakeEnvelope(-65.22, -26.82, -65.19 - 1e-9, -26.79 - 1e-9, 4326)", {}),
        ({"bbox": "-65.305,-26.905,-65.105,-26.705"},
         "location && ST_MakeEnvelope(-65.31, -26.91, -65.10 - 1e-9, -26.70 - 1e-9, 4326)", {}),
        ({"date_from": "DAY-3", "date_to": "DAY-1"},
         "created_at >= CAST(:lo AS date)::timestamp AT TIME ZONE 'UTC' "
         "AND created_at < (CAST(:hi AS date) + 1)::timestamp AT TIME ZONE 'UTC'", {"lo": 3, "hi": 1}),
        ({"risk_level": "MEDIO"}, "risk_level = 'MEDIO'", {}),
        ({"risk_level": "ALTO", "include_expired": "true"}, "risk_level = 'ALTO'", {}),
        ({"verdict": "all"}, "TRUE", {}),
        ({"verdict": "confirmed", "include_expired": "true"}, "TRUE", {}),
        ({"unit": "sites"}, "TRUE", {}),
    ],
)  # fmt: skip
def test_the_route_answers_what_one_plain_statement_answers(city, query, where, params):
    today = _midnight().date()
    days = {k: (today - timedelta(days=v)).isoformat() for k, v in params.items()}
    query = {k: (today - timedelta(days=int(v[4:]))).isoformat() if str(v).startswith("DAY-") else v
             for k, v in query.items()}  # fmt: skip
    expected = plain(where=where, params=days, include_expired=query.get("include_expired") == "true",
                     verdict=query.get("verdict"))  # fmt: skip
    assert route_figures(query) == expected
    assert expected["total_analyses"] > 0  # the filter keeps something: equality over nothing would prove little


def test_the_anonymous_whole_map_stats_read_the_rollup(city):
    """Proof that the route reads the tables: a count only the rollup has shows; a filtered answer does not."""
    with session_scope() as s:
        s.execute(text("UPDATE map_stats_analyses SET n = n + 1000 WHERE risk_key = 'MINIMO'"))
    body = call("GET", "/api/v1/map-stats").json()
    assert body["risk_distribution"]["minimo"] == 1001
    assert call("GET", "/api/v1/map-stats", query={"include_expired": "true"}).json()["total_analyses"] == 1005
    assert call("GET", "/api/v1/map-stats", query={"risk_level": "MINIMO"}).json()["total_analyses"] == 1


def test_k_anonymity_withholds_the_rollup_figures_as_it_does_the_live_ones(user, other_user, monkeypatch):
    """Two reporters with the default k = 3: every public figure is null from the rollup too."""
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_PUBLIC_MIN_REPORTERS", "3")
    get_report_settings.cache_clear()
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=-26.8005, longitude=-65.2005, detections=[0])
        make_analysis(s, user=other_user.id, latitude=-26.8035, longitude=-65.2075, detections=[1])
    whole = call("GET", "/api/v1/map-stats").json()  # from the rollup
    live = call("GET", "/api/v1/map-stats", query={"bbox": "-66,-27,-65,-26"}).json()  # the same analyses, live
    assert whole["k_anonymity"]["withheld"] is True and whole["total_analyses"] is None
    assert whole["weekly_trend"] == [] and whole["risk_distribution"]["alto"] is None
    figures = ("total_analyses", "total_detections", "active_zones", "risk_distribution", "weekly_trend",
               "detection_types", "expert_confirmation_rate", "last_updated", "k_anonymity")  # fmt: skip
    assert {k: whole[k] for k in figures} == {k: live[k] for k in figures}


def test_concurrent_writers_keep_the_sums(city, user, other_user):
    """Two transactions adding detections to two analyses of one public cell at once: the second waits for the
    first (the cell's rows, the shard of today's trend row), and both are counted, none lost. (Writers in
    neighbouring cells do not wait for each other: tests/integration/upload/test_sites_concurrency.py.)"""
    engine = get_engine()
    first = engine.connect()
    transaction = first.begin()
    _add_detection(first, city["a1"])
    done = threading.Event()

    def second() -> None:
        with engine.begin() as connection:
            _add_detection(connection, city["a2"], class_id=3, name="Huecos", site="Huecos", risk="MEDIO")
        done.set()

    worker = threading.Thread(target=second, daemon=True)
    worker.start()
    holder = first.execute(text("SELECT pg_backend_pid()")).scalar()
    assert _blocked_by(holder, done), "the second writer never waited for the first one's rows"  # the trend's day
    transaction.commit()
    first.close()
    worker.join(timeout=30)
    assert done.is_set()
    assert_consistent()


def test_an_analysis_completing_while_its_detections_are_written_counts_them_once(user):
    """One transaction inserts detections into an analysis still processing while another completes it: the
    second waits for the first (the detections' trigger holds the analysis FOR SHARE), then counts them. Without
    the lock each would read the other's state from before, and the detections would count nowhere."""
    with session_scope() as s:
        pending = make_analysis(s, user=user.id, latitude=-26.70, longitude=-65.10, status="processing").id
    engine = get_engine()
    first = engine.connect()
    transaction = first.begin()
    _add_detection(first, pending)
    _add_detection(first, pending, class_id=3, name="Huecos", site="Huecos", risk="MEDIO")
    done = threading.Event()

    def second() -> None:
        with engine.begin() as connection:
            connection.execute(text("UPDATE analyses SET status = 'completed' WHERE id = :id"), {"id": pending})
        done.set()

    worker = threading.Thread(target=second, daemon=True)
    worker.start()
    holder = first.execute(text("SELECT pg_backend_pid()")).scalar()
    assert _blocked_by(holder, done), "completing the analysis never waited for the detections' writer"
    transaction.commit()
    first.close()
    worker.join(timeout=30)
    assert done.is_set()
    assert assert_consistent()["map_stats_zones"]
    assert route_figures({"include_expired": "true"})["total_detections"] == 2


def test_the_rollup_reads_the_utc_midnight_it_is_given_in_any_zone_and_refuses_other_instants(city, monkeypatch):
    """The rollup knows expiries and trend days by UTC day: `as_of` must be a UTC midnight, in whatever zone the
    caller wrote it, and the process' own zone (a Lambda's is UTC, a developer's may not be) changes nothing."""
    import time as clock
    from zoneinfo import ZoneInfo

    from sentrix_report.dal.map_stats import map_stats_rollup

    midnight = _midnight()
    with session_scope() as s:
        in_utc = map_stats_rollup(s, as_of=midnight, active_only=True)
        # (the figures of the day before differ: reading the wrong day would show)
        assert map_stats_rollup(s, as_of=midnight - timedelta(days=1), active_only=True) != in_utc
    monkeypatch.setenv("TZ", "America/Argentina/Buenos_Aires")  # UTC-3: a UTC midnight is 21:00 the day before
    clock.tzset()
    try:
        with session_scope() as s:
            buenos_aires = midnight.astimezone(ZoneInfo("America/Argentina/Buenos_Aires"))
            assert map_stats_rollup(s, as_of=buenos_aires, active_only=True) == in_utc
            for not_midnight in (midnight + timedelta(hours=3), midnight - timedelta(microseconds=1)):
                with pytest.raises(ValueError, match=r"^the map-stats rollup judges validity at a UTC midnight only$"):
                    map_stats_rollup(s, as_of=not_midnight, active_only=True)
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()
