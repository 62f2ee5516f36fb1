"""The withheld-or-empty adversary against the public map-stats (docs/report.md, *Few people, no figures*).

Vera reports twice from her home, alone in her 0.01° public cell and in the whole neighbourhood around it; three
other people report together in a cell far to the east, and Eve, a signed-in citizen, reports far to the west.
With k = 3 (the default) Vera's area is below k. The adversary — anonymous, and Eve, whose own figures come in
`own` — has an unlimited request budget: map-stats over her cell, boxes around her home of every size and boxes
whose edges sweep through her cell, each day around her reports, every verdict, both validities, every risk level,
both units. Were an area below k answered `withheld` and an empty area with zeros, narrowing the box to one cell
would tell that somebody reported there; every answer must be byte-identical with and without Vera's reports.

Boxes that also hold the crowd's cell (k people) and the whole map under a date or risk filter are asked too:
map-stats leaves out cells of fewer than k people as the heatmap does, else such a box less the crowd's cell alone
would give Vera's figures. Out of reach, on purpose: the whole map with no filter but validity comes from the
rollup (docs/report.md, *The map-stats rollup*), which counts every cell; it tells that somebody reported
somewhere, not where.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sentrix.db.engine import session_scope
from tests.support.identity import bearer
from tests.support.seed import D, make_analysis, make_user, merge_sites

pytestmark = pytest.mark.integration

GRID = 0.01
VERA_HOME = (-26.75371, -65.25637)  # alone in [-65.26, -65.25) x [-26.76, -26.75)
VERA_CELL = (-65.26, -26.76)  # (west, south)
CROWD = [(-26.8081, -65.2019), (-26.8012, -65.2093), (-26.8037, -65.2063)]  # three people, one cell
EVE_HOME = (-26.7012, -65.3013)
# Every box of the sweep stays inside this neighbourhood, which holds nobody's reports but Vera's.
NEAR = {"west": -65.29, "south": -26.79, "east": -65.22, "north": -26.72}
UNITS = ("detections", "sites")


def _report(s, person, point, at, detections) -> None:
    analysis = make_analysis(
        s, user=person.id, latitude=point[0], longitude=point[1], created_at=at, detections=detections
    )
    s.refresh(analysis)
    merge_sites(s, analysis, *point)


@pytest.fixture
def world(api) -> dict:
    when = (datetime.now(UTC) - timedelta(days=3)).replace(hour=13, minute=47, second=12, microsecond=0)
    with session_scope() as s:
        people = [make_user(s, email=f"crowd{i}@example.org") for i in range(3)]
        eve = make_user(s, email="eve@example.org")
        expert = make_user(s, role="expert", email="expert@example.org")
        s.flush()
        for person, point in zip(people, CROWD, strict=True):
            _report(s, person, point, when - timedelta(days=1), [D(0), D(2)])
        _report(s, eve, EVE_HOME, when, [D(2)])
        s.expunge(eve)
        s.expunge(expert)
    return {"when": when, "eve": bearer(eve), "expert": bearer(expert)}


def add_vera(when: datetime) -> None:
    with session_scope() as s:
        vera = make_user(s, email="vera@example.org")
        s.flush()
        _report(s, vera, VERA_HOME, when, [D(2), D(0, risk_level="ALTO")])
        _report(s, vera, (VERA_HOME[0] + 2e-5, VERA_HOME[1]), when + timedelta(days=1), [D(0)])


def _box(west: float, south: float, east: float, north: float) -> str:
    return f"{west},{south},{east},{north}"


def queries(when: datetime) -> list[dict]:
    """Her cell and boxes around her home (every filter), boxes with one edge moved through her cell (each
    position once before, inside and after it), in both units."""
    rng = random.Random(53)
    west, south = VERA_CELL
    lat, lon = VERA_HOME
    cell = _box(west, south, west + GRID, south + GRID)
    around = [_box(lon - r, lat - r, lon + r, lat + r) for r in (1e-5, 1e-3, 0.02)]
    swept = []
    for edge, low in (("west", west), ("east", west), ("south", south), ("north", south)):
        for value in (low - GRID / 2, low + GRID * rng.random(), low + GRID * 1.5):
            swept.append(_box(**dict(NEAR, **{edge: value})))
    # With the crowd's cell [-65.21, -65.20) x [-26.81, -26.80): k people, counted
    swept += [_box(-65.29, -26.82, -65.19, -26.72), _box(-65.26, -26.81, -65.20, -26.75)]
    days = [(when + timedelta(days=d)).date().isoformat() for d in (-1, 0, 1, 2)]
    found: list[dict] = []
    for unit in UNITS:
        for day in days:  # the whole map, live (a date filter)
            found.append({"unit": unit, "date_from": days[0], "date_to": day, "include_expired": "true"})
        found.append({"unit": unit, "risk_level": "ALTO", "include_expired": "true"})
        for box in [cell, *around, *swept]:
            found += [{"unit": unit, "bbox": box}, {"unit": unit, "bbox": box, "include_expired": "true"}]
        for box in (cell, around[-1]):
            for day in days:
                found.append({"unit": unit, "bbox": box, "date_from": day, "date_to": day, "include_expired": "true"})
            found.append({"unit": unit, "bbox": box, "since": days[1]})
            for verdict in ("all", "pending", "not_rejected", "confirmed"):
                found.append({"unit": unit, "bbox": box, "verdict": verdict, "include_expired": "true"})
            for risk in ("ALTO", "MEDIO", "BAJO", "MINIMO"):
                found.append({"unit": unit, "bbox": box, "risk_level": risk, "include_expired": "true"})
    return found


def _everything(api, world) -> dict[tuple, bytes]:
    answers = {}
    for headers in ({}, {"Authorization": world["eve"]["Authorization"]}):
        for query in queries(world["when"]):
            response = api.get("/map-stats", params=query, headers=headers)
            assert response.status_code == 200, (query, response.text[:300])
            # map-stats carries no request id; `as_of` is the public day, the same for both rounds
            answers[bool(headers), tuple(sorted(query.items()))] = response.content
    return answers


def test_a_lone_citizens_area_answers_as_an_empty_one(api, world):
    before = _everything(api, world)
    add_vera(world["when"])
    after = _everything(api, world)

    changed = [key for key in before if before[key] != after[key]]
    assert changed == [], f"{len(changed)} map-stats answers told that Vera reported, e.g. {changed[:3]}"


def test_the_answer_below_k_is_the_empty_one_and_experts_still_count(api, world):
    add_vera(world["when"])
    cell = _box(VERA_CELL[0], VERA_CELL[1], VERA_CELL[0] + GRID, VERA_CELL[1] + GRID)
    public = api.get("/map-stats", params={"bbox": cell, "include_expired": "true"}).json()
    assert public["k_anonymity"] == {"min_reporters": 3, "withheld": True}
    assert (public["total_analyses"], public["total_detections"], public["weekly_trend"]) == (None, None, [])
    # The crowd's cell (three people) is counted: the world is not empty for the public
    crowd = _box(-65.21, -26.81, -65.20, -26.80)
    counted = api.get("/map-stats", params={"bbox": crowd, "include_expired": "true"}).json()
    assert (counted["k_anonymity"]["withheld"], counted["total_analyses"]) == (False, 3)
    # A box holding both counts the crowd only: Vera's cell is held back, not summed in
    both = api.get("/map-stats", params={"bbox": _box(-65.29, -26.82, -65.19, -26.72), "include_expired": "true"})
    assert (both.json()["total_analyses"], both.json()["total_detections"]) == (3, 6)
    expert = api.get("/map-stats", params={"bbox": cell, "include_expired": "true"}, headers=world["expert"]).json()
    assert (expert["k_anonymity"]["withheld"], expert["total_analyses"], expert["total_detections"]) == (False, 2, 3)
