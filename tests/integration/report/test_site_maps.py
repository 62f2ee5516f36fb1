"""`unit=sites` on GET /heatmap-data and the vector tiles (docs/sites.md, *Sites on the maps*): sites drawn as
places for those who may see them, as public cells for everyone else. Sites come from the real merge
(`sentrix.repositories.sites`, as detect does); expected cells, centres and tile positions are computed here by
hand from the seeded coordinates. The adversary is tests/security/test_site_inversion.py.

    U1  at P           Basura + Charcos   -> site R (refuse), site W (water)
    U2  at P3 (3 m S)  Basura             -> joins R
    U2  at Q (1.1 km S) Calles mal hechas -> site X (road), in territory T (an official's)
"""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from tests.integration.report.conftest import call, make_caller
from tests.integration.report.test_territory_filter import territory
from tests.support.seed import D, make_analysis, merge_sites

pytestmark = pytest.mark.integration

EXTENT = 4096
GRID_CELLS = 64
P = (-26.80123, -65.20123)
P3 = (-26.80126, -65.20123)
Q = (-26.81123, -65.20123)
R_POINT = ((P[0] + P3[0]) / 2, P[1])  # a site's point is the centroid of its members
# Public cells (0.01°) by hand: P and P3 in [-26.81, -26.80) x [-65.21, -65.20), Q in the one south of it.
P_CENTRE = (-26.805, -65.205)
Q_CENTRE = (-26.815, -65.205)
ALL = {"include_expired": "true"}


def tile_position(lat: float, lon: float, z: int) -> tuple[int, int, float, float]:
    n = 2**z
    xt = (lon + 180) / 360 * n
    yt = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int(xt), int(yt), (xt - int(xt)) * EXTENT, (yt - int(yt)) * EXTENT


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}) if body else {}


def report(session, user, point, detections):
    analysis = make_analysis(session, user=user.id, latitude=point[0], longitude=point[1], detections=detections)
    session.refresh(analysis)
    return merge_sites(session, analysis, *point)


@pytest.fixture
def sites(user, other_user):
    with session_scope() as s:
        report(s, user, P, [D(0), D(2)])
        report(s, other_user, P3, [D(0)])
        report(s, other_user, Q, [D(1)])
        territory(s, "T", None, -65.21, -26.82, -65.20, -26.81)  # Q's public cell
        s.execute(text("UPDATE sites SET territory_code = territory_at(location)"))
        found = {f: str(i) for i, f in s.execute(text("SELECT id, family::text FROM sites"))}
    assert sorted(found) == ["refuse", "road", "water"]  # the merge itself: R took both refuse reports
    return {"R": found["refuse"], "W": found["water"], "X": found["road"]}


def heatmap(caller=None, **query):
    response = call("GET", "/api/v1/heatmap-data", caller=caller, query={**ALL, **query})
    assert response.status == 200, response.json()
    return response.json()


def by_place(points: list[dict]) -> dict:
    return {
        (round(p["latitude"], 6), round(p["longitude"], 6), p["family"]): (p["siteCount"], p["aggregated"])
        for p in points
    }


def test_anonymous_callers_get_sites_per_public_cell(sites):
    body = heatmap(unit="sites")

    # R counts once though two reports show it; W beside it; X in the cell south
    assert by_place(body["data"]) == {
        (*P_CENTRE, "refuse"): (1, True),
        (*P_CENTRE, "water"): (1, True),
        (*Q_CENTRE, "road"): (1, True),
    }
    assert (body["total_sites"], body["total_locations"], body["unit"]) == (3, 3, "sites")
    assert body["family_counts"] == {"refuse": 1, "road": 1, "water": 1}
    # the original client's legend field, present in both units (per family with sites)
    assert body["breeding_type_counts"] == {"refuse": 1, "road": 1, "water": 1}
    assert all("siteId" not in p for p in body["data"])
    # The detections' answer for the same cells: the refuse cell holds two detections
    detections = heatmap()
    assert detections["unit"] == "detections" and detections["total_detections"] == 4


def test_experts_get_each_site_at_its_point(sites, expert):
    body = heatmap(expert, unit="sites")

    points = {p["siteId"]: p for p in body["data"]}
    assert set(points) == set(sites.values())
    r, w, x = points[sites["R"]], points[sites["W"]], points[sites["X"]]
    assert (r["latitude"], r["longitude"]) == pytest.approx(R_POINT, abs=1e-7)
    assert (w["latitude"], w["longitude"]) == pytest.approx(P, abs=1e-7)
    assert (x["latitude"], x["longitude"]) == pytest.approx(Q, abs=1e-7)
    assert (r["detectionCount"], w["detectionCount"], x["detectionCount"]) == (2, 1, 1)
    assert not any(p["aggregated"] for p in body["data"]) and body["total_sites"] == 3


