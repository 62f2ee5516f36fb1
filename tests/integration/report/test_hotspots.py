"""GET /map/hotspots: planted DBSCAN clusters are found, uniform noise gives none, Gi* matches the formula."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

CITY = "-65.26,-26.86,-65.16,-26.76"  # about 10 km x 11 km around San Miguel de Tucumán
CENTRES = [(-26.80, -65.22, 0), (-26.83, -65.19, 3), (-26.78, -65.18, 2)]  # planted cluster centres and class
METRES_PER_DEG_LAT = 111_320.0


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / METRES_PER_DEG_LAT, lon + east_m / (METRES_PER_DEG_LAT * math.cos(math.radians(lat)))


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (a[0] - b[0]) * METRES_PER_DEG_LAT
    east = (a[1] - b[1]) * METRES_PER_DEG_LAT * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


def noise(rng: random.Random, count: int, keep_away: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Uniform points over the city bbox, none within 600 m of `keep_away`."""
    west, south, east, north = map(float, CITY.split(","))
    points = []
    while len(points) < count:
        p = (rng.uniform(south, north), rng.uniform(west, east))
        if all(distance_m(p, c) > 600 for c in keep_away):
            points.append(p)
    return points


def seed_points(owner, points, classes):
    with session_scope() as s:
        for (lat, lon), class_id in zip(points, classes, strict=True):
            make_analysis(s, user=owner, latitude=lat, longitude=lon, detections=[class_id])


def test_planted_clusters_are_found_with_their_facts(expert, other_user):
    rng = random.Random(7)
    planted, classes = [], []
    for lat, lon, class_id in CENTRES:
        for _ in range(12):
            angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(0, 40)
            planted.append(offset(lat, lon, radius * math.sin(angle), radius * math.cos(angle)))
            classes.append(class_id)
    background = noise(rng, 150, [(lat, lon) for lat, lon, _ in CENTRES])
    seed_points(other_user.id, planted + background, classes + [1] * len(background))

    body = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "min_points": 5}).json()

    clusters = body["clusters"]
    assert len(clusters) == 3
    for lat, lon, class_id in CENTRES:
        [match] = [c for c in clusters if distance_m((c["centroid"]["latitude"], c["centroid"]["longitude"]),
                                                     (lat, lon)) < 20]  # fmt: skip
        assert match["detection_count"] == 12 and match["analysis_count"] == 12
        assert match["dominant_type"] == {0: "Basura", 3: "Huecos", 2: "Charcos/Cumulo de agua"}[class_id]
        assert match["radius_m"] <= 45
        assert match["mean_risk_level"] == {0: "ALTO", 3: "MEDIO", 2: "ALTO"}[class_id]
    assert body["method"]["eps_m"] == 150 and body["method"]["projection"] == "EPSG:32720 (UTM)"


def test_limit_returns_the_largest_clusters_first(expert, other_user):
    rng = random.Random(11)
    planted = []
    for (lat, lon, _), size in zip(CENTRES, (6, 12, 9), strict=True):
        for _ in range(size):
            angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(0, 40)
            planted.append(offset(lat, lon, radius * math.sin(angle), radius * math.cos(angle)))
    seed_points(other_user.id, planted, [0] * len(planted))

    def sizes(**query) -> list[int]:
        body = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "min_points": 5, **query})
        return [c["detection_count"] for c in body.json()["clusters"]]

    assert sizes() == [12, 9, 6]
    assert sizes(limit=2) == [12, 9]
    assert sizes(limit=1) == [12]


def test_uniform_noise_has_no_cluster(expert, other_user):
    rng = random.Random(11)
    points = noise(rng, 300, [])
    seed_points(other_user.id, points, [1] * len(points))
    body = call("GET", "/api/v1/map/hotspots", caller=expert, query={"bbox": CITY, "min_points": 5}).json()
    assert body["clusters"] == []


