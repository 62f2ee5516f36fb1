"""Field visits and larval indices through the upload handler on PostGIS (docs/visits.md): recording and reading
visits, who may (officials inside their territories and below, experts, admins; users 403), bad input named by
field, the indices per territory and survey cycle worked out by hand (closed and refused premises out of H, null
for a zero denominator), and the photo-derived potential sites beside them, labelled apart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import OfficialTerritory
from tests.integration.upload.sites_support import BASURA, CALLES, CHARCOS, HUECOS, report, sites_of, sql
from tests.integration.upload.support import call, make_user
from tests.integration.upload.test_territories import HIERARCHY

pytestmark = pytest.mark.integration

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
IN_NOVEMBER = datetime(2026, 11, 10, 12, tzinfo=UTC)


def body(territory: str, visited_on: str, premises: dict, containers: dict | None = None, **extra) -> dict:
    return {
        "territory": territory,
        "visited_on": visited_on,
        "area": "Manzana 12",
        "team": "Brigada Norte",
        "premises": premises,
        "containers": containers or {},
        **extra,
    }


# The visits of the hand computations below (C → H1 → N1, C → H2; test_territories.HIERARCHY)
V1 = body(
    "N1",
    "2026-11-03",
    {"visited": 40, "closed": 5, "refused": 3, "positive": 2},
    {"B": {"inspected": 50, "positive": 2}, "D1": {"inspected": 8, "positive": 1}},
    pupae=6,
)
# V1's containers, every class named (the ones it did not inspect at zero)
V1_CONTAINERS = {
    "A1": {"inspected": 0, "positive": 0},
    "A2": {"inspected": 0, "positive": 0},
    "B": {"inspected": 50, "positive": 2},
    "C": {"inspected": 0, "positive": 0},
    "D1": {"inspected": 8, "positive": 1},
    "D2": {"inspected": 0, "positive": 0},
    "E": {"inspected": 0, "positive": 0},
}
V2 = body(
    "H1",
    "2026-11-10",
    {"visited": 25, "closed": 2, "positive": 0},
    {"A2": {"inspected": 12, "positive": 0}, "C": {"inspected": 4, "positive": 0}},
)
V3 = body(
    "H2", "2026-11-12", {"visited": 30, "refused": 1, "positive": 1}, {"D2": {"inspected": 6, "positive": 1}}, pupae=2
)
V4 = body("C", "2026-11-20", {"visited": 10, "closed": 10, "positive": 0})  # every premises closed
V5 = body("N1", "2026-10-28", {"visited": 10, "positive": 5}, {"B": {"inspected": 10, "positive": 5}})  # October


def post(user, payload, **kwargs):
    return call("POST", "/api/v1/visits", user=user, body=payload, **kwargs)


def recorded(user, payload) -> dict:
    answer = post(user, payload)
    assert answer.status == 201, answer.body
    return answer.body


def official_of(*codes: str):
    official = make_user("official")
    with session_scope() as session:
        session.add_all(OfficialTerritory(user_id=official.id, territory_code=code) for code in codes)
    return official


@pytest.fixture
def world(upload_env):
    """Reports (potential sites) stored before the territories are imported (the import tags them), then the
    hierarchy; an expert, an admin, a user, an official of H1."""
    admin, expert, reporter = make_user("admin"), make_user("expert"), make_user()
    reports = {
        "n1_water": report(reporter, -26.80, -65.235, (CHARCOS,), created_at=IN_NOVEMBER),
        "n1_refuse": report(reporter, -26.81, -65.245, (BASURA,), created_at=IN_NOVEMBER),
        "h1_unconfirmed": report(reporter, -26.85, -65.28, (CHARCOS,), created_at=IN_NOVEMBER),
        "h2_water": report(reporter, -26.85, -65.17, (HUECOS,), created_at=IN_NOVEMBER),
        "h2_dismissed": report(reporter, -26.80, -65.17, (CALLES,), created_at=IN_NOVEMBER),
        "h2_september": report(reporter, -26.72, -65.16, (CHARCOS,), created_at=datetime(2026, 9, 1, tzinfo=UTC)),
    }
    answer = call("POST", "/api/v1/territories", user=admin, body=HIERARCHY)
    assert answer.status == 200, answer.body
    confirmed = [sites_of(reports[k])[0] for k in ("n1_water", "n1_refuse", "h2_water", "h2_dismissed", "h2_september")]
    sql("UPDATE sites SET confirmed = true WHERE id = ANY(:ids)", ids=confirmed)
    sql("UPDATE sites SET status = 'dismissed' WHERE id = :id", id=sites_of(reports["h2_dismissed"])[0])
    return {"admin": admin, "expert": expert, "user": reporter, "official": official_of("H1"), "reports": reports}


def test_an_expert_records_a_visit_and_reads_it_back(world):
    expert = world["expert"]
    site = sites_of(world["reports"]["n1_water"])[0]
    payload = {**V1, "site_ids": [str(site)], "analysis_ids": [str(world["reports"]["n1_water"])], "notes": "lluvia"}

    visit = recorded(expert, payload)

    # inspected = 40 visited - 5 closed - 3 refused = 32
    assert visit["premises"] == {"visited": 40, "closed": 5, "refused": 3, "inspected": 32, "positive": 2}
    assert visit["containers"] == V1_CONTAINERS
    assert (visit["territory"], visit["visited_on"], visit["pupae"], visit["notes"]) == (
        "N1",
        "2026-11-03",
        6,
        "lluvia",
    )
    assert visit["site_ids"] == [str(site)]
    assert visit["analysis_ids"] == [str(world["reports"]["n1_water"])]
    assert visit["recorded_by"] == str(expert.id)
    again = call("GET", f"/api/v1/visits/{visit['id']}", user=world["admin"])
    assert again.status == 200
    assert again.body == visit
    assert call("GET", "/api/v1/visits/not-a-uuid", user=expert).status == 404


def test_the_list_filters_and_pages_with_a_total(world):
    expert = world["expert"]
    ids = {name: recorded(expert, v)["id"] for name, v in {"v1": V1, "v2": V2, "v3": V3, "v4": V4, "v5": V5}.items()}

    def listed(**query):
        answer = call("GET", "/api/v1/visits", user=expert, query=query)
        assert answer.status == 200, answer.body
        return answer.body

    everything = listed()
    # latest day first
    assert [v["id"] for v in everything["items"]] == [ids[k] for k in ("v4", "v3", "v2", "v1", "v5")]
    assert (everything["total"], everything["has_next"]) == (5, False)
    h1 = listed(territory="H1")  # H1 and N1 below it
    assert {v["id"] for v in h1["items"]} == {ids["v1"], ids["v2"], ids["v5"]}
    november = listed(**NOVEMBER, territory="H1")
    assert {v["id"] for v in november["items"]} == {ids["v1"], ids["v2"]}
    page = listed(limit=2, offset=2)
    assert ([v["id"] for v in page["items"]], page["total"], page["has_next"]) == ([ids["v2"], ids["v1"]], 5, True)
    assert listed(team="brigada norte")["total"] == 5
    assert listed(team="Otra")["total"] == 0
    assert call("GET", "/api/v1/visits", user=expert, query={"from": "2026-11-30", "to": "2026-11-01"}).status == 422
    early = call("GET", "/api/v1/visits", user=expert, query={"from": "1999-12-31"})
    assert (early.status, early.error["details"]) == (422, {"field": "from"})


def test_users_may_not_record_or_read_visits(world):
    user = world["user"]
    visit = recorded(world["expert"], V1)

    for method, path, kwargs in (
        ("POST", "/api/v1/visits", {"body": V1}),
        ("GET", "/api/v1/visits", {}),
        ("GET", f"/api/v1/visits/{visit['id']}", {}),
        ("GET", "/api/v1/indices", {"query": {"territory": "C", **NOVEMBER}}),
    ):
        answer = call(method, path, user=user, **kwargs)
        assert answer.status == 403, (method, path)
        assert answer.error["code"] == "forbidden"


def test_an_official_records_and_reads_inside_their_territory_and_below_only(world):
    official = world["official"]  # of H1 (N1 below it)
    outside = recorded(world["expert"], V3)  # H2

    inside = recorded(official, V1)  # N1, a descendant
    own_area = recorded(official, V2)  # H1 itself
    october = recorded(official, V5)
    for code in ("H2", "C"):  # a sibling and the parent
        refused = post(official, {**V1, "territory": code})
        assert refused.status == 404, code
        assert refused.error["details"] == {"field": "territory", "territory": code}
    listed = call("GET", "/api/v1/visits", user=official).body
    assert {v["id"] for v in listed["items"]} == {inside["id"], own_area["id"], october["id"]}
    assert listed["total"] == 3
    assert call("GET", f"/api/v1/visits/{inside['id']}", user=official).status == 200
    assert call("GET", f"/api/v1/visits/{outside['id']}", user=official).status == 404
    assert call("GET", "/api/v1/visits", user=official, query={"territory": "H2"}).status == 404
    for code, status in (("H1", 200), ("N1", 200), ("H2", 404), ("C", 404)):
        answer = call("GET", "/api/v1/indices", user=official, query={"territory": code, **NOVEMBER})
        assert answer.status == status, code


def test_an_official_links_only_sites_and_analyses_they_may_see(world):
    official, reports = world["official"], world["reports"]
    h2_site = sites_of(reports["h2_water"])[0]

    site = post(official, {**V1, "site_ids": [str(h2_site)]})
    assert (site.status, site.error["details"]) == (404, {"field": "site_ids", "ids": [str(h2_site)]})
    analysis = post(official, {**V1, "analysis_ids": [str(reports["h2_water"])]})
    assert (analysis.status, analysis.error["details"]["field"]) == (404, "analysis_ids")
    fine = post(official, {**V1, "site_ids": [str(sites_of(reports["n1_water"])[0])]})
    assert fine.status == 201
    assert sql("SELECT count(*) FROM visits")[0][0] == 1  # nothing half-written by the refusals


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"premises": {"visited": 10, "positive": 11}}, "premises.positive", "positive_above_inspected"),
        ({"containers": {"B": {"inspected": 3, "positive": 4}}}, "containers.B.positive", "positive_above_inspected"),
        ({"premises": {"visited": 10, "closed": 8, "refused": 3, "positive": 0}}, "premises.visited", None),
        ({"premises": {"visited": 10, "closed": 2, "inspected": 9, "positive": 0}}, "premises.inspected", None),
        (
            {"premises": {"visited": 10, "positive": 3}},
            "premises.positive",
            "positive_premises_above_positive_containers",
        ),
        (
            {
                "pupae": 3,
                "containers": {"B": {"inspected": 3, "positive": 0}},
                "premises": {"visited": 5, "positive": 0},
            },
            "pupae",
            None,
        ),
    ],
)
def test_counts_that_do_not_add_up_are_422_naming_the_field(world, change, field, reason):
    payload = {
        **body("N1", "2026-11-03", {"visited": 10, "positive": 1}, {"B": {"inspected": 3, "positive": 1}}),
        **change,
    }

    answer = post(world["expert"], payload, headers={"accept-language": "es"})

    assert answer.status == 422, answer.body
    assert answer.error["details"]["field"] == field
    if reason is not None:
        assert answer.error["details"]["reason"] == reason
    assert answer.error["message"].startswith(f"{field}: ")  # the catalogue's words, in Spanish
    assert sql("SELECT count(*) FROM visits")[0][0] == 0


def test_dates_in_the_future_are_422(world):
    # Later than today anywhere on Earth (UTC+14 is at most one day ahead of UTC's date)
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()

    answer = post(world["expert"], {**V1, "visited_on": future})

    assert answer.status == 422
    assert (answer.error["details"]["field"], answer.error["details"]["reason"]) == ("visited_on", "in_future")


def test_schema_refusals_name_the_field(world):
    expert = world["expert"]

    negative = post(expert, {**V1, "premises": {"visited": -1, "positive": 0}})
    assert negative.status == 422
    assert negative.error["details"][0]["loc"] == ["body", "premises", "visited"]
    unknown_class = post(expert, {**V1, "containers": {"F": {"inspected": 1, "positive": 0}}})
    assert unknown_class.status == 422
    assert unknown_class.error["details"][0]["loc"] == ["body", "containers", "F"]
    negative_container = post(expert, {**V1, "containers": {"B": {"inspected": 2, "positive": -1}}})
    assert negative_container.error["details"][0]["loc"] == ["body", "containers", "B", "positive"]
    unknown_territory = post(expert, {**V1, "territory": "ZZ"})
    assert unknown_territory.status == 422
    assert unknown_territory.error["details"] == {"field": "territory", "territory": "ZZ"}


def indices(user, **query) -> dict:
    answer = call("GET", "/api/v1/indices", user=user, query=query)
    assert answer.status == 200, answer.body
    return answer.body


def figures(cycle: dict) -> dict:
    """(value, numerator, denominator) of each index of one cycle."""
    names = ("house_index", "container_index", "breteau_index", "pupae_per_premises", "pupal_index")
    return {n: (cycle[n]["value"], cycle[n]["numerator"], cycle[n]["denominator"]) for n in names}


def test_indices_per_territory_worked_by_hand(world):
    expert = world["expert"]
    for visit in (V1, V2, V3, V4, V5):
        recorded(expert, visit)

    answer = indices(expert, territory="C", **NOVEMBER)

    rows = answer["larval_indices"]["territories"]
    assert [r["territory"]["code"] for r in rows] == ["C", "H1", "H2"]  # the city, then each area below it
    city, h1, h2 = (r["cycles"] for r in rows)
    assert [len(city), len(h1), len(h2)] == [1, 1, 1]  # the window is one cycle
    # City, November (V5 is October): H = 32 + 23 + 29 + 0 = 84 (closed 5+2+0+10 = 17, refused 3+0+1+0 = 4 apart)
    # H+ = 2 + 0 + 1 = 3 -> HI 100·3/84 = 3.571 -> 3.57, alert; C = 50+8+12+4+6 = 80, C+ = 2+1+1 = 4 -> CI 5.0
    # BI = 100·4/84 = 4.762 -> 4.76; pupae: V1 6 over 32, V3 2 over 29 (V2, V4 counted none) -> 8/61 = 0.1311
    assert city[0]["premises"] == {"visited": 105, "closed": 17, "refused": 4, "inspected": 84, "positive": 3}
    assert figures(city[0]) == {
        "house_index": (3.57, 3, 84),
        "container_index": (5.0, 4, 80),
        "breteau_index": (4.76, 4, 84),
        "pupae_per_premises": (0.1311, 8, 61),
        "pupal_index": (13.11, 8, 61),
    }
    assert (city[0]["house_index"]["classification"], city[0]["visits"], city[0]["visits_counting_pupae"]) == (
        "alert",
        4,
        2,
    )
    # ITR: B 2 of 4 = 50 %, D1 1 of 4 = 25 %, D2 1 of 4 = 25 %
    itr = {k: v["value"] for k, v in city[0]["container_type_index"].items()}
    assert itr == {"A1": 0.0, "A2": 0.0, "B": 50.0, "C": 0.0, "D1": 25.0, "D2": 25.0, "E": 0.0}
    # H1 with N1 below it: V1 + V2. H = 32 + 23 = 55, H+ = 2 -> 3.636 -> 3.64; C = 74, C+ = 3 -> 4.054 -> 4.05;
    # BI = 300/55 = 5.4545 -> 5.45; pupae 6 / 32 = 0.1875
    assert figures(h1[0]) == {
        "house_index": (3.64, 2, 55),
        "container_index": (4.05, 3, 74),
        "breteau_index": (5.45, 3, 55),
        "pupae_per_premises": (0.1875, 6, 32),
        "pupal_index": (18.75, 6, 32),
    }
    # H2: V3. H = 29, H+ = 1 -> 3.448 -> 3.45; C = 6, C+ = 1 -> 16.67; BI = 100/29 -> 3.45; pupae 2/29 = 0.069
    assert figures(h2[0]) == {
        "house_index": (3.45, 1, 29),
        "container_index": (16.67, 1, 6),
        "breteau_index": (3.45, 1, 29),
        "pupae_per_premises": (0.069, 2, 29),
        "pupal_index": (6.9, 2, 29),
    }
    assert h2[0]["container_type_index"]["D2"]["value"] == 100.0
    assert answer["larval_indices"]["label"] != answer["potential_sites"]["label"]


def test_indices_per_month_and_zero_denominators(world):
    expert = world["expert"]
    for visit in (V1, V4, V5):
        recorded(expert, visit)

    answer = indices(expert, territory="C", cycle="month", **{"from": "2026-10-01", "to": "2026-11-30"})

    city, h1, h2 = (r["cycles"] for r in answer["larval_indices"]["territories"])
    assert [(c["label"], c["start"], c["end"]) for c in city] == [
        ("2026-10", "2026-10-01", "2026-10-31"),
        ("2026-11", "2026-11-01", "2026-11-30"),
    ]
    # October: V5 alone, 5 of 10 premises positive -> HI 50, risk; November: V1 + V4, H = 32 + 0, H+ = 2 -> 6.25
    assert (city[0]["house_index"]["value"], city[0]["house_index"]["classification"]) == (50.0, "risk")
    assert figures(city[1])["house_index"] == (6.25, 2, 32)
    assert h1[1]["premises"]["closed"] == 5  # V4 is the city's own: in the city's row only
    # H2 had no visit: every index null (not 0), no class
    for cycle in h2:
        assert all(value is None for value, _n, _d in figures(cycle).values())
        assert cycle["house_index"]["classification"] is None
        assert cycle["visits"] == 0
    # Only closed premises in a cycle: nothing inspected, so null
    only_closed = indices(expert, territory="C", **{"from": "2026-11-20", "to": "2026-11-20"})
    cycle = only_closed["larval_indices"]["territories"][0]["cycles"][0]
    assert (cycle["premises"]["closed"], figures(cycle)["house_index"]) == (10, (None, 0, 0))


def test_potential_sites_are_apart_per_km2_with_their_class_mix(world):
    answer = indices(world["expert"], territory="C", **NOVEMBER, language="en")

    section = answer["potential_sites"]
    assert "not larval indices" in section["label"]
    city, h1, h2 = section["territories"]
    # Confirmed, not dismissed, reported in November: N1 water + N1 refuse (in H1), H2 water (H2's September site
    # and dismissed road site are out; H1's unconfirmed one too)
    assert [(r["territory"]["code"], r["confirmed_sites"]) for r in (city, h1, h2)] == [("C", 3), ("H1", 2), ("H2", 1)]
    # Areas at latitude 26.8° S, 1° of longitude = 99429.9 m and of latitude 110800.4 m (sites_support):
    # C 0.2° × 0.2° = 19886.0 m × 22160.1 m = 440.67 km²; H1 0.1° × 0.2° = 220.34 km²; H2 0.05° × 0.2° = 110.17 km²
    for row, km2 in ((city, 440.67), (h1, 220.34), (h2, 110.17)):
        assert row["area_km2"] == pytest.approx(km2, abs=0.1)
        density = row["density_per_km2"]
        assert density["value"] == pytest.approx(row["confirmed_sites"] / km2, rel=1e-3)
        assert (density["numerator"], density["of"], density["per"]) == (
            row["confirmed_sites"],
            "confirmed_potential_sites",
            "km2",
        )
    # City: water 2 of 3 = 66.67 %, refuse 1 of 3 = 33.33 %, road 0
    assert {k: (v["value"], v["numerator"], v["denominator"]) for k, v in city["class_mix"].items()} == {
        "water": (66.67, 2, 3),
        "refuse": (33.33, 1, 3),
        "road": (0.0, 0, 3),
    }
    # No larval index hides in the potential-site section, nor a potential site in the larval section
    assert not {"house_index", "breteau_index", "container_index"} & set(city)
    assert "confirmed_sites" not in answer["larval_indices"]["territories"][0]["cycles"][0]


def test_index_requests_are_checked(world):
    expert = world["expert"]

    def status(**query):
        return call("GET", "/api/v1/indices", user=expert, query=query)

    assert status(territory="ZZ", **NOVEMBER).status == 404
    backwards = status(territory="C", **{"from": "2026-11-30", "to": "2026-11-01"})
    assert (backwards.status, backwards.error["details"]["field"]) == (422, "to")
    too_many = status(territory="C", cycle="epiweek", **{"from": "2020-01-01", "to": "2026-11-30"})
    assert (too_many.status, too_many.error["details"]["field"]) == (422, "cycle")
    assert status(territory="C", cycle="fortnight", **NOVEMBER).status == 422
    assert status(territory="C", **{"from": "1999-12-31", "to": "2026-11-30"}).status == 422
    assert status(territory="C").status == 422  # the window is required
    assert status(territory="C", **NOVEMBER, extra="1").status == 422


def test_visits_are_never_changed_by_the_application_role(world):
    visit = recorded(world["expert"], V1)

    with pytest.raises(Exception, match="permission denied"):
        sql("UPDATE visits SET premises_positive = 0 WHERE id = :id", id=visit["id"])
    with pytest.raises(Exception, match="permission denied"):
        sql("DELETE FROM visits WHERE id = :id", id=visit["id"])
    assert date.fromisoformat(visit["visited_on"]) == date(2026, 11, 3)


def test_indices_per_epidemiological_week(world):
    expert = world["expert"]
    recorded(expert, V1)  # Tuesday 3 November 2026

    answer = indices(expert, territory="N1", cycle="epiweek", **{"from": "2026-11-01", "to": "2026-11-14"})

    (row,) = answer["larval_indices"]["territories"]  # N1 has nothing below it
    # Week 1 of 2026 is Sun 4 - Sat 10 Jan (it holds 4 January); Sun 1 Nov is 301 days = 43 weeks later: SE44
    assert [(c["label"], c["start"], c["end"], c["visits"]) for c in row["cycles"]] == [
        ("2026-SE44", "2026-11-01", "2026-11-07", 1),
        ("2026-SE45", "2026-11-08", "2026-11-14", 0),
    ]
    # V1: 2 of 32 premises -> 6.25 % (risk); the empty week has no index
    assert (figures(row["cycles"][0])["house_index"], row["cycles"][0]["house_index"]["classification"]) == (
        (6.25, 2, 32),
        "risk",
    )
    assert figures(row["cycles"][1])["house_index"] == (None, 0, 0)
    assert answer["cycle"] == "epiweek"


def test_labels_follow_the_callers_language(world):
    expert = world["expert"]
    recorded(expert, V1)

    answer = indices(expert, territory="N1", **NOVEMBER, language="pt")

    assert "não são índices larvários" in answer["potential_sites"]["label"]
    assert answer["larval_indices"]["label"].startswith("Índices larvários")
    house = answer["larval_indices"]["territories"][0]["cycles"][0]["house_index"]
    assert (house["classification"], house["classification_label"]) == ("risk", "Risco (IIP de 4 % ou mais)")
    refused = post(expert, {**V1, "visited_on": "1999-12-31"}, headers={"accept-language": "pt"})
    assert refused.error["details"]["refusals"][0]["message"] == "visited_on: a data é anterior a 2000-01-01"
