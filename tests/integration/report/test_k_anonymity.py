"""k-anonymity of public cells: a cell (or a map-stats area) whose reports come from fewer than k people tells
anyone who sees other people's data only aggregated nothing but that; experts see everything."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call, make_caller
from tests.support.seed import make_analysis

pytestmark = pytest.mark.integration

CROWDED = (-26.8043, -65.2063)  # cell (-6521, -2681): three people
LONELY = (-26.7543, -65.1563)  # cell (-6516, -2676): two people, the same one twice


@pytest.fixture
def k3(db, monkeypatch):
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_PUBLIC_MIN_REPORTERS", "3")
    get_report_settings.cache_clear()
    people = [make_caller("user", f"k{i}@example.org") for i in range(3)]
    with session_scope() as s:
        for i, person in enumerate(people):
            make_analysis(s, user=person.id, latitude=CROWDED[0] + i * 1e-4, longitude=CROWDED[1], detections=[0])
        for person in (people[0], people[1], people[1]):
            make_analysis(s, user=person.id, latitude=LONELY[0], longitude=LONELY[1], detections=[2])
    return people


def cells(body: dict) -> dict[tuple[float, float], int]:
    return {(p["latitude"], p["longitude"]): p["detectionCount"] for p in body["data"] if p["aggregated"]}


@pytest.mark.parametrize("query", [{}, {"include_expired": "true"}], ids=["live", "rollup"])
def test_a_cell_of_fewer_than_k_people_is_not_shown_to_the_public(k3, query):
    body = call("GET", "/api/v1/heatmap-data", query=query).json()
    assert cells(body) == {(-26.805, -65.205): 3}  # the crowded cell; the lonely one (2 people) withheld
    # How many cells were held back is not said to the public: it would tell that somebody reported there
    assert body["k_anonymity"] == {"min_reporters": 3, "suppressed_cells": None}


def test_a_user_still_sees_their_own_reports_exactly(k3):
    owner = k3[1]
    body = call("GET", "/api/v1/heatmap-data", caller=owner).json()
    own = [(p["latitude"], p["longitude"]) for p in body["data"] if p["isOwn"]]
    assert (LONELY[0], LONELY[1]) in own  # their own, in the withheld cell, exactly
    assert (-26.755, -65.155) not in cells(body)  # the other person's report there stays withheld


def test_experts_see_every_cell(k3):
    expert = make_caller("expert", "kexpert@example.org")
    body = call("GET", "/api/v1/heatmap-data", caller=expert).json()
    assert sum(p["detectionCount"] for p in body["data"]) == 6


def _tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.mark.parametrize("query", [{}, {"include_expired": "true"}], ids=["live", "rollup"])
def test_tiles_do_not_draw_a_cell_of_fewer_than_k_people(k3, query):
    x, y = _tile_xy(*CROWDED, 10)
    assert _tile_xy(*LONELY, 10) == (x, y)

    def total(caller=None) -> int:
        body = call("GET", f"/api/v1/map/tiles/10/{x}/{y}.mvt", caller=caller, query=query).body
        features = mapbox_vector_tile.decode(body)["grid"]["features"] if body else []
        return sum(f["properties"]["count"] for f in features)

    assert total() == 3
    assert total(make_caller("expert", "ktiles@example.org")) == 6


def test_map_stats_of_an_area_of_fewer_than_k_people_are_withheld(k3):
    lonely = {"bbox": "-65.16,-26.76,-65.15,-26.75"}
    body = call("GET", "/api/v1/map-stats", query=lonely).json()
    assert body["k_anonymity"] == {"min_reporters": 3, "withheld": True}
    assert (body["total_analyses"], body["total_detections"], body["detection_types"]) == (None, None, [])
    crowded = call("GET", "/api/v1/map-stats", query={"bbox": "-65.21,-26.81,-65.20,-26.80"}).json()
    assert (crowded["total_analyses"], crowded["k_anonymity"]["withheld"]) == (3, False)
    expert = make_caller("expert", "kstats@example.org")
    assert call("GET", "/api/v1/map-stats", caller=expert, query=lonely).json()["total_analyses"] == 3