def test_expired_sites_and_other_users_data_are_left_out(user, other_user, expert):
    now = datetime.now(UTC)
    with session_scope() as s:
        for i in range(5):
            lat, lon = offset(-26.80, -65.22, i * 5, 0)
            make_analysis(s, user=user.id, latitude=lat, longitude=lon, detections=[0])
            lat, lon = offset(-26.83, -65.19, i * 5, 0)
            make_analysis(s, user=other_user.id, latitude=lat, longitude=lon,
                          detections=[D(0, expires_at=now - timedelta(days=1))])  # fmt: skip

    def counts(caller, **query):
        found = call("GET", "/api/v1/map/hotspots", caller=caller, query={"min_points": 5, **query}).json()
        return sorted(c["detection_count"] for c in found["clusters"])

    assert counts(expert) == [5]  # the expired cluster is not active
    assert counts(expert, include_expired="true") == [5, 5]
    assert counts(user, include_expired="true") == [5]  # users see their own data only
    assert call("GET", "/api/v1/map/hotspots").status == 401


@pytest.mark.parametrize("status", ["processing", "failed", "duplicate"])
def test_sites_of_analyses_that_do_not_count_are_left_out_and_both_point_queries_agree(expert, other_user, status):
    """Experts' points skip the join (an anti-join drops the detections of analyses that do not count): a cluster
    of sites under analyses in another state is no hotspot, and the joined query finds exactly the same."""
    from sentrix_report.dal.hotspots import dbscan
    from sentrix_report.logic.filters import build_filters
    from sentrix_report.logic.scope import counted, counted_detections

    with session_scope() as s:
        for i in range(6):
            lat, lon = offset(-26.80, -65.22, i * 5, 0)
            make_analysis(s, user=other_user.id, latitude=lat, longitude=lon, detections=[0, 3])
            lat, lon = offset(-26.83, -65.19, i * 5, 0)
            make_analysis(s, user=other_user.id, latitude=lat, longitude=lon, detections=[0, 0], status=status)
        make_analysis(s, user=None, latitude=-26.8001, longitude=-65.2201, detections=[2])  # no owner: counts
    found = call("GET", "/api/v1/map/hotspots", caller=expert, query={"min_points": 5, "bbox": CITY}).json()
    assert [(c["detection_count"], c["analysis_count"]) for c in found["clusters"]] == [(13, 7)]

    box = build_filters(bbox=CITY).box
    now = datetime.now(UTC)
    detections = counted_detections(build_filters(), now)
    results = []
    for where in (counted("a"), counted("a").add("a.id IS NOT NULL")):  # the second takes the joined form
        with session_scope() as s:
            results.append(dbscan(s, where=where, srid=32720, bbox=box, eps_m=150, min_points=5,
                                  detections=detections, limit=10, min_analyses=2,
                                  min_distinct_points=2, sites=False, exact_sites=False))  # fmt: skip
    assert results[0] == results[1] and len(results[0]) == 1


def test_gistar_z_scores_match_the_formula(expert, other_user):
    # Ten detections at one point in the middle of a ~6 km box: one cell holds 10, every other cell 0.
    centre = (-26.80, -65.22)
    with session_scope() as s:
        for _ in range(10):
            make_analysis(s, user=other_user.id, latitude=centre[0], longitude=centre[1], detections=[0])
    south, west = offset(*centre, -3000, -3000)
    north, east = offset(*centre, 3000, 3000)
    query = {"bbox": f"{west},{south},{east},{north}", "gistar": "true", "cell_m": 500, "min_points": 50}
    gi = call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()["gistar"]

    nx, ny = gi["grid"]["nx"], gi["grid"]["ny"]
    n = nx * ny
    hot = next(f["properties"] for f in gi["features"] if f["properties"]["count"] == 10)
    mean = 10 / n
    sd = math.sqrt(100 / n - mean**2)

    def z(ix: int, iy: int) -> float:
        neighbours = [
            (i, j) for i in range(ix - 1, ix + 2) for j in range(iy - 1, iy + 2) if 0 <= i < nx and 0 <= j < ny
        ]
        w = len(neighbours)
        wx = 10 if (hot["ix"], hot["iy"]) in neighbours else 0
        return (wx - mean * w) / (sd * math.sqrt((n * w - w * w) / (n - 1)))

    expected = {(i, j): round(z(i, j), 4) for i in range(nx) for j in range(ny) if abs(z(i, j)) >= 1.645}
    found = {(f["properties"]["ix"], f["properties"]["iy"]): f["properties"]["z"] for f in gi["features"]}
    assert found == pytest.approx(expected, abs=1e-4)
    assert len(found) == 9  # the hot cell and its 8 neighbours
    assert all(f["properties"]["gi_bin"] == 3 for f in gi["features"])
    assert gi["mean"] == pytest.approx(mean) and gi["sd"] == pytest.approx(sd)