def test_users_get_their_own_sites_at_their_report_and_the_rest_as_cells(sites, user):
    body = heatmap(user, unit="sites")

    own = {p["siteId"]: p for p in body["data"] if not p["aggregated"]}
    assert set(own) == {sites["R"], sites["W"]}
    for point in own.values():
        # At U1's own report, not R's centroid that U2's report moved; only U1's detection counted
        assert (point["latitude"], point["longitude"]) == pytest.approx(P, abs=1e-7)
        assert point["isOwn"] is True and point["detectionCount"] == 1
    cells = [p for p in body["data"] if p["aggregated"]]
    assert by_place(cells) == {(*Q_CENTRE, "road"): (1, True)}


def test_officials_default_to_sites_and_see_their_territories_sites_exactly(sites, db):
    person = make_caller(Role.OFFICIAL, "oficial@example.org")
    with session_scope() as s:
        s.execute(text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, 'T')"), {"u": person.id})

    body = heatmap(person)  # no unit: an official's default

    assert body["unit"] == "sites"
    exact = [p for p in body["data"] if not p["aggregated"]]
    assert [p["siteId"] for p in exact] == [sites["X"]]
    assert (exact[0]["latitude"], exact[0]["longitude"]) == pytest.approx(Q, abs=1e-7)
    cells = [p for p in body["data"] if p["aggregated"]]
    assert by_place(cells) == {(*P_CENTRE, "refuse"): (1, True), (*P_CENTRE, "water"): (1, True)}


def test_detections_stay_the_default_for_everyone_else(sites, user, expert):
    assert heatmap()["unit"] == "detections"
    assert heatmap(user)["unit"] == "detections"
    assert heatmap(expert)["unit"] == "detections"


@pytest.mark.parametrize("path", ["/api/v1/heatmap-data", "/api/v1/map/tiles/12/1305/2365.mvt", "/api/v1/map-stats"])
def test_an_unknown_unit_is_422_in_the_envelope(db, path):
    response = call("GET", path, query={"unit": "photos"})

    assert response.status == 422
    error = response.json()["error"]
    assert error["code"] and "unit" in str(error.get("details")) + error["message"]


