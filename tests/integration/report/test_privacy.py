"""Anonymous map data never carries ids, image URLs, user ids or a single report's exact coordinates."""

from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import select, text

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.http.identity import Principal
from sentrix.repositories.analyses import visible_to
from sentrix_report.logic.scope import Scope
from tests.integration.report.conftest import call
from tests.support.seed import make_analysis

pytestmark = pytest.mark.integration

SELECT_IDS = "SELECT a.id FROM analyses a WHERE "
SITES = [(-26.81234, -65.21234), (-26.80987, -65.20456), (-26.71111, -65.11111)]


@pytest.fixture
def seeded(user, other_user):
    made = []
    with session_scope() as s:
        for i, (lat, lon) in enumerate(SITES):
            owner = user if i % 2 == 0 else other_user
            a = make_analysis(s, user=owner.id, latitude=lat, longitude=lon, detections=[0, 3],
                              processed_image_key=f"processed/{owner.id}/secret-{i}.jpg")  # fmt: skip
            made.append(a)
        secrets = {str(a.id) for a in made} | {str(d.id) for a in made for d in a.detections}
    return {"secrets": secrets | {str(user.id), str(other_user.id), "processed/", "secret-"}}


def coordinate_strings(lat: float, lon: float) -> set[str]:
    return {f"{lat:.5f}", f"{lon:.5f}", repr(lat), repr(lon)}


def assert_nothing_leaks(text: str, secrets: set[str]) -> None:
    for secret in secrets:
        assert secret not in text, secret
    for lat, lon in SITES:
        for exact in coordinate_strings(lat, lon):
            assert exact not in text, exact


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_anonymous_heatmap_and_map_stats_leak_nothing(seeded):
    for path in ("/api/v1/heatmap-data", "/api/v1/map-stats"):
        response = call("GET", path)
        assert response.status == 200
        assert_nothing_leaks(response.body.decode(), seeded["secrets"])
    points = call("GET", "/api/v1/heatmap-data").json()["data"]
    assert points and all(p["aggregated"] and "analysisId" not in p for p in points)
    for p in points:  # every public point is a cell centre: (k + 0.5) * 0.01
        for value in (p["latitude"], p["longitude"]):
            assert abs(value * 100 - math.floor(value * 100) - 0.5) < 1e-6


@pytest.mark.parametrize("z", [8, 12, 14, 16, 18])
def test_anonymous_tiles_leak_nothing_at_any_zoom(seeded, z):
    for lat, lon in SITES:
        x, y = tile_xy(lat, lon, z)
        body = call("GET", f"/api/v1/map/tiles/{z}/{x}/{y}.mvt").body
        layers = mapbox_vector_tile.decode(body) if body else {}
        assert "detections" not in layers
        assert_nothing_leaks(json.dumps(layers), seeded["secrets"])


def test_a_bearer_token_on_a_public_route_gives_the_own_detail(seeded, user):
    # No authorizer runs on public routes: the function checks the token itself.
    body = call("GET", "/api/v1/heatmap-data", headers=user.bearer).json()
    assert body["audience"] == "own"
    own = [p for p in body["data"] if not p["aggregated"]]
    assert {(p["latitude"], p["longitude"]) for p in own} == {SITES[0], SITES[2]}


def test_a_bad_token_on_a_public_route_is_401_not_anonymous(seeded):
    response = call("GET", "/api/v1/heatmap-data", headers={"Authorization": "Bearer not.a.token"})
    assert response.status == 401
    assert call("GET", "/api/v1/map-stats", headers={"Authorization": "Basic abc"}).status == 200


def test_scope_sql_selects_what_visible_to_selects(seeded, user, expert):
    # The raw-SQL scope mirrors the shared ORM rule; both must pick the same analyses.
    for caller in (user, expert):
        principal = Principal(caller.id, caller.role)
        where = Scope.of(principal).analyses("a")
        with session_scope() as s:
            statement = text(SELECT_IDS + where.sql())
            ours = set(s.execute(statement, where.params).scalars())
            shared = set(s.scalars(visible_to(principal, select(Analysis.id))))
        assert ours == shared
        assert len(ours) == (3 if caller is expert else 2)
