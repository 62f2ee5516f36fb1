"""GET /alerts, /alerts/{id}, /alerts/levels through the report handler (docs/alerts.md, *Routes*).

The world, built by the daily computation on hand-placed sites (tests/integration/report/alert_world.py):

    OLD    H1, 3 sites reported 1 Nov: opened 2 Nov (yellow), closed 23 Nov after 21 quiet days
    NEAR   H1, 3 sites 2 km east of OLD reported 21 Nov: opened 22 Nov (yellow)
    BIG    H2, 10 sites reported 20 Nov: opened 23 Nov (red: 10 sites)

So on 23 Nov: H1 yellow (NEAR), H2 red (BIG), C (above both) red.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from tests.integration.report.alert_world import H2_LON, alerts, at, run, site, territories
from tests.integration.report.conftest import call, make_caller

pytestmark = pytest.mark.integration


@pytest.fixture
def world(db):
    territories()
    old = [site(m, at(11, 1)) for m in (0, 100, 200)]
    run(at(11, 2))
    near = [site(2000 + m, at(11, 21)) for m in (0, 100, 200)]
    run(at(11, 22))
    big = [site(100 * i, at(11, 20), lon=H2_LON) for i in range(10)]
    run(at(11, 23))
    by_territory = {(a["territory_code"], a["status"]): a["id"] for a in alerts()}
    return {
        "OLD": str(by_territory[("H1", "closed")]),
        "NEAR": str(by_territory[("H1", "open")]),
        "BIG": str(by_territory[("H2", "open")]),
        "sites": {"OLD": old, "NEAR": near, "BIG": big},
    }


def official_of(code: str, email: str):
    official = make_caller(Role.OFFICIAL, email)
    with session_scope() as s:
        s.execute(
            text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, :c)"),
            {"u": official.id, "c": code},
        )
    return official


def ids(response) -> list[str]:
    assert response.status == 200, response.json()
    return [item["id"] for item in response.json()["items"]]


def test_experts_list_every_alert_open_first_then_latest_changed(world, expert):
    response = call("GET", "/api/v1/alerts", caller=expert)

    assert ids(response) == [world["BIG"], world["NEAR"], world["OLD"]]
    body = response.json()
    assert (body["total"], body["has_next"]) == (3, False)
    big = body["items"][0]
    assert (big["status"], big["level"], big["site_count"], big["territory"]) == ("open", "red", 10, "H2")
    old = body["items"][2]
    assert (old["status"], old["level"], old["closed_reason"], old["closed_at"]) == (
        "closed",
        "yellow",
        "quiet",
        "2026-11-23T12:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"level": "red"}, ["BIG"]),
        ({"level": "yellow"}, ["NEAR", "OLD"]),
        ({"status": "closed"}, ["OLD"]),
        ({"status": "open"}, ["BIG", "NEAR"]),
        ({"territory": "H1"}, ["NEAR", "OLD"]),
        ({"territory": "C"}, ["BIG", "NEAR", "OLD"]),
        ({"territory": "NOWHERE"}, []),
        ({"since": "2026-11-23"}, ["BIG", "OLD"]),
        ({"since": "2026-11-22T12:00:01+00:00"}, ["BIG", "OLD"]),
        ({"since": "2026-11-22T12:00:00"}, ["BIG", "NEAR", "OLD"]),
        ({"territory": "H1", "status": "open"}, ["NEAR"]),
    ],
)
def test_filters(world, admin, query, expected):
    assert ids(call("GET", "/api/v1/alerts", caller=admin, query=query)) == [world[n] for n in expected]


def test_pages_carry_the_real_total(world, expert):
    response = call("GET", "/api/v1/alerts", caller=expert, query={"limit": 1, "offset": 1})

    assert ids(response) == [world["NEAR"]]
    assert (response.json()["total"], response.json()["has_next"]) == (3, True)
    beyond = call("GET", "/api/v1/alerts", caller=expert, query={"limit": 1, "offset": 5})
    assert ids(beyond) == [] and beyond.json()["total"] == 3


def test_one_alert_has_its_sites_and_timeline(world, expert):
    response = call("GET", f"/api/v1/alerts/{world['OLD']}", caller=expert, query={"language": "en"})

    assert response.status == 200, response.json()
    body = response.json()
    assert {s["site_id"] for s in body["sites"]} == {str(s) for s in world["sites"]["OLD"]}
    assert all(s["current"] and s["via"] == "cluster" and s["territory"] == "H1" for s in body["sites"])
    assert body["sites_outside_scope"] == 0
    assert [(e["kind"], e["at"], e["message"]) for e in body["timeline"]] == [
        ("opened", "2026-11-02T12:00:00+00:00", "Cluster found: 3 confirmed sites within 150 m of one another"),
        ("closed", "2026-11-23T12:00:00+00:00", "Closed: 21 days without a new confirmed site"),
    ]


def test_the_timeline_speaks_the_callers_language(world, expert):
    response = call("GET", f"/api/v1/alerts/{world['BIG']}", caller=expert, query={"language": "es"})

    assert response.json()["timeline"][0]["message"] == (
        "Conglomerado detectado: 10 sitios confirmados a menos de 150 m uno de otro"
    )


def test_officials_see_the_alerts_of_their_territories_only(world):
    official = official_of("H2", "funcionaria@example.org")

    assert ids(call("GET", "/api/v1/alerts", caller=official)) == [world["BIG"]]
    assert ids(call("GET", "/api/v1/alerts", caller=official, query={"territory": "H1"})) == []
    inside = call("GET", f"/api/v1/alerts/{world['BIG']}", caller=official)
    assert inside.status == 200 and len(inside.json()["sites"]) == 10
    outside = call("GET", f"/api/v1/alerts/{world['NEAR']}", caller=official)
    assert outside.status == 404 and outside.json()["error"]["code"] == "not_found"


def test_an_official_of_the_city_sees_everything_below_it(world):
    official = official_of("C", "ciudad@example.org")

    assert ids(call("GET", "/api/v1/alerts", caller=official)) == [world["BIG"], world["NEAR"], world["OLD"]]


def test_an_official_sees_only_the_sites_of_their_scope(world, expert):
    # one more site of NEAR's cluster, 120 m further east but given H2's tag (a border case, as the smallest
    # territory decides): an H1 official sees three sites and is told one more lies outside their scope
    extra = site(2320, at(11, 24))
    with session_scope() as s:
        s.execute(text("UPDATE sites SET territory_code = 'H2' WHERE id = :id"), {"id": extra})
    run(at(11, 24))
    official = official_of("H1", "h1@example.org")

    body = call("GET", f"/api/v1/alerts/{world['NEAR']}", caller=official).json()

    assert {s["site_id"] for s in body["sites"]} == {str(s) for s in world["sites"]["NEAR"]}
    assert body["sites_outside_scope"] == 1
    assert len(call("GET", f"/api/v1/alerts/{world['NEAR']}", caller=expert).json()["sites"]) == 4


def test_users_may_not_read_alerts(world, user):
    listed = call("GET", "/api/v1/alerts", caller=user, query={"language": "en"})
    one = call("GET", f"/api/v1/alerts/{world['BIG']}", caller=user)

    assert listed.status == 403 and one.status == 403
    assert listed.json()["error"]["message"] == "Cluster alerts are for experts, admins and officials"
    assert "H2" not in str(one.json())


def test_every_signed_in_caller_reads_the_territory_levels(world, user):
    response = call("GET", "/api/v1/alerts/levels", caller=user, query={"language": "en"})

    assert response.status == 200, response.json()
    body = response.json()
    assert [(i["territory"], i["level"], i["since"]) for i in body["items"]] == [
        ("C", "red", "2026-11-23T12:00:00+00:00"),
        ("H1", "yellow", "2026-11-02T12:00:00+00:00"),
        ("H2", "red", "2026-11-23T12:00:00+00:00"),
    ]
    assert body["rules"]["red_sites"] == 10 and body["rules"]["radius_m"] == 150
    assert "site" not in str(body["items"])
    assert [
        i["territory"]
        for i in call("GET", "/api/v1/alerts/levels", caller=user, query={"level": "red"}).json()["items"]
    ] == ["C", "H2"]


def test_levels_of_territories_without_any_alert_are_green(world, user):
    with session_scope() as s:
        s.execute(
            text(
                "INSERT INTO territories (code, name, geometry, area_m2) "
                "VALUES ('Z', 'Z', ST_Multi(ST_MakeEnvelope(10, 10, 11, 11, 4326)), 1)"
            )
        )

    items = call("GET", "/api/v1/alerts/levels", caller=user, query={"territory": "Z"}).json()["items"]

    assert items == [{"territory": "Z", "name": "Z", "parent": None, "level": "green", "since": None}]


@pytest.mark.parametrize(
    "query",
    [{"level": "orange"}, {"status": "ajar"}, {"since": "yesterday"}, {"since": "1800-01-01"}, {"limit": 0},
     {"limit": 101}, {"offset": -1}, {"page": 2}, {"territory": "x" * 65}],
)  # fmt: skip
def test_bad_parameters_are_422(world, expert, query):
    response = call("GET", "/api/v1/alerts", caller=expert, query=query)

    assert response.status == 422, response.json()
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("alert_id", ["not-a-uuid", str(uuid.UUID(int=1))])
def test_unknown_alerts_are_404(world, expert, alert_id):
    response = call("GET", f"/api/v1/alerts/{alert_id}", caller=expert)

    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"