def grid_counts(layer: dict) -> dict:
    return {
        (int(f["geometry"]["coordinates"][0] // GRID_CELLS), int(f["geometry"]["coordinates"][1] // GRID_CELLS)): f[
            "properties"
        ]["count"]
        for f in layer["features"]
    }


def expected_grid(points: dict[tuple[float, float], int], z: int, x: int, y: int) -> dict:
    """Counts per tile grid cell of the given public cell centres, for the cells inside tile z/x/y."""
    cells: dict = {}
    for (lat, lon), count in points.items():
        tx, ty, px, py = tile_position(lat, lon, z)
        if (tx, ty) == (x, y):
            key = (int(px // GRID_CELLS), int(py // GRID_CELLS))
            cells[key] = cells.get(key, 0) + count
    return cells


@pytest.mark.parametrize("who", ["anonymous", "user", "expert"])
def test_grid_zoom_counts_sites_per_public_cell_for_everyone(sites, user, expert, who):
    z = 12
    x, y, _, _ = tile_position(*P_CENTRE, z)
    caller = {"anonymous": None, "user": user, "expert": expert}[who]
    response = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", caller=caller, query={**ALL, "unit": "sites"})

    assert response.status == 200
    layers = decode(response.body)
    assert set(layers) == {"grid"}
    assert grid_counts(layers["grid"]) == expected_grid({P_CENTRE: 2, Q_CENTRE: 1}, z, x, y)
    # each feature at the centre of its tile grid cell (64 units wide), not at a public cell's own point
    assert {tuple(c % 64 for c in f["geometry"]["coordinates"]) for f in layers["grid"]["features"]} == {(32, 32)}
    # Detections at the same zoom: R's two reports and W's count three
    detections = decode(call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", caller=caller, query=ALL).body)
    assert grid_counts(detections["grid"]) == expected_grid({P_CENTRE: 3, Q_CENTRE: 1}, z, x, y)


def test_detail_zoom_gives_experts_each_site_at_its_point(sites, expert):
    z = 16
    x, y, _, _ = tile_position(*P, z)
    response = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", caller=expert, query={**ALL, "unit": "sites"})

    assert response.headers["x-tile-layers"] == "sites,grid"
    features = {f["properties"]["id"]: f for f in decode(response.body)["sites"]["features"]}
    assert set(features) == {sites["R"], sites["W"]}
    for site, point in ((sites["R"], R_POINT), (sites["W"], P)):
        _, _, px, py = tile_position(*point, z)
        got = features[site]["geometry"]["coordinates"]
        assert abs(got[0] - px) <= 1 and abs(got[1] - py) <= 1
    assert features[sites["R"]]["properties"]["detection_count"] == 2
    assert features[sites["R"]]["properties"]["family"] == "refuse"


def test_detail_zoom_gives_a_user_their_own_sites_at_their_own_point(sites, user, other_user):
    # U1 reported R and W at P; U2's report at P3 moved R's centroid and added a second member: U1 sees R at P
    # with one detection (their own), never at R_POINT with two. U2 sees R at P3, and W not at all as a place.
    z = 16
    x, y, _, _ = tile_position(*P, z)
    path = f"/api/v1/map/tiles/{z}/{x}/{y}.mvt"
    seen = {}
    for who, caller in (("U1", user), ("U2", other_user)):
        response = call("GET", path, caller=caller, query={**ALL, "unit": "sites"})
        assert response.status == 200
        layer = decode(response.body).get("sites", {"features": []})
        seen[who] = {f["properties"]["id"]: f for f in layer["features"]}

    assert set(seen["U1"]) == {sites["R"], sites["W"]}
    assert set(seen["U2"]) == {sites["R"]}
    for who, site, point in (("U1", "R", P), ("U1", "W", P), ("U2", "R", P3)):
        _, _, px, py = tile_position(*point, z)
        got = seen[who][sites[site]]["geometry"]["coordinates"]
        assert abs(got[0] - px) <= 1 and abs(got[1] - py) <= 1, (who, site)
        assert seen[who][sites[site]]["properties"]["detection_count"] == 1, (who, site)


def test_below_the_detail_zoom_a_users_own_sites_are_cells_like_everyone_elses(sites, user):
    # At the grid zoom nobody's site is drawn whole, not even one's own: the signed-in owner gets the very tile
    # an anonymous caller gets
    z = 14
    x, y, _, _ = tile_position(*P_CENTRE, z)
    path = f"/api/v1/map/tiles/{z}/{x}/{y}.mvt"
    own = call("GET", path, caller=user, query={**ALL, "unit": "sites"})
    anonymous = call("GET", path, query={**ALL, "unit": "sites"})

    assert own.status == anonymous.status == 200
    layers = decode(own.body)
    assert set(layers) == {"grid"}
    assert grid_counts(layers["grid"]) == expected_grid({P_CENTRE: 2, Q_CENTRE: 1}, z, x, y) != {}
    # every seeded detection is recent, so every counted site is active
    assert all(f["properties"]["active_count"] == f["properties"]["count"] for f in layers["grid"]["features"])
    assert layers == decode(anonymous.body)


@pytest.mark.parametrize("z", [12, 16])
def test_a_tile_without_sites_is_empty(sites, expert, z):
    # Far from every site (the antimeridian): an empty body, at the grid zoom and at the detail zoom
    x, y, _, _ = tile_position(10.0, 179.9, z)
    response = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", caller=expert, query={**ALL, "unit": "sites"})

    assert (response.status, response.body) == (200, b"")


def test_a_deleted_users_reports_are_nobodys_own(sites, other_user):
    # U2 deletes their account: their analyses stay (user_id NULL, docs/auth.md). An anonymous caller has no id
    # either, and NULL must not match NULL: U2's sites are no anonymous caller's "own" places, on the heatmap or
    # on a detail tile, and every drawn site of U2's is a public cell like everyone else's.
    with session_scope() as s:
        s.execute(text("DELETE FROM users WHERE id = :id"), {"id": other_user.id})
        assert s.execute(text("SELECT count(*) FROM analyses WHERE user_id IS NULL")).scalar() == 2

    points = heatmap(unit="sites")["data"]
    assert [p for p in points if not p["aggregated"] or "siteId" in p] == []
    z = 16
    x, y, _, _ = tile_position(*P, z)
    body = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", query={**ALL, "unit": "sites"}).body
    assert "sites" not in decode(body)
    for site_id in sites.values():
        assert site_id.encode() not in body


def test_detail_zoom_gives_anonymous_callers_only_the_public_cell(sites):
    z = 16
    x, y, px, py = tile_position(*P_CENTRE, z)
    body = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", query={**ALL, "unit": "sites"}).body
    layers = decode(body)

    assert set(layers) == {"grid"}
    [feature] = layers["grid"]["features"]
    assert feature["properties"]["count"] == 2 and feature["properties"]["needing_work_count"] == 2
    got = feature["geometry"]["coordinates"]
    assert abs(got[0] - px) <= 1 and abs(got[1] - py) <= 1
    for site_id in sites.values():
        assert site_id.encode() not in body


def test_the_unit_is_part_of_the_etag(sites):
    z = 12
    x, y, _, _ = tile_position(*P_CENTRE, z)
    path = f"/api/v1/map/tiles/{z}/{x}/{y}.mvt"
    detections = call("GET", path, query=ALL)
    as_sites = call("GET", path, query={**ALL, "unit": "sites"}, headers={"If-None-Match": detections.headers["etag"]})

    assert as_sites.status == 200 and as_sites.headers["etag"] != detections.headers["etag"]


def test_a_site_astride_a_cell_edge_is_a_site_in_each_cell(user, other_user, expert):
    # Two people 4 m apart across lon = -65.20, one water site: once in each public cell for the public,
    # once (at its centroid, on the edge) for experts
    with session_scope() as s:
        report(s, user, (-26.8047, -65.20002), [D(2)])
        report(s, other_user, (-26.8047, -65.19998), [D(2)])
        assert s.execute(text("SELECT count(*) FROM sites")).scalar() == 1

    public = heatmap(unit="sites")
    assert by_place(public["data"]) == {(-26.805, -65.205, "water"): (1, True), (-26.805, -65.195, "water"): (1, True)}
    assert public["total_sites"] == 2
    [point] = heatmap(expert, unit="sites")["data"]
    assert (point["latitude"], point["longitude"]) == pytest.approx((-26.8047, -65.2), abs=1e-7)


@pytest.fixture
def k3(db, monkeypatch):
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_PUBLIC_MIN_REPORTERS", "3")
    get_report_settings.cache_clear()
    people = [make_caller("user", f"k{i}@example.org") for i in range(3)]
    with session_scope() as s:
        for i, person in enumerate(people):  # P's cell: three people, 110 m apart (three refuse sites)
            report(s, person, (P[0] - i * 1e-3, P[1]), [D(0)])
        for person in (people[0], people[1], people[1]):  # Q's cell: two people (one water site, 3 reports)
            report(s, person, Q, [D(2)])
    return people


def test_a_cell_whose_sites_come_from_fewer_than_k_people_is_not_drawn(k3):
    body = heatmap(unit="sites")

    assert by_place(body["data"]) == {(*P_CENTRE, "refuse"): (3, True)}
    assert body["k_anonymity"] == {"min_reporters": 3, "suppressed_cells": None}  # the number is not told either
    z = 12
    x, y, _, _ = tile_position(*P_CENTRE, z)
    layers = decode(call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", query={**ALL, "unit": "sites"}).body)
    assert grid_counts(layers["grid"]) == expected_grid({P_CENTRE: 3}, z, x, y)
    expert = make_caller(Role.EXPERT, "kexpert@example.org")
    assert heatmap(expert, unit="sites")["total_sites"] == 4
    assert heatmap(expert, unit="sites")["k_anonymity"]["suppressed_cells"] == 0


def test_officials_tiles_draw_their_territorys_sites_at_detail_zoom(sites, db):
    person = make_caller(Role.OFFICIAL, "oficial-tiles@example.org")
    with session_scope() as s:
        s.execute(text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, 'T')"), {"u": person.id})
    z = 16
    x, y, px, py = tile_position(*Q, z)

    response = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt", caller=person, query=ALL)  # sites by default

    assert response.headers["x-tile-layers"] == "sites,grid"
    [feature] = decode(response.body)["sites"]["features"]
    assert feature["properties"]["id"] == sites["X"] and feature["properties"]["is_own"] is False
    got = feature["geometry"]["coordinates"]
    assert abs(got[0] - px) <= 1 and abs(got[1] - py) <= 1


def test_every_cell_drawn_for_sites_is_drawn_for_detections(k3):
    for caller in (None, k3[0]):
        site_cells = {(p["latitude"], p["longitude"]) for p in heatmap(caller, unit="sites")["data"] if p["aggregated"]}
        detection_cells = {(p["latitude"], p["longitude"]) for p in heatmap(caller)["data"] if p["aggregated"]}
        assert site_cells <= detection_cells
    assert site_cells == set()  # for k3[0], P's cell has two other people only: held back in both units
