"""The inversion adversary against `unit=sites` on the public map-stats: an anonymous client with an unlimited
request budget tries to learn, from breeding-site counts, where a citizen's report lies below the public grid or
when below a day (docs/sites.md, *Sites as the unit*; the detections' adversary is test_map_inversion.py).

Sites are made by the real merge (`sentrix.repositories.sites`, as detect does). The planted report shares its
0.01° cell with two other people's reports; one site lies astride the edge between two cells, 2 m from it. The
adversary moves bbox edges and date bounds inside the cell and the day (answers must be byte-identical), adds
and subtracts areas (a site counted once for two cells but once in each would reveal that it lies at their
edge), and reads everything for ids and coordinates.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sentrix.db.engine import session_scope
from tests.support.seed import D, make_analysis, make_user, merge_sites

pytestmark = pytest.mark.integration

GRID = 0.01
WEST, SOUTH = -65.21, -26.81  # the planted cell [-65.21, -65.20) x [-26.81, -26.80)
PLANTED = (-26.80371, -65.20637)
NEIGHBOURS = [(-26.8081, -65.2019), (-26.8012, -65.2093)]
# Astride the edge lon = -65.20 between the planted cell and the one east of it: two people 4 m apart, one site.
ASTRIDE = [(-26.8047, -65.20002), (-26.8047, -65.19998)]
EAST_CELL_PEOPLE = [(-26.8031, -65.1951), (-26.8072, -65.1933)]


# Expired detections count too: the water sites' detections (3 days of validity) would otherwise have ended.
ALL = {"include_expired": "true"}


def _box(west, south, east, north) -> str:
    return f"{west},{south},{east},{north}"


def _cells(first: int, last: int) -> str:
    """A bbox inside the cells `first`..`last` east of the planted one (0: the planted cell), away from every edge:
    snapped to exactly those cells."""
    return _box(WEST + first * GRID + 0.002, SOUTH + 0.002, WEST + last * GRID + 0.008, SOUTH + 0.008)


@pytest.fixture
def planted(api) -> tuple[datetime, list[str]]:
    when = (datetime.now(UTC) - timedelta(days=3)).replace(hour=13, minute=47, second=12, microsecond=0)
    site_ids: list[str] = []
    with session_scope() as s:
        people = [make_user(s, email=f"s{i}@example.org") for i in range(7)]
        s.flush()
        reports = [(people[0], PLANTED, when, [D(0), D(2)])]
        reports += [(p, pt, when - timedelta(days=1), [D(0)]) for p, pt in zip(people[1:3], NEIGHBOURS, strict=True)]
        reports += [(p, pt, when, [D(2)]) for p, pt in zip(people[3:5], ASTRIDE, strict=True)]
        reports += [(p, pt, when, [D(0)]) for p, pt in zip(people[5:7], EAST_CELL_PEOPLE, strict=True)]
        for person, (lat, lon), at, detections in reports:
            analysis = make_analysis(
                s, user=person.id, latitude=lat, longitude=lon, created_at=at, detections=detections
            )
            s.refresh(analysis)
            site_ids += [str(i) for i in merge_sites(s, analysis, lat, lon)]
    return when, site_ids


def sites(api, **query) -> dict:
    response = api.get("/map-stats", params={"unit": "sites", **ALL, **query})
    assert response.status_code == 200, response.text[:300]
    return response.json()["sites"]


def test_a_site_astride_a_cell_edge_counts_in_each_cell_so_no_difference_shows_it(api, planted):
    west = sites(api, bbox=_cells(0, 0))["total"]
    east = sites(api, bbox=_cells(1, 1))["total"]
    both = sites(api, bbox=_cells(0, 1))["total"]

    # West cell: the planted report's two sites (refuse, water), the neighbours' refuse sites (each far from the
    # others: its own), and the astride water site; east cell: the astride site again and two refuse sites.
    assert (west, east) == (5, 3)
    assert both == west + east  # counted once per cell: the union adds up, nothing tells the edge apart


def test_experts_count_each_site_once(api, planted):
    from tests.support.identity import bearer

    with session_scope() as s:
        expert = make_user(s, role="expert", email="site-expert@example.org")
        s.flush()
        s.expunge(expert)
    headers = bearer(expert)
    box = _box(WEST, SOUTH, WEST + 2 * GRID, SOUTH + GRID)  # exact for experts: every report of both cells
    response = api.get("/map-stats", params={"unit": "sites", "bbox": box, **ALL}, headers=headers)

    assert response.status_code == 200, response.text[:300]
    assert response.json()["sites"]["total"] == 7  # 8 per cell for the public, the astride site once here
    assert response.json()["sites"]["precision"] == {"per_cell_deg": None}


def test_no_bbox_edge_inside_the_cell_changes_the_site_figures(api, planted):
    rng = random.Random(19)
    far = {"west": -66.0, "south": -27.5, "east": -64.5, "north": -26.0}
    for edge, low in (("west", WEST), ("east", WEST), ("south", SOUTH), ("north", SOUTH)):
        answers = set()
        for _ in range(12):
            box = dict(far, **{edge: low + GRID * (0.001 + 0.998 * rng.random())})
            response = api.get("/map-stats", params={"unit": "sites", "bbox": _box(**box), **ALL})
            assert response.status_code == 200
            answers.add(response.content)
        assert len(answers) == 1, f"the {edge} edge separated sites inside one public cell"


def test_no_date_bound_inside_the_day_changes_the_site_figures(api, planted):
    when, _ = planted
    rng = random.Random(23)
    day = when.replace(hour=0, minute=0, second=0)
    for bound in ("date_from", "date_to"):
        answers = set()
        for _ in range(10):
            moment = day + timedelta(seconds=rng.randrange(1, 86_399))
            response = api.get("/map-stats", params={"unit": "sites", bound: moment.isoformat(), **ALL})
            assert response.status_code == 200
            answers.add(response.content)
        assert len(answers) == 1, f"{bound} split a day"


def test_an_area_of_fewer_than_k_people_tells_nothing_about_its_sites(api, planted):
    # The west cell on the planted report's day: the planted person and the west one of the astride pair, two
    # people (k = 3 by default): every site figure withheld.
    day = planted[0].date().isoformat()
    block = sites(api, bbox=_cells(0, 0), date_from=day, date_to=day)
    assert block["total"] is None and block["by_status"] == {k: None for k in block["by_status"]}
    whole_cell = sites(api, bbox=_cells(0, 0))
    assert whole_cell["total"] == 5  # four people over the days: shown


def test_no_answer_carries_a_site_id_or_a_site_position(api, planted):
    _, site_ids = planted
    with session_scope() as s:
        from sqlalchemy import text

        points = s.execute(text("SELECT ST_Y(location), ST_X(location) FROM sites")).all()
    texts = [
        api.get("/map-stats", params={"unit": "sites"}).text,
        api.get("/map-stats", params={"unit": "sites", "bbox": _cells(0, 0)}).text,
    ]
    for body in texts:
        for site_id in site_ids:
            assert site_id not in body
        for value in (v for point in points for v in point):
            # A coordinate on the grid's half-steps (the astride site's longitude is the cell edge) is a public
            # cell's edge or centre anyway; every other site coordinate must be absent.
            if abs(value / (GRID / 2) - round(value / (GRID / 2))) > 1e-4:
                assert f"{value:.5f}" not in body