def test_gistar_cells_are_valid_geojson_polygons(expert, other_user):
    with session_scope() as s:
        for _ in range(6):
            make_analysis(s, user=other_user.id, latitude=-26.80, longitude=-65.22, detections=[0])
    query = {"bbox": "-65.235,-26.815,-65.205,-26.785", "gistar": "true", "cell_m": 400}
    features = call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()["gistar"]["features"]
    assert features
    for feature in features:
        [ring] = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "Polygon" and len(ring) == 5 and ring[0] == ring[-1]
        assert all(-66 < lon < -65 and -27 < lat < -26 for lon, lat in ring)  # [lon, lat] order
        area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairwise(ring))
        assert area2 > 0  # counter-clockwise exterior ring (RFC 7946 right-hand rule)


def test_gistar_needs_a_bbox_and_a_sane_grid(expert):
    assert call("GET", "/api/v1/map/hotspots", caller=expert, query={"gistar": "true"}).status == 422
    query = {"gistar": "true", "bbox": "-70,-30,-60,-20", "cell_m": 10}
    assert call("GET", "/api/v1/map/hotspots", caller=expert, query=query).status == 422


# ------------------------------------------------------------------------------------------------------------
# A hotspot is a place: detections of at least 2 distinct analyses at at least 2 distinct points (issue 13)
# ------------------------------------------------------------------------------------------------------------
SPOT = (-26.80, -65.22)


def hotspots_of(caller, **query) -> dict:
    response = call("GET", "/api/v1/map/hotspots", caller=caller, query={"bbox": CITY, **query})
    assert response.status == 200, response.body[:300]
    return response.json()


def test_one_photo_with_ten_detections_is_no_hotspot(expert, other_user):
    with session_scope() as s:
        make_analysis(s, user=other_user.id, latitude=SPOT[0], longitude=SPOT[1], detections=[0] * 10)
    body = hotspots_of(expert)  # ten points at one spot: a DBSCAN cluster of one analysis, dropped
    assert body["clusters"] == []
    assert (body["method"]["min_distinct_analyses"], body["method"]["min_distinct_points"]) == (2, 2)
    assert "una foto" in body["method"]["rule"]  # the default language of the caller (es)


def test_three_photos_at_one_identical_point_are_no_hotspot(expert, other_user):
    with session_scope() as s:
        for _ in range(3):
            make_analysis(s, user=other_user.id, latitude=SPOT[0], longitude=SPOT[1], detections=[0, 0])
    assert hotspots_of(expert)["clusters"] == []
    assert hotspots_of(expert, min_points=2)["clusters"] == []


@pytest.mark.parametrize(("sites_per_photo", "min_points"), [(1, 2), (2, None)])
def test_two_photos_at_two_points_fifty_metres_apart_are_one_hotspot(expert, other_user, sites_per_photo, min_points):
    second = offset(*SPOT, 50, 0)  # 50 m north
    with session_scope() as s:
        for lat, lon in (SPOT, second):
            make_analysis(s, user=other_user.id, latitude=lat, longitude=lon, detections=[0] * sites_per_photo)

    [cluster] = hotspots_of(expert, min_points=min_points)["clusters"]

    assert (cluster["detection_count"], cluster["analysis_count"], cluster["point_count"]) == (
        2 * sites_per_photo,
        2,
        2,
    )
    midpoint = ((SPOT[0] + second[0]) / 2, SPOT[1])
    centre = (cluster["centroid"]["latitude"], cluster["centroid"]["longitude"])
    assert distance_m(centre, midpoint) < 1
    assert cluster["radius_m"] == pytest.approx(25, abs=0.5)  # half of 50 m


