"""Bounded queries (issue 14, point 5) through the real report handler on real PostgreSQL: a statement past its
route class's timeout is a 503 that tells the caller to narrow the filters and leaves nothing running; the
Lambda's remaining time caps the timeout; costly routes have per-user limits; a hotspot request whose
estimated cost is too high is refused before any DBSCAN runs."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.builders import LambdaContext, api_event
from tests.integration.report.conftest import call
from tests.integration.report.test_hotspots import CITY, noise, seed_points

pytestmark = pytest.mark.integration

SLEEP_S = 8  # the injected statement: much longer than the timeouts under test


@pytest.fixture
def settings_env(monkeypatch):
    """Set shared (DB_…) or report (REPORT_…) settings for one test."""
    from sentrix.config import get_settings
    from sentrix_report.settings import get_report_settings

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        get_report_settings.cache_clear()

    yield set_
    monkeypatch.undo()
    get_settings.cache_clear()
    get_report_settings.cache_clear()


@pytest.fixture
def slow_dbscan(monkeypatch):
    """Test hook: the hotspot query becomes a pg_sleep in the same transaction (same statement_timeout)."""
    from sentrix_report.dal.sql import rows
    from sentrix_report.logic import hotspots as logic

    def sleeping(session, **_kwargs):
        rows(session, f"SELECT pg_sleep({SLEEP_S})")
        return []

    monkeypatch.setattr(logic, "dbscan", sleeping)


def running_sleeps() -> list[str]:
    with session_scope() as session:
        return list(
            session.execute(
                text(
                    "SELECT query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
                    " AND query LIKE :pattern"
                ),
                {"pattern": f"%pg_sleep({SLEEP_S})%"},
            ).scalars()
        )


def analyze() -> None:
    from tests.support.admin import admin_engine

    # As the owner: for the application role ANALYZE only warns and skips the tables.
    with admin_engine().begin() as connection:
        connection.execute(text("ANALYZE analyses, detections"))


def seed_city_noise(owner, count: int = 40) -> None:
    """`count` located detections spread evenly over the city, and fresh table statistics (the estimate reads
    them, as autovacuum keeps them in production)."""
    seed_points(owner.id, noise(random.Random(3), count, []), [1] * count)
    analyze()


def invoke(path: str, caller, *, query: dict, timeout_s: int) -> dict:
    """The report handler with a Lambda context of `timeout_s` seconds; the raw response."""
    from sentrix_report.api import handler

    event = api_event("GET", path, query=query, authorizer=caller.authorizer)
    return handler(event, LambdaContext("ReportFunction", timeout_s))


def test_a_hotspot_statement_past_its_class_timeout_is_503_narrow_your_filters_and_nothing_keeps_running(
    expert, settings_env, slow_dbscan
):
    # Given the expert class's timeout at 1 s and a hotspot query that would take 8 s
    settings_env(DB_TIMEOUT_EXPERT_S=1)
    # When an expert asks for hotspots
    response = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "language": "en"})
    # Then the answer is a 503 in the envelope telling the caller to narrow the filters, with Retry-After (the 8 s
    # statement, had it been left to finish, would have answered 200: the timeout cut it short)
    assert response.status == 503
    error = response.json()["error"]
    assert error["code"] == "query_timeout"
    assert "narrow your filters" in error["message"]
    assert int(response.headers["retry-after"]) >= 1
    # And the cancelled statement is not running any more
    assert running_sleeps() == []


def test_the_timeout_message_is_in_the_callers_language(expert, settings_env, slow_dbscan):
    settings_env(DB_TIMEOUT_EXPERT_S=0.5)
    response = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "language": "es"})
    assert response.status == 503
    assert "acotá los filtros" in response.json()["error"]["message"]


def test_the_lambdas_remaining_time_caps_the_timeout(expert, monkeypatch):
    # Given an invocation with 2 s left (the expert class alone would allow 25 s)
    from sentrix_report.dal.sql import scalar
    from sentrix_report.logic import hotspots as logic

    seen: list[str] = []

    def record(session, **_kwargs):
        seen.append(scalar(session, "SELECT current_setting('statement_timeout')"))
        return []

    monkeypatch.setattr(logic, "dbscan", record)
    # When the expert asks for hotspots
    raw = invoke("/api/v1/map/hotspots", expert, query={"bbox": CITY}, timeout_s=2)
    # Then its statements ran under a timeout of at most 2 s (less the margin kept to answer)
    assert raw["statusCode"] == 200
    (setting,) = seen
    milliseconds = int(setting.removesuffix("ms")) if setting.endswith("ms") else int(setting.removesuffix("s")) * 1000
    assert 0 < milliseconds <= 2000


def test_a_slow_statement_dies_with_the_invocation_not_after_it(expert, slow_dbscan):
    # Given an invocation with 2 s left and a statement that would take 8 s (the expert class allows 25 s)
    raw = invoke("/api/v1/map/hotspots", expert, query={"bbox": CITY, "language": "en"}, timeout_s=2)
    # Then the request answers 503: only the invocation's cap can have cut the 8 s short (the class's 25 s would
    # have let it finish and answer 200), and nothing is left running
    assert raw["statusCode"] == 503
    assert json.loads(raw["body"])["error"]["code"] == "query_timeout"
    assert running_sleeps() == []


def test_public_routes_run_under_the_short_class_and_signed_in_reads_under_theirs(user, monkeypatch):
    from sentrix_report.logic import map_stats as logic

    seen: list[str] = []
    original = logic.session_scope

    def spying_scope():
        scope = original()
        session = scope.__enter__()
        seen.append(session.execute(text("SELECT current_setting('statement_timeout')")).scalar())
        return _Reentered(scope, session)

    monkeypatch.setattr(logic, "session_scope", spying_scope)
    assert call("GET", "/api/v1/map-stats").status == 200
    assert seen == ["5s"]


class _Reentered:
    def __init__(self, scope, session):
        self.scope, self.session = scope, session

    def __enter__(self):
        return self.session

    def __exit__(self, *exc):
        return self.scope.__exit__(*exc)


def test_hotspots_are_limited_per_user_and_another_user_is_unaffected(expert, admin, settings_env):
    # Given at most 3 hotspot requests per user and window
    settings_env(REPORT_HOTSPOTS_PER_WINDOW=3)
    # When one expert asks 4 times
    statuses = [call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY}).status for _ in range(4)]
    # Then the 4th is a 429 in the envelope with Retry-After
    assert statuses == [200, 200, 200, 429]
    refused = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "language": "en"})
    assert refused.status == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "at most 3" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    # And another user still gets hotspots
    assert call("GET", "/api/v1/map/hotspots", caller=admin, query={"bbox": CITY}).status == 200


def test_generated_reports_and_exports_have_their_own_limits(expert, settings_env):
    settings_env(REPORT_REPORTS_PER_WINDOW=1, REPORT_EXPORTS_PER_WINDOW=2)
    body = {"type": "summary", "format": "json"}
    assert call("POST", "/api/v1/reports/generate", caller=expert, body=body).status == 200
    assert call("POST", "/api/v1/reports/generate", caller=expert, body=body).status == 429
    exports = [call("GET", "/api/v1/exports/detections.csv", caller=expert).status for _ in range(3)]
    assert exports == [200, 200, 429]


def test_an_over_budget_hotspot_request_is_422_before_any_dbscan_runs(expert, other_user, settings_env, monkeypatch):
    # Given located detections spread over the city, and a budget of 100 compared pairs
    seed_city_noise(other_user)
    settings_env(REPORT_HOTSPOT_MAX_PAIRS=100)
    from sentrix_report.logic import hotspots as logic

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("DBSCAN ran")

    monkeypatch.setattr(logic, "dbscan", must_not_run)
    # When an expert asks for a huge radius over the city
    response = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "eps_m": 5000, "language": "en"})
    # Then it is refused with the reason and the estimate, and no DBSCAN ran
    assert response.status == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "smaller eps_m" in error["message"]
    assert error["details"]["estimated_pairs"] > error["details"]["max_pairs"] == 100
    assert error["details"]["eps_m"] == 5000


def test_the_default_radius_over_the_same_points_runs(expert, other_user, settings_env):
    seed_city_noise(other_user)
    settings_env(REPORT_HOTSPOT_MAX_PAIRS=100)
    response = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY})
    assert response.status == 200


def test_one_users_hotspot_requests_run_one_at_a_time_and_a_finished_one_frees_its_place(expert, admin):
    from sentrix.ratelimit import hold_slot

    # Given one hotspot request of the expert still running (its transaction holds the user's place)
    with session_scope() as running:
        hold_slot(running, f"report:hotspots:running:{expert.id}", 1, message="held")
        # When the same expert asks again, the request is refused with Retry-After; another user is not
        second = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "language": "en"})
        assert second.status == 429
        assert "at a time" in second.json()["error"]["message"]
        assert int(second.headers["retry-after"]) >= 1
        assert call("GET", "/api/v1/map/hotspots", caller=admin, query={"bbox": CITY}).status == 200
    # Then once the first has ended, the expert gets hotspots again
    assert call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY}).status == 200


def test_a_timed_out_hotspot_request_frees_its_place(expert, settings_env, slow_dbscan):
    settings_env(DB_TIMEOUT_EXPERT_S=0.5)
    assert call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY}).status == 503
    assert call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY}).status == 503  # not 429


@pytest.mark.parametrize(
    ("family", "method", "path", "body"),
    [
        ("reports", "POST", "/api/v1/reports/generate", {"type": "summary", "format": "json"}),
        ("exports", "GET", "/api/v1/exports/detections.csv", None),
    ],
)
def test_one_users_reports_and_export_pages_run_one_at_a_time(expert, family, method, path, body):
    from sentrix.ratelimit import hold_slot

    with session_scope() as running:
        hold_slot(running, f"report:{family}:running:{expert.id}", 1, message="held")
        assert call(method, path, caller=expert, body=body).status == 429
    assert call(method, path, caller=expert, body=body).status == 200


def test_the_cost_estimate_counts_the_points_inside_the_bbox_only(expert, other_user, settings_env):
    # Given 400 detections spread evenly over the city (fresh statistics) and a budget every request passes
    seed_city_noise(other_user, 400)
    settings_env(REPORT_HOTSPOT_MAX_PAIRS=1)
    west, south, east, north = map(float, CITY.split(","))
    quarter = (east - west) / 4, (north - south) / 4
    corner = f"{west},{south},{west + quarter[0]},{south + quarter[1]}"  # a sixteenth of the city

    def estimated(bbox: str) -> int:
        response = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": bbox})
        assert response.status == 422, response.body
        return response.json()["error"]["details"]["estimated_points"]

    # Then the planner's estimate for a sixteenth of the city is about a sixteenth of the points, not all of them
    whole, part = estimated(CITY), estimated(corner)
    assert whole >= 100 and part <= whole / 4, (whole, part)  # (the planner counted 198 and 13 here)
