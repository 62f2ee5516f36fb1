"""GET /indices, beyond the worked figures of test_visits.py: the window's edges (2000-01-01 and 2100-12-31 are
inside; a day outside is 422 naming `from` or `to`), each cycle's container totals, and the potential-site
figures' rounding (area 4 decimals, density 6) with a density for a territory smaller than a square kilometre
(docs/visits.md). Expected values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.upload.sites_support import CHARCOS, report, sites_of, sql
from tests.integration.upload.support import call, make_user
from tests.integration.upload.test_territories import collection, feature, square
from tests.integration.upload.test_visits import NOVEMBER, V1, V1_CONTAINERS, recorded
from tests.integration.upload.test_visits import world as world  # the fixture, used by its name

pytestmark = pytest.mark.integration


def asked(user, **query):
    return call("GET", "/api/v1/indices", user=user, query=query)


@pytest.mark.parametrize(
    "window", [{"from": "2000-01-01", "to": "2000-01-31"}, {"from": "2100-12-01", "to": "2100-12-31"}]
)
def test_the_first_and_last_days_allowed_are_inside_the_window(world, window):
    answer = asked(world["expert"], territory="C", **window)
    assert answer.status == 200, answer.body
    assert answer.body["larval_indices"]["territories"][0]["cycles"][0]["visits"] == 0


@pytest.mark.parametrize(
    ("window", "field"),
    [({"from": "1999-12-31", "to": "2000-01-31"}, "from"), ({"from": "2100-12-01", "to": "2101-01-01"}, "to")],
)
def test_a_day_outside_the_range_names_its_field(world, window, field):
    answer = asked(world["expert"], territory="C", **window)
    assert (answer.status, answer.error["code"], answer.error["details"]["field"]) == (422, "validation_error", field)


def test_a_cycle_adds_up_each_container_class(world):
    recorded(world["expert"], V1)  # B 50 inspected / 2 positive, D1 8 / 1; the rest none

    cycle = asked(world["expert"], territory="N1", **NOVEMBER).body["larval_indices"]["territories"][0]["cycles"][0]

    assert cycle["containers"] == V1_CONTAINERS


@pytest.fixture
def small(upload_env):
    """A city and, inside it, a 0.005° × 0.005° block with one confirmed site reported in November."""
    admin, reporter = make_user("admin"), make_user()
    analysis = report(reporter, -26.8025, -65.2475, (CHARCOS,), created_at=datetime(2026, 11, 10, 12, tzinfo=UTC))
    city = feature("C", "San Miguel", square(-65.30, -26.90, -65.10, -26.70))
    block = feature("B1", "Manzana", square(-65.25, -26.805, -65.245, -26.80), parent="C")
    assert call("POST", "/api/v1/territories", user=admin, body=collection(city, block)).status == 200
    sql("UPDATE sites SET confirmed = true WHERE id = :id", id=sites_of(analysis)[0])
    return make_user("expert")


def test_potential_sites_of_a_territory_under_a_square_kilometre_have_a_density(small):
    answer = asked(small, territory="B1", **NOVEMBER)
    assert answer.status == 200, answer.body

    [row] = answer.body["potential_sites"]["territories"]
    # 0.005° of longitude at 26.8° S = 497.15 m, 0.005° of latitude = 554.0 m: 0.2754 km²; 1 site / 0.2754 km²
    assert row["confirmed_sites"] == 1
    assert row["area_km2"] == pytest.approx(0.2754, abs=0.0005)
    assert row["density_per_km2"]["value"] == pytest.approx(3.631, abs=0.01)
    # the published rounding: the area to 4 decimals (value and denominator), the density to 6
    assert row["area_km2"] == round(row["area_km2"], 4) == row["density_per_km2"]["denominator"]
    density = row["density_per_km2"]["value"]
    assert density == round(density, 6) and density == pytest.approx(1 / row["area_km2"], rel=1e-4)
    assert {k: v["per"] for k, v in row["class_mix"].items()} == {k: "confirmed_sites" for k in row["class_mix"]}


@pytest.mark.parametrize(
    ("cycle", "first", "last", "status"),
    [
        ("month", "2021-01-01", "2025-12-31", 200),  # 60 months
        ("month", "2021-01-01", "2026-01-31", 422),  # 61
        ("epiweek", "2025-01-01", "2026-06-30", 422),  # 79 epidemiological weeks (18 months)
    ],
    ids=["60-months", "61-months", "79-epiweeks"],
)
def test_at_most_sixty_cycles(world, cycle, first, last, status):
    answer = asked(world["expert"], territory="C", cycle=cycle, **{"from": first, "to": last})

    assert answer.status == status, answer.body
    if status == 422:  # the caller's language: Spanish by default
        assert answer.error["details"] == {"field": "cycle", "max_cycles": 60}
        assert answer.error["message"] == "Más de 60 ciclos: acorte la ventana o elija un ciclo más largo"
    else:
        assert len(answer.body["larval_indices"]["territories"][0]["cycles"]) == 60


@pytest.mark.parametrize(
    ("language", "message"),
    [(None, "Territorio H2 no encontrado en su ámbito"), ("en", "Territory H2 not found in your scope")],
    ids=["stated-none", "en"],
)
def test_an_officials_indices_outside_their_territory_are_not_found(world, language, message):
    official = world["official"]  # of H1
    headers = {"Accept-Language": language} if language else None
    answer = call("GET", "/api/v1/indices", user=official, query={"territory": "H2", **NOVEMBER}, headers=headers)

    assert (answer.status, answer.error["code"], answer.error["message"]) == (404, "not_found", message)
    assert answer.error["details"] == {"field": "territory", "territory": "H2"}
