"""Starving the database (issue 14, point 5): one user's parallel worst-case hotspot requests through the gateway.

The attack of the review: eight parallel hotspot requests with a huge radius over the city, repeated, took
anonymous map-stats from 0.26 s to 22.9 s, and a cancelled request's query kept running for minutes. Here each
worst case gets its exact refusal — 422 for parameters too costly to run (before any DBSCAN), 429 past the
user's quota or while their other hotspot request runs, 503 `query_timeout` ("narrow your filters") for a
statement past its class's timeout — no statement outlives its request, another user is not affected, and no
domain row or object changes. The benchmark half (map-stats p95 under the attack) is bench/bench_bounds.py.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from tests.security.conftest import _forget_function_caches
from tests.security.support import db_snapshot, never_5xx, refused, s3_snapshot

pytestmark = pytest.mark.integration

CITY = "-65.26,-26.86,-65.16,-26.76"
WORST = {"bbox": CITY, "eps_m": "5000", "min_points": "2", "include_expired": "true"}
SLEEP_S = 8


@pytest.fixture
def settings(monkeypatch):
    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        _forget_function_caches()

    yield set_
    monkeypatch.undo()
    _forget_function_caches()


@pytest.fixture
def city(world):
    """Located detections spread over the city, with fresh statistics (the cost estimate reads them)."""
    from sentrix.db.engine import session_scope
    from tests.support.admin import admin_engine
    from tests.support.seed import make_analysis

    rng = random.Random(11)
    west, south, east, north = map(float, CITY.split(","))
    with session_scope() as session:
        for _ in range(60):
            make_analysis(
                session,
                user=world.alice.id,
                latitude=rng.uniform(south, north),
                longitude=rng.uniform(west, east),
                detections=[1],
            )
    # As the owner: for the application role ANALYZE only warns and skips the tables.
    with admin_engine().begin() as connection:
        connection.execute(text("ANALYZE analyses, detections"))
    return world


def _parallel(api, headers, params, n=8):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: api.get("/map/hotspots", params=params, headers=headers), range(n)))


def _running(pattern: str) -> list[str]:
    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        return list(
            connection.execute(
                text("SELECT query FROM pg_stat_activity WHERE state = 'active' AND query LIKE :p"),
                {"p": pattern},
            ).scalars()
        )


def test_parallel_worst_case_hotspots_are_refused_before_any_dbscan_runs(api, city, s3, aws, settings, monkeypatch):
    settings(REPORT_HOTSPOT_MAX_PAIRS=500)
    from sentrix_report.logic import hotspots as logic

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("DBSCAN ran")

    monkeypatch.setattr(logic, "dbscan", must_not_run)
    before, objects = db_snapshot(), s3_snapshot(s3, aws.bucket)
    responses = _parallel(api, city.headers("expert"), WORST | {"language": "en"})
    for response in responses:
        error = refused(response, 422, "validation_error")
        assert "smaller eps_m" in error["message"]
        assert error["details"]["estimated_pairs"] > error["details"]["max_pairs"] == 500
    assert db_snapshot() == before and s3_snapshot(s3, aws.bucket) == objects


def test_a_statement_past_its_timeout_is_503_and_dies_with_its_request(api, city, s3, aws, settings, monkeypatch):
    settings(DB_TIMEOUT_EXPERT_S=1, REPORT_COSTLY_IN_FLIGHT_PER_USER=8)
    from sentrix_report.dal.sql import rows
    from sentrix_report.logic import hotspots as logic

    def sleeping(session, **_kwargs):
        rows(session, f"SELECT pg_sleep({SLEEP_S})")
        return []

    monkeypatch.setattr(logic, "dbscan", sleeping)
    before = db_snapshot()
    responses = _parallel(api, city.headers("expert"), {"bbox": CITY, "language": "en"}, n=4)
    for response in responses:
        error = refused(response, 503, "query_timeout")
        assert "narrow your filters" in error["message"]
        assert int(response.headers["retry-after"]) >= 1
    assert _running(f"%pg_sleep({SLEEP_S})%") == []
    assert db_snapshot() == before


def test_one_user_past_the_quota_is_429_and_another_user_is_not(api, city, settings):
    settings(REPORT_HOTSPOTS_PER_WINDOW=3)
    before = db_snapshot()
    responses = _parallel(api, city.headers("expert"), {"bbox": CITY})
    for response in responses:
        never_5xx(response)
    statuses = sorted(r.status_code for r in responses)
    # At most 3 ran; the rest were told when to come back (the quota, or the user's other request running)
    assert statuses.count(200) <= 3 and statuses.count(429) >= 5
    for response in responses:
        if response.status_code == 429:
            refused(response, 429, "rate_limited")
            assert int(response.headers["retry-after"]) >= 1
    assert api.get("/map/hotspots", params={"bbox": CITY}, headers=city.headers("admin")).status_code == 200
    assert db_snapshot() == before
