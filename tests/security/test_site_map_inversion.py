"""The inversion adversary against `unit=sites` on the public heatmap and vector tiles (docs/sites.md, *Sites on the
maps*; map-stats' sites: test_site_inversion.py; detections: test_map_inversion.py).

Two citizens are the targets. Vera reports twice from her home, alone in her 0.01° public cell: two sites with one
reporter, which the k-anonymity rule (k = 3, the default) suppresses. Alba reports from her home in a cell she
shares with two other people: her water site has one reporter, but her cell is drawn. The adversary — anonymous,
and Eve, a signed-in citizen with reports of her own elsewhere — has an unlimited request budget: heatmap-data in
both units with bboxes shifted through the cells, date bounds, every verdict, validity and risk filter, and the
vector tiles at every zoom in both units. It must not learn that Vera's sites exist (every answer is
byte-identical with and without Vera's reports), and nothing it gets about Alba's site is finer than her public
cell (answers constant inside the cell and the day, features only at cell centres, no site id or coordinate).
Sites are made by the real merge (`sentrix.repositories.sites`, as detect does).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import mapbox_vector_tile
import pytest

from sentrix.db.engine import session_scope
from tests.support.identity import bearer
from tests.support.seed import D, make_analysis, make_user, merge_sites

pytestmark = pytest.mark.integration

GRID = 0.01
VERA_HOME = (-26.75371, -65.25637)  # alone in [-65.26, -65.25) x [-26.76, -26.75)
VERA_CELL = (-65.26, -26.76)  # (west, south)
ALBA_HOME = (-26.80371, -65.20637)  # in [-65.21, -65.20) x [-26.81, -26.80) with two neighbours
ALBA_CELL = (-65.21, -26.81)
NEIGHBOURS = [(-26.8081, -65.2019), (-26.8012, -65.2093)]
EVE_POINTS = [(-26.7012, -65.3013)]  # Eve's own report, far away
BOTH = ("detections", "sites")


def _report(s, person, point, at, detections) -> list[str]:
    analysis = make_analysis(
        s, user=person.id, latitude=point[0], longitude=point[1], created_at=at, detections=detections
    )
    s.refresh(analysis)
    return [str(i) for i in merge_sites(s, analysis, *point)]


@pytest.fixture
def world(api) -> dict:
    when = (datetime.now(UTC) - timedelta(days=3)).replace(hour=13, minute=47, second=12, microsecond=0)
    with session_scope() as s:
        alba, n1, n2, eve = (make_user(s, email=f"{n}@example.org") for n in ("alba", "n1", "n2", "eve"))
        s.flush()
        alba_sites = _report(s, alba, ALBA_HOME, when, [D(0), D(2)])
        for person, point in zip((n1, n2), NEIGHBOURS, strict=True):
            _report(s, person, point, when - timedelta(days=1), [D(0)])
        _report(s, eve, EVE_POINTS[0], when, [D(2)])
        s.expunge(eve)
    return {"when": when, "eve": bearer(eve), "alba_sites": alba_sites}


def add_vera(when: datetime) -> list[str]:
    with session_scope() as s:
        vera = make_user(s, email="vera@example.org")
        s.flush()
        found = _report(s, vera, VERA_HOME, when, [D(2)])
        found += _report(s, vera, (VERA_HOME[0] + 2e-5, VERA_HOME[1]), when + timedelta(days=1), [D(0)])
    return found


def _box(west: float, south: float, east: float, north: float) -> str:
    return f"{west},{south},{east},{north}"


def _tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _tile_lonlat(z: int, x: int, y: int, px: float, py: float) -> tuple[float, float]:
    n = 2**z
    lon = (x + px / 4096) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / 4096) / n))))
    return lat, lon


def _decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}) if body else {}


def heatmap_queries(when: datetime) -> list[dict]:
    """What the adversary asks of heatmap-data: both units, the whole map, Vera's cell and boxes around her home
    of every size, each day around her reports, every verdict, both validities and every risk level."""
    west, south = VERA_CELL
    lat, lon = VERA_HOME
    boxes = [None, _box(west, south, west + GRID, south + GRID)]
    boxes += [_box(lon - r, lat - r, lon + r, lat + r) for r in (1e-5, 1e-3, 0.02)]
    days = [(when + timedelta(days=d)).date().isoformat() for d in (-1, 0, 1, 2)]
    queries = []
    for unit in BOTH:
        for box in boxes:
            queries.append({"unit": unit, "bbox": box, "include_expired": "true"})
            queries.append({"unit": unit, "bbox": box})
        for day in days:
            queries.append({"unit": unit, "date_from": day, "date_to": day, "include_expired": "true"})
        for verdict in ("all", "pending", "not_rejected", "confirmed"):
            queries.append({"unit": unit, "verdict": verdict, "include_expired": "true", "bbox": boxes[1]})
        for risk in ("ALTO", "MEDIO", "BAJO", "MINIMO"):
            queries.append({"unit": unit, "risk_level": risk, "include_expired": "true"})
    return [{k: v for k, v in q.items() if v is not None} for q in queries]


def tile_requests() -> list[tuple[str, dict]]:
    """Every zoom's tile over Vera's home and over her cell's centre, both units, with and without filters."""
    centre = (VERA_CELL[1] + GRID / 2, VERA_CELL[0] + GRID / 2)
    found = []
    for z in range(0, 23):
        tiles = {_tile_xy(*VERA_HOME, z), _tile_xy(*centre, z)}
        for x, y in sorted(tiles):
            for unit in BOTH:
                found.append((f"/map/tiles/{z}/{x}/{y}.mvt", {"unit": unit, "include_expired": "true"}))
                if z in (12, 16):
                    found.append((f"/map/tiles/{z}/{x}/{y}.mvt", {"unit": unit, "verdict": "all"}))
    return found


