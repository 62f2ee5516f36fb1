"""Officials in the report function (docs/territories.md, *Officials*): statistics, exports, hotspots and
aggregate reports count the analyses of their territories and below, plus their own; a territory outside them
is 403; another territory's single analysis is 404. Data: test_territory_filter's city C with areas H1 (N1 inside
it) and H2: two analyses in N1, one in H1 only, one in H2, one outside C, all another user's.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from tests.integration.report.conftest import call, make_caller
from tests.integration.report.test_territory_filter import seeded  # noqa: F401 - the fixture
from tests.support.seed import make_analysis

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("seeded")]

ALL_TIME = {"include_expired": "true"}


@pytest.fixture
def official(db):
    person = make_caller(Role.OFFICIAL, "oficial@example.org")
    with session_scope() as s:
        s.execute(
            text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, 'H1')"), {"u": person.id}
        )
        # Their own report, outside every territory: theirs, so counted too
        make_analysis(s, user=person.id, latitude=-27.9, longitude=-64.0, detections=[1])
    return person


def analyses(caller, **query):
    response = call("GET", "/api/v1/reports/statistics", caller=caller, query={**ALL_TIME, **query})
    return response


def test_statistics_count_their_territories_and_their_own(official):
    body = analyses(official).json()

    # N1 (2) and H1 only (1) are inside H1; H2 and the one outside C are not; plus their own
    assert body["total_analyses"] == 4 and body["total_detections"] == 4
    assert body["scope"] == "official territories"
    assert body["unit"] == "sites"  # an official's default unit


@pytest.mark.parametrize(("code", "expected"), [("H1", 3), ("N1", 2)])
def test_a_territory_inside_narrows(official, code, expected):
    response = analyses(official, territory=code)

    assert response.status == 200, response.json()
    assert response.json()["total_analyses"] == expected


@pytest.mark.parametrize("code", ["H2", "C", "NOWHERE"])
def test_a_territory_outside_is_403(official, code):
    response = analyses(official, territory=code)

    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_exports_and_hotspots_follow_the_scope(official):
    features = call("GET", "/api/v1/exports/detections.geojson", caller=official, query=ALL_TIME).json()["features"]
    outside = call("GET", "/api/v1/map/hotspots", caller=official, query={**ALL_TIME, "territory": "H2"})

    points = sorted((round(f["geometry"]["coordinates"][1], 3), round(f["geometry"]["coordinates"][0], 3))
                    for f in features)  # fmt: skip
    assert points == [(-27.9, -64.0), (-26.85, -65.28), (-26.81, -65.24), (-26.8, -65.235)]
    assert outside.status == 403


def test_aggregate_reports_follow_the_scope(official):
    inside = call("POST", "/api/v1/reports/generate", caller=official,
                  body={"type": "summary", "format": "json", "filters": {"include_expired": True}})  # fmt: skip
    outside = call("POST", "/api/v1/reports/generate", caller=official,
                   body={"type": "summary", "format": "json", "filters": {"territory": "H2"}})  # fmt: skip

    assert inside.status == 200, inside.json()
    assert inside.json()["report"]["rows"]["analyses"] == 4
    assert inside.json()["report"]["scope"] == "official territories"
    assert outside.status == 403


def test_a_single_analysis_outside_is_404_inside_200(official):
    with session_scope() as s:
        ids = dict(
            s.execute(text("SELECT territory_code, id FROM analyses WHERE territory_code IN ('H2', 'N1')")).all()
        )

    inside = call("GET", f"/api/v1/analyses/{ids['N1']}/export", caller=official, query={"format": "json"})
    outside = call("GET", f"/api/v1/analyses/{ids['H2']}/export", caller=official, query={"format": "json"})

    assert inside.status == 200
    assert outside.status == 404


def test_users_still_read_only_their_own(official, user):
    assert analyses(user).json()["total_analyses"] == 5  # the seeded user's five, whatever the territories
    assert analyses(user).json()["unit"] == "detections"


def test_the_scope_sql_selects_what_visible_to_selects_for_officials(official):
    from sqlalchemy import select

    from sentrix.db.models import Analysis
    from sentrix.http.identity import Principal
    from sentrix.repositories.analyses import visible_to
    from sentrix_report.logic.scope import Scope

    principal = Principal(official.id, Role.OFFICIAL)
    where = Scope.of(principal).analyses("a")
    with session_scope() as s:
        ours = set(s.execute(text("SELECT a.id FROM analyses a WHERE " + where.sql()), where.params).scalars())  # noqa: S608
        shared = set(s.scalars(visible_to(principal, select(Analysis.id))))

    assert ours == shared and len(ours) == 4
