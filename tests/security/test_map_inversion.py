"""The inversion adversary: an anonymous client with an unlimited request budget tries to locate one planted report
below the public grid, or to time it below a day, through every public map route and filter.

The planted report shares its 0.01° public cell with two other people's reports. The adversary moves each bbox
edge and each date bound through many positions *inside* the cell and inside the day (bisection and
differencing need only that the answers change there), asks heatmap-data, map-stats and vector tiles at every
zoom, and reads every coordinate and time it is given. Everything it learns must be constant within the cell
and the day: the answers are compared byte for byte (less `as_of`-free request ids), and no coordinate or
time of the planted report appears anywhere.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import mapbox_vector_tile
import pytest

from sentrix.db.engine import session_scope
from tests.support.seed import D, make_analysis, make_user

pytestmark = pytest.mark.integration

GRID = 0.01
CELL = (-6521, -2681)  # the public cell [-65.21, -65.20) x [-26.81, -26.80)
WEST, SOUTH = CELL[0] * GRID, CELL[1] * GRID
PLANTED = (-26.80371, -65.20637)  # (lat, lon) inside the cell
NEIGHBOURS = [(-26.8081, -65.2019), (-26.8012, -65.2093)]  # two other reporters in the same cell
ELSEWHERE = [(-26.7512, -65.1513), (-26.9012, -65.3015)]  # other cells


def _seed() -> datetime:
    rng = datetime.now(UTC) - timedelta(days=3)
    planted_at = rng.replace(hour=13, minute=47, second=12, microsecond=0)
    with session_scope() as s:
        people = [make_user(s, email=f"p{i}@example.org") for i in range(5)]
        s.flush()
        make_analysis(s, user=people[0].id, latitude=PLANTED[0], longitude=PLANTED[1], created_at=planted_at,
                      detections=[D(0, expires_at=planted_at + timedelta(days=40)), D(2)])  # fmt: skip
        for person, (lat, lon) in zip(people[1:3], NEIGHBOURS, strict=True):
            make_analysis(s, user=person.id, latitude=lat, longitude=lon, created_at=planted_at - timedelta(days=1),
                          detections=[D(0), D(3)])  # fmt: skip
        for person, (lat, lon) in zip(people[3:], ELSEWHERE, strict=True):
            make_analysis(s, user=person.id, latitude=lat, longitude=lon, created_at=planted_at + timedelta(days=1),
                          detections=[D(1)])  # fmt: skip
    return planted_at


def _inside(rng: random.Random, low: float, n: int) -> list[float]:
    """n positions strictly inside one grid cell starting at `low` (never on an edge)."""
    return [low + GRID * (0.001 + 0.998 * rng.random()) for _ in range(n)]


@pytest.fixture
def planted(api) -> datetime:
    return _seed()


def _answers(api, path: str, queries: list[dict]) -> set[bytes]:
    found = set()
    for query in queries:
        response = api.get(path, params=query)
        assert response.status_code == 200, (path, query, response.text[:300])
        found.add(response.content)  # map answers carry no per-request ids: bytes compare
    return found


@pytest.mark.parametrize("path", ["/map-stats", "/heatmap-data"])
def test_no_bbox_edge_inside_the_cell_changes_any_answer(api, planted, path):
    rng = random.Random(7)
    # Each edge of the bbox in turn moves through 15 positions inside the planted cell, the others far away.
    far = {"west": -66.0, "south": -27.5, "east": -64.5, "north": -26.0}
    for edge, low in (("west", WEST), ("east", WEST), ("south", SOUTH), ("north", SOUTH)):
        queries = []
        for value in _inside(rng, low, 15):
            box = dict(far, **{edge: value})
            queries.append({"bbox": f"{box['west']},{box['south']},{box['east']},{box['north']}"})
        answers = _answers(api, path, queries)
        assert len(answers) == 1, f"{path}: the {edge} edge separated reports inside one public cell"


@pytest.mark.parametrize("path", ["/map-stats", "/heatmap-data"])
def test_no_date_bound_inside_the_day_changes_any_answer(api, planted, path):
    rng = random.Random(11)
    day = planted.replace(hour=0, minute=0, second=0)
    instants = [day + timedelta(seconds=rng.randrange(1, 86_399)) for _ in range(12)]
    for bound in ("date_from", "date_to", "since"):
        queries = [{bound: moment.isoformat()} for moment in instants]
        assert len(_answers(api, path, queries)) == 1, f"{path}: {bound} split a day"


def _tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _tile_lonlat(z: int, x: int, y: int, px: float, py: float) -> tuple[float, float]:
    n = 2**z
    lon = (x + px / 4096) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / 4096) / n))))  # py counts down
    return lat, lon


def test_tiles_at_every_zoom_place_nothing_below_the_grid(api, planted):
    centre = ((CELL[1] + 0.5) * GRID, (CELL[0] + 0.5) * GRID)
    for z in range(0, 23):
        seen = 0
        for lat, lon in (PLANTED, centre):
            x, y = _tile_xy(lat, lon, z)
            response = api.get(f"/map/tiles/{z}/{x}/{y}.mvt")
            assert response.status_code == 200
            body = response.content
            layers = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}) if body else {}
            assert "detections" not in layers or not layers["detections"]["features"]
            for feature in layers.get("grid", {}).get("features", []):
                seen += feature["properties"]["count"]
                fx, fy = feature["geometry"]["coordinates"]
                flat, flon = _tile_lonlat(z, x, y, fx, fy)
                # A feature is a public cell centre (or a grid cell of a low zoom): never within 100 m of the
                # planted report unless the cell centre itself is (it is not: ~350 m away).
                metres = math.hypot((flat - PLANTED[0]) * 111_320, (flon - PLANTED[1]) * 111_320 * 0.89)
                assert metres > 100 or z < 12, (z, flat, flon)
        assert seen >= 1 or z < 3, z
    # Date bounds inside the day change no tile either.
    x, y = _tile_xy(*PLANTED, 12)
    day = planted.replace(hour=0, minute=0, second=0)
    bodies = {api.get(f"/map/tiles/12/{x}/{y}.mvt", params={"since": (day + timedelta(hours=h)).isoformat()}
                      ).content for h in (1, 7, 13, 14, 20)}  # fmt: skip
    assert len(bodies) == 1


def test_no_answer_carries_the_reports_coordinates_or_time(api, planted):
    lat, lon = PLANTED
    minute = planted.strftime("T%H:%M")
    x, y = _tile_xy(lat, lon, 16)
    bodies = [
        api.get("/map-stats").text,
        api.get("/heatmap-data").text,
        api.get("/heatmap-data", params={"include_expired": "true"}).text,
        api.get("/map-stats", params={"bbox": f"{WEST},{SOUTH},{WEST + GRID},{SOUTH + GRID}"}).text,
    ]
    for text in bodies:
        assert f"{lat:.4f}"[:-1] not in text and f"{lon:.4f}"[:-1] not in text  # not even to 0.001°
        assert minute not in text
        for value in json.loads(text).values():
            if isinstance(value, str) and value[:4].isdigit() and "T" in value:
                assert value.endswith("T00:00:00+00:00"), value  # times are days (as_of: the day's start)
    assert api.get(f"/map/tiles/16/{x}/{y}.mvt").status_code == 200