def test_the_minimum_of_distinct_analyses_is_a_setting(expert, other_user, monkeypatch):
    from sentrix_report.settings import get_report_settings

    with session_scope() as s:
        for north_m in (0, 40):  # a pair: 2 analyses at 2 points
            make_analysis(s, user=other_user.id, latitude=SPOT[0] + north_m / METRES_PER_DEG_LAT,
                          longitude=SPOT[1], detections=[0])  # fmt: skip
        east = offset(-26.83, -65.19, 0, 0)
        for north_m in (0, 40, 80):  # a trio: 3 analyses at 3 points
            lat, lon = offset(*east, north_m, 0)
            make_analysis(s, user=other_user.id, latitude=lat, longitude=lon, detections=[3])
    assert sorted(c["analysis_count"] for c in hotspots_of(expert, min_points=2)["clusters"]) == [2, 3]

    monkeypatch.setenv("REPORT_HOTSPOT_MIN_ANALYSES", "3")
    get_report_settings.cache_clear()
    body = hotspots_of(expert, min_points=2)
    assert [(c["analysis_count"], c["point_count"]) for c in body["clusters"]] == [(3, 3)]
    assert body["method"]["min_distinct_analyses"] == 3 and "al menos 3 análisis distintos" in body["method"]["rule"]

    monkeypatch.setenv("REPORT_HOTSPOT_MIN_ANALYSES", "2")
    monkeypatch.setenv("REPORT_HOTSPOT_MIN_DISTINCT_POINTS", "3")
    get_report_settings.cache_clear()
    assert [c["point_count"] for c in hotspots_of(expert, min_points=2)["clusters"]] == [3]
    get_report_settings.cache_clear()


def test_without_a_bbox_each_utm_zone_is_clustered_on_its_own(expert, other_user):
    # Tucumán (UTM zone 20S, EPSG:32720) and a place exactly 6° east (zone 21S, EPSG:32721): the same spot of
    # their zones, so their projected coordinates are equal. Two photos 20 m apart in each: with min_points 3
    # neither place has a core point (clustered together they would lend each other neighbours)
    tucuman, east_of_it = (-26.80, -65.22), (-26.80, -59.22)
    seed_points(other_user.id, [offset(*c, 20 * i, 0) for c in (tucuman, east_of_it) for i in range(2)], [0] * 4)
    query = {"min_points": 3}

    assert call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()["clusters"] == []

    # A third photo in each place: now each is a hotspot of its own
    seed_points(other_user.id, [offset(*c, 40, 0) for c in (tucuman, east_of_it)], [0] * 2)
    body = call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()
    found = sorted((c["detection_count"], round(c["centroid"]["longitude"], 2)) for c in body["clusters"])
    assert found == [(3, -65.22), (3, -59.22)]


@pytest.mark.parametrize("unit", ["detections", "sites"])
def test_a_bbox_across_two_utm_zones_is_clustered_in_one_projection(expert, other_user, unit):
    # A bbox 8° wide (one projection: its centre's zone, 21S) holding the same spot of zones 20S and 21S, 6° apart:
    # two photos 20 m apart at each (two sites), 600 km from each other in the bbox's projection: no hotspot with
    # min_points 3
    from tests.support.seed import merge_sites

    west, east = (-26.80, -61.0), (-26.80, -55.0)
    with session_scope() as s:
        for lat, lon in [offset(*c, 20 * i, 0) for c in (west, east) for i in range(2)]:
            analysis = make_analysis(s, user=other_user.id, latitude=lat, longitude=lon, detections=[0])
            s.refresh(analysis)
            merge_sites(s, analysis, lat, lon)
    query = {"min_points": 3, "bbox": "-62,-27,-54,-26", "unit": unit}

    body = call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()

    assert body["method"]["projection"] == "EPSG:32721 (UTM)"
    assert body["clusters"] == []
