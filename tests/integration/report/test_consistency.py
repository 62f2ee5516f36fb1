"""One vocabulary: for the same filters and caller, every endpoint gives the same detection and high-risk counts.

The data set is built by hand below, with the expected figures counted by hand from it (not by any endpoint):
map-stats, statistics, heatmap, vector tiles (summed over every tile that holds the data, at two zooms),
exports and the aggregate report must all agree, as an anonymous caller, a user and an expert, for the
default filters (active, not rejected) and two others. Points sit near the edges of z12 tiles, so a public
cell centre and the exact position can fall in different tiles: a tile's totals must still be the same for
every caller.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime, timedelta

import mapbox_vector_tile
import pytest

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

GRID = 0.01  # the public grid
# A z12 tile edge runs at longitude -65.21484375 (x = 1627): points either side of it, in public cells whose
# centres lie on the other side of the edge than some of the points.
EDGE_LON = 1627 / 2**12 * 360 - 180
WEST = EDGE_LON - 0.0005  # west of the edge, in the cell [-65.22, -65.21): centre -65.215, west of the edge too
EAST = EDGE_LON + 0.006  # east of the edge, in the cell [-65.21, -65.20): centre -65.205
NEAR_EAST = EDGE_LON + 0.0003  # east of the edge, but its cell's centre (-65.215) is west of it
LAT = -26.8043


def build(user, other_user) -> dict:
    """The data set; returns the hand counts: every key is (detections, high-risk detections)."""
    now = datetime.now(UTC)
    # Expired before today began: aggregate-only audiences judge validity at the start of the (UTC) day.
    live, dead = now + timedelta(days=20), now - timedelta(days=1, hours=2)
    with session_scope() as s:
        # user: A1 two Basura (ALTO; one rejected), one Huecos (MEDIO); A2 one Charcos (ALTO, expired)
        make_analysis(s, user=user.id, latitude=LAT, longitude=WEST, detections=[
            D(0, expires_at=live), D(0, expires_at=live, validation_status="validated_negative"),
            D(3, expires_at=live, validation_status="validated_positive")])  # fmt: skip
        make_analysis(s, user=user.id, latitude=LAT + 0.002, longitude=NEAR_EAST, detections=[D(2, expires_at=dead)])
        # other_user: B1 one Charcos (ALTO, confirmed) and one Calles (MEDIO); B2 one Basura (ALTO, rejected,
        # expired); B3 nothing found (a surveyed place, never heat)
        make_analysis(s, user=other_user.id, latitude=LAT - 0.003, longitude=EAST, detections=[
            D(2, expires_at=live, validation_status="validated_positive"), D(1, expires_at=live)])  # fmt: skip
        make_analysis(s, user=other_user.id, latitude=LAT + 0.001, longitude=NEAR_EAST, detections=[
            D(0, expires_at=dead, validation_status="validated_negative")])  # fmt: skip
        make_analysis(s, user=other_user.id, latitude=LAT, longitude=EAST, detections=[], risk_level="MINIMO")
    return {
        # (filters) -> {scope: (detections, high-risk)}
        "default": {"all": (4, 2), "user": (2, 1), "other": (2, 1)},  # A1 Basura+Huecos; B1 both
        "all_time": {"all": (5, 3), "user": (3, 2), "other": (2, 1)},  # + A2's expired Charcos
        "everything": {"all": (7, 5), "user": (4, 3), "other": (3, 2)},  # + both rejected
        "confirmed": {"all": (2, 1), "user": (1, 0), "other": (1, 1)},  # A1 Huecos, B1 Charcos
    }


FILTERS = {
    "default": {},
    "all_time": {"include_expired": "true"},
    "everything": {"include_expired": "true", "verdict": "all"},
    "confirmed": {"verdict": "confirmed"},
}


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def tile_totals(caller, query: dict, z: int) -> dict[tuple[int, int], tuple[int, int]]:
    """(count, high-risk count) per tile over every tile around the data, from the decoded grid layers."""
    corners = [tile_xy(LAT + dy, lon, z) for dy in (-0.02, 0.02) for lon in (WEST - 0.02, EAST + 0.02)]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    totals = {}
    for x in range(min(xs), max(xs) + 1):
        for y in range(min(ys), max(ys) + 1):
            response = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", caller=caller, query=query)
            assert response.status == 200
            layers = mapbox_vector_tile.decode(response.body) if response.body else {}
            features = layers.get("grid", {}).get("features", [])
            found = (sum(f["properties"]["count"] for f in features),
                     sum(f["properties"]["high_risk_count"] for f in features))  # fmt: skip
            if found != (0, 0):
                totals[(x, y)] = found
    return totals


def summed(totals: dict) -> tuple[int, int]:
    return sum(c for c, _ in totals.values()), sum(h for _, h in totals.values())


def figures(caller, query: dict, *, scoped: bool) -> dict[str, tuple[int, int]]:
    """(detections, high-risk detections) as each endpoint states them for this caller and these filters."""
    stats = call("GET", "/api/v1/map-stats", caller=caller, query=query).json()
    heat = call("GET", "/api/v1/heatmap-data", caller=caller, query=query).json()
    found = {
        "map-stats": (stats["total_detections"], stats["high_risk_detections"]),
        "heatmap": (heat["total_detections"], heat["high_risk_detections"]),
        "tiles z12": summed(tile_totals(caller, query, 12)),
        "tiles z10": summed(tile_totals(caller, query, 10)),
    }
    if scoped:
        own = stats["own"] if caller.role.value == "user" else stats
        found["map-stats (scope)"] = (own["total_detections"], own["high_risk_detections"])
        dashboard = call("GET", "/api/v1/reports/statistics", caller=caller, query=query).json()
        found["statistics"] = (dashboard["total_detections"], dashboard["high_risk_detections"])
        body = {"type": "summary", "format": "json", "filters": _report_filters(query)}
        summary = call("POST", "/api/v1/reports/generate", caller=caller, body=body).json()["data"]["summary"]
        found["report"] = (summary["detections"], summary["high_risk_detections"])
        export = call("GET", "/api/v1/exports/detections.csv", caller=caller, query=query)
        rows = list(csv.DictReader(io.StringIO(export.body.decode())))
        high = sum(1 for row in rows if row["risk_level"] == "ALTO")
        found["export"] = (int(export.headers["x-total-count"]), high)
    return found


def _report_filters(query: dict) -> dict:
    return {k: (v == "true" if v in ("true", "false") else v) for k, v in query.items()}


@pytest.mark.parametrize("name", list(FILTERS))
def test_every_endpoint_agrees_for_every_caller(user, other_user, expert, name):
    expected = build(user, other_user)[name]
    query = FILTERS[name]

    anonymous = figures(None, query, scoped=False)
    assert set(anonymous.values()) == {expected["all"]}, anonymous

    as_user = figures(user, query, scoped=True)
    public = {k: v for k, v in as_user.items() if k in ("map-stats", "heatmap", "tiles z12", "tiles z10")}
    assert set(public.values()) == {expected["all"]}, as_user  # the map covers everyone
    scoped = {k: v for k, v in as_user.items() if k not in public}
    assert set(scoped.values()) == {expected["user"]}, as_user  # statistics, reports, exports: their own

    as_expert = figures(expert, query, scoped=True)
    assert set(as_expert.values()) == {expected["all"]}, as_expert


def test_a_tile_has_the_same_totals_for_every_caller(user, other_user, expert):
    build(user, other_user)
    for z in (10, 12, 14):
        per_caller = [tile_totals(caller, {"include_expired": "true"}, z) for caller in (None, user, expert)]
        assert per_caller[0] == per_caller[1] == per_caller[2], z
    # The data does straddle a z12 tile edge: two tiles hold some of it.
    assert len(tile_totals(None, {"include_expired": "true"}, 12)) == 2


def test_the_glossary_defines_high_risk_once():
    from pathlib import Path

    glossary = (Path(__file__).resolve().parents[3] / "docs" / "report.md").read_text()
    assert "### Glossary" in glossary
    section = glossary.split("### Glossary", 1)[1].split("\n### ", 1)[0]
    assert section.count("**High-risk detection**") == 1
