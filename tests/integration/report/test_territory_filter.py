"""`territory` on statistics and exports: the analyses tagged with the code or any territory below it
(docs/territories.md). Territories written by SQL (the import is tested in tests/integration/upload), tags
set by `territory_at` as detect and the import do."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import make_analysis

pytestmark = pytest.mark.integration

SQUARE = "ST_Multi(ST_MakeEnvelope(:w, :s, :e, :n, 4326))"


def territory(session, code, parent, w, s, e, n):
    session.execute(
        text(
            f"INSERT INTO territories (code, name, parent_code, geometry, area_m2) "  # noqa: S608 - constant
            f"VALUES (:code, :code, :parent, {SQUARE}, ST_Area(CAST({SQUARE} AS geography)))"
        ),
        {"code": code, "parent": parent, "w": w, "s": s, "e": e, "n": n},
    )


@pytest.fixture
def seeded(user, expert):
    """A city C with areas H1 (west) and H2 (east), N1 inside H1; analyses: two in N1, one in H1 only, one in H2,
    one outside C."""
    with session_scope() as s:
        territory(s, "C", None, -65.30, -26.90, -65.10, -26.70)
        territory(s, "H1", "C", -65.30, -26.90, -65.20, -26.70)
        territory(s, "H2", "C", -65.20, -26.90, -65.15, -26.70)
        territory(s, "N1", "H1", -65.25, -26.82, -65.22, -26.78)
        points = [(-26.80, -65.235), (-26.81, -65.24), (-26.85, -65.28), (-26.85, -65.17), (-27.5, -65.22)]
        for lat, lon in points:
            make_analysis(s, user=user.id, latitude=lat, longitude=lon, risk_level="ALTO", detections=[0])
        s.execute(text("UPDATE analyses SET territory_code = territory_at(location)"))


ALL_TIME = {"include_expired": "true"}


@pytest.mark.parametrize(("code", "expected"), [("N1", 2), ("H1", 3), ("H2", 1), ("C", 4), ("NOWHERE", 0)])
def test_statistics_count_the_territory_and_below(seeded, expert, code, expected):
    response = call("GET", "/api/v1/reports/statistics", caller=expert, query={**ALL_TIME, "territory": code})

    assert response.status == 200, response.json()
    assert response.json()["total_analyses"] == expected


def test_exports_keep_the_territory_and_below(seeded, expert):
    response = call("GET", "/api/v1/exports/detections.geojson", caller=expert, query={"territory": "H1"})

    assert response.status == 200
    features = response.json()["features"]
    points = sorted(
        (round(f["geometry"]["coordinates"][1], 3), round(f["geometry"]["coordinates"][0], 3)) for f in features
    )
    assert points == [(-26.85, -65.28), (-26.81, -65.24), (-26.8, -65.235)]


def test_statistics_grouped_by_territory(seeded, expert):
    roots = call("GET", "/api/v1/reports/statistics", caller=expert, query={**ALL_TIME, "group_by": "territory"})
    below_c = call(
        "GET", "/api/v1/reports/statistics", caller=expert,
        query={**ALL_TIME, "group_by": "territory", "territory": "C"},
    )  # fmt: skip

    assert roots.status == 200, roots.json()
    # One root (C) holding four analyses of one detection each; the fifth is outside every territory
    assert roots.json()["by_territory"] == [{"code": "C", "name": "C", "analyses": 4, "detections": 4}]
    assert below_c.json()["by_territory"] == [
        {"code": "H1", "name": "H1", "analyses": 3, "detections": 3},
        {"code": "H2", "name": "H2", "analyses": 1, "detections": 1},
    ]
    plain = call("GET", "/api/v1/reports/statistics", caller=expert, query=ALL_TIME).json()
    assert "by_territory" not in plain


def test_an_aggregate_report_keeps_the_territory_and_below(seeded, expert):
    body = {"type": "summary", "format": "json", "filters": {"include_expired": True, "territory": "H1"}}

    response = call("POST", "/api/v1/reports/generate", caller=expert, body=body)

    assert response.status == 200, response.json()
    answer = response.json()
    assert answer["report"]["filters"] == {"include_expired": True, "territory": "H1"}
    assert (answer["data"]["summary"]["analyses"], answer["data"]["summary"]["detections"]) == (3, 3)