def _everything(api, world) -> dict[tuple, bytes]:
    answers = {}
    for headers in ({}, {"Authorization": world["eve"]["Authorization"]}):
        for query in heatmap_queries(world["when"]):
            response = api.get("/heatmap-data", params=query, headers=headers)
            assert response.status_code == 200, (query, response.text[:300])
            answers["heatmap", bool(headers), tuple(sorted(query.items()))] = response.content
        for path, query in tile_requests():
            response = api.get(path, params=query, headers=headers)
            assert response.status_code == 200, (path, query, response.text[:300])
            answers[path, bool(headers), tuple(sorted(query.items()))] = response.content
    return answers


def test_a_lone_citizens_sites_leave_no_trace_in_any_answer(api, world):
    before = _everything(api, world)
    vera_sites = add_vera(world["when"])
    after = _everything(api, world)

    assert len(vera_sites) == 2  # her two reports made two sites (water, refuse), one reporter each
    changed = [key for key in before if before[key] != after[key]]
    assert changed == [], f"{len(changed)} answers told that Vera's sites exist, e.g. {changed[:3]}"


def test_no_bbox_edge_inside_alba_s_cell_moves_a_site_answer(api, world):
    rng = random.Random(41)
    far = {"west": -66.0, "south": -27.5, "east": -64.5, "north": -26.0}
    west, south = ALBA_CELL
    for headers in ({}, {"Authorization": world["eve"]["Authorization"]}):
        for unit in BOTH:
            for edge, low in (("west", west), ("east", west), ("south", south), ("north", south)):
                answers = set()
                for _ in range(6):
                    box = dict(far, **{edge: low + GRID * (0.001 + 0.998 * rng.random())})
                    query = {"unit": unit, "bbox": _box(**box), "include_expired": "true"}
                    response = api.get("/heatmap-data", params=query, headers=headers)
                    assert response.status_code == 200
                    answers.add(response.content)
                assert len(answers) == 1, f"{unit}: the {edge} edge separated reports inside one public cell"


def test_no_date_bound_inside_the_day_moves_a_site_answer(api, world):
    rng = random.Random(43)
    day = world["when"].replace(hour=0, minute=0, second=0)
    x, y = _tile_xy(*ALBA_HOME, 14)
    for bound in ("date_from", "date_to"):
        heat, tiles = set(), set()
        for _ in range(8):
            moment = (day + timedelta(seconds=rng.randrange(1, 86_399))).isoformat()
            query = {"unit": "sites", bound: moment, "include_expired": "true"}
            heat.add(api.get("/heatmap-data", params=query).content)
            tiles.add(api.get(f"/map/tiles/14/{x}/{y}.mvt", params=query).content)
        assert len(heat) == 1 and len(tiles) == 1, f"{bound} split a day"


def test_tiles_at_every_zoom_draw_alba_s_site_only_at_her_cell_centre(api, world):
    centre = (ALBA_CELL[1] + GRID / 2, ALBA_CELL[0] + GRID / 2)
    for headers in ({}, {"Authorization": world["eve"]["Authorization"]}):
        for z in range(0, 23):
            seen = 0
            for x, y in sorted({_tile_xy(*ALBA_HOME, z), _tile_xy(*centre, z)}):
                query = {"unit": "sites", "include_expired": "true"}
                response = api.get(f"/map/tiles/{z}/{x}/{y}.mvt", params=query, headers=headers)
                assert response.status_code == 200
                layers = _decode(response.content)
                assert "sites" not in layers or not layers["sites"]["features"]  # Eve's own site is elsewhere
                for feature in layers.get("grid", {}).get("features", []):
                    px, py = feature["geometry"]["coordinates"]
                    if not (0 <= px < 4096 and 0 <= py < 4096):
                        continue  # a neighbouring tile's cell in the render buffer
                    seen += feature["properties"]["count"]
                    lat, lon = _tile_lonlat(z, x, y, px, py)
                    metres = math.hypot((lat - ALBA_HOME[0]) * 111_320, (lon - ALBA_HOME[1]) * 111_320 * 0.89)
                    # A public cell centre (~350 m from her home) or, at low zooms, a tile grid cell's
                    if z >= 12:
                        assert metres > 100, (z, lat, lon)
                    if z >= 15:
                        assert (lat, lon) == pytest.approx(centre, abs=2e-5)
            # Alba's two sites and her neighbours' refuse site (they are 540 m and 620 m from her: sites of
            # their own) plus, at zooms where one tile holds both, nothing else of that cell.
            assert seen == 4, (z, seen)


def test_no_site_answer_carries_a_site_id_or_a_site_position(api, world):
    with session_scope() as s:
        from sqlalchemy import text

        rows = s.execute(text("SELECT id::text, ST_Y(location), ST_X(location) FROM sites")).all()
    x, y = _tile_xy(*ALBA_HOME, 16)
    bodies = [
        api.get("/heatmap-data", params={"unit": "sites"}).content,
        api.get("/heatmap-data", params={"unit": "sites", "include_expired": "true"}).content,
        api.get("/heatmap-data", params={"unit": "sites", "bbox": _box(*ALBA_CELL, -65.20, -26.80)}).content,
        api.get(f"/map/tiles/16/{x}/{y}.mvt", params={"unit": "sites"}).content,
    ]
    for body in bodies:
        for site_id, lat, lon in rows:
            assert site_id.encode() not in body
            for value in (lat, lon):
                assert f"{value:.4f}"[:-1].encode() not in body  # not even to 0.001°
