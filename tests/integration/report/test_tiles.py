"""GET /map/tiles/{z}/{x}/{y}.mvt decoded with mapbox_vector_tile at a detail zoom and a grid zoom.

Expected features are computed here from the seeded coordinates with the Web Mercator tile formulas,
independently of PostGIS.
"""

from __future__ import annotations

import math
from collections import Counter

import mapbox_vector_tile
import pytest

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import make_analysis

pytestmark = pytest.mark.integration

EXTENT = 4096
GRID_CELLS = 64  # REPORT_TILE_GRID_CELLS default
PUBLIC_GRID = 0.01  # REPORT_PUBLIC_GRID_DEG default
P1 = (-26.80123, -65.20123)  # 2 Basura + 1 Huecos
P2 = (-26.80141, -65.20102)  # 1 Charcos, a few metres away (same z16 tile, same public cell)


def tile_position(lat: float, lon: float, z: int) -> tuple[int, int, float, float]:
    """(x, y, px, py): the tile holding the point and its position inside it in tile units (y down)."""
    n = 2**z
    xt = (lon + 180) / 360 * n
    yt = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int(xt), int(yt), (xt - int(xt)) * EXTENT, (yt - int(yt)) * EXTENT


def public_centre(lat: float, lon: float) -> tuple[float, float]:
    return ((math.floor(lat / PUBLIC_GRID) + 0.5) * PUBLIC_GRID, (math.floor(lon / PUBLIC_GRID) + 0.5) * PUBLIC_GRID)


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}) if body else {}


@pytest.fixture
def seeded(other_user):
    with session_scope() as s:
        a1 = make_analysis(s, user=other_user.id, latitude=P1[0], longitude=P1[1], detections=[0, 0, 3])
        a2 = make_analysis(s, user=other_user.id, latitude=P2[0], longitude=P2[1], detections=[2])
        ids = {str(d.id): (P1, d.breeding_site_type.value) for d in a1.detections}
        ids |= {str(d.id): (P2, d.breeding_site_type.value) for d in a2.detections}
    return ids


def get_tile(z, x, y, caller=None, headers=None):
    return call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", caller=caller, headers=headers)


def test_detail_zoom_gives_experts_each_detection_at_its_position(seeded, expert):
    x, y, _, _ = tile_position(*P1, 16)
    response = get_tile(16, x, y, expert)
    assert response.status == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = decode(response.body)
    assert set(layers) == {"detections"}
    features = layers["detections"]["features"]
    assert {f["properties"]["id"] for f in features} == set(seeded)
    for feature in features:
        (lat, lon), site_type = seeded[feature["properties"]["id"]]
        _, _, px, py = tile_position(lat, lon, 16)
        gx, gy = feature["geometry"]["coordinates"]
        assert abs(gx - px) <= 1 and abs(gy - py) <= 1
        assert feature["properties"]["breeding_site_type"] == site_type
        assert feature["properties"]["active"] is True


def test_detail_zoom_gives_anonymous_callers_only_the_public_cell(seeded):
    lat, lon = public_centre(*P1)
    x, y, px, py = tile_position(lat, lon, 16)
    layers = decode(get_tile(16, x, y).body)
    assert set(layers) == {"grid"}
    [cell] = layers["grid"]["features"]
    assert abs(cell["geometry"]["coordinates"][0] - px) <= 1 and abs(cell["geometry"]["coordinates"][1] - py) <= 1
    assert cell["properties"]["count"] == 4 and cell["properties"]["active_count"] == 4
    assert cell["properties"]["max_risk_level"] == "ALTO" and cell["properties"]["dominant_type"] == "Basura"
    assert not {"id", "analysis_id", "user_id"} & set(cell["properties"])
    # and the tile with the real points carries nothing about them unless the cell centre is inside it
    x1, y1, _, _ = tile_position(*P1, 16)
    if (x1, y1) != (x, y):
        assert decode(get_tile(16, x1, y1).body) == {}


@pytest.mark.parametrize("anonymous", [False, True])
def test_grid_zoom_counts_detections_per_cell(seeded, expert, anonymous):
    z = 10
    # Every caller's grid places each detection at its public cell's centre: the same totals for everyone.
    shown = [public_centre(*seeded[i][0]) for i in seeded]
    x, y, _, _ = tile_position(*shown[0], z)
    expected = Counter()
    for lat, lon in shown:
        tx, ty, px, py = tile_position(lat, lon, z)
        assert (tx, ty) == (x, y)
        size = EXTENT / GRID_CELLS
        expected[(int(px // size) * size + size / 2, int(py // size) * size + size / 2)] += 1
    layers = decode(get_tile(z, x, y, None if anonymous else expert).body)
    assert set(layers) == {"grid"}
    found = Counter()
    for feature in layers["grid"]["features"]:
        found[tuple(feature["geometry"]["coordinates"])] += feature["properties"]["count"]
    assert {(round(a), round(b)): n for (a, b), n in expected.items()} == dict(found)


def test_cache_headers_and_etag(seeded, expert):
    x, y, _, _ = tile_position(*public_centre(*P1), 10)
    public = get_tile(10, x, y)
    assert public.headers["cache-control"] == "public, max-age=300"
    assert public.headers["vary"] == "Authorization"
    assert get_tile(10, x, y, expert).headers["cache-control"] == "private, max-age=60"
    again = get_tile(10, x, y, headers={"If-None-Match": public.headers["etag"]})
    assert again.status == 304 and again.body == b""


def test_empty_tile_and_bad_coordinates(db):
    empty = get_tile(3, 0, 0)
    assert (empty.status, empty.body) == (200, b"")
    for z, x, y in ((23, 0, 0), (2, 4, 0), (2, 0, -1)):
        response = get_tile(z, x, y)
        assert response.status == 422, (z, x, y)


# Two public cells whose centres lie a few tile units inside a z16 tile's west and east edges (found by computing
# tile_position for the cell centres along -26.805°): the neighbouring tile draws each in its 64-unit buffer.
NEAR_WEST = (-26.803, -65.883)  # cell centre (-26.805, -65.885): x 20774, px ≈ 7
NEAR_EAST = (-26.803, -65.103)  # cell centre (-26.805, -65.105): x 20915, px ≈ 4081


@pytest.mark.parametrize(("point", "step"), [(NEAR_WEST, -1), (NEAR_EAST, 1)])
def test_a_public_cell_near_a_tile_edge_is_drawn_in_the_neighbours_buffer_too(other_user, point, step):
    with session_scope() as s:
        make_analysis(s, user=other_user.id, latitude=point[0], longitude=point[1], detections=[0])
    x, y, px, py = tile_position(*public_centre(*point), 16)
    assert px < 64 if step < 0 else px > EXTENT - 64  # the premise: inside its own tile, near the edge
    [own] = decode(get_tile(16, x, y).body)["grid"]["features"]
    assert own["geometry"]["coordinates"] == [round(px), round(py)]
    [beside] = decode(get_tile(16, x + step, y).body)["grid"]["features"]
    assert beside["geometry"]["coordinates"] == [round(px - step * EXTENT), round(py)]
    assert beside["properties"]["count"] == own["properties"]["count"] == 1
    assert decode(get_tile(16, x + 2 * step, y).body) == {}  # beyond the buffer: nothing
