"""`unit=sites` on statistics, hotspots, map-stats and aggregate reports (docs/sites.md, *Sites as the unit*):
the breeding sites of the counted detections, counted by hand below. Sites come from the real merge
(`sentrix.repositories.sites`, as detect does). The public map-stats' privacy for sites is attacked in
tests/security/test_site_inversion.py.

    U1  a1 at P          Basura + Charcos  -> site R (refuse), site W (water)
    U2  a2 at P + 3 m    Basura            -> joins R (within 15 m)
    U2  a3 at Q (1.1 km) Calles mal hechas -> site X (road), then closed by a team
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import D, make_analysis, merge_sites

pytestmark = pytest.mark.integration

P = (-26.8000, -65.2000)
P3 = (-26.80003, -65.2000)  # 3.3 m north of P
Q = (-26.8100, -65.2000)
ALL = {"include_expired": "true", "unit": "sites"}


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
        found = {f: (i, n) for i, f, n in s.execute(text("SELECT id, family::text, detection_count FROM sites"))}
        ids = {"R": found["refuse"][0], "W": found["water"][0], "X": found["road"][0]}
        s.execute(text("UPDATE sites SET status = 'closed', closed_at = now() WHERE id = :x"), {"x": ids["X"]})
        s.execute(text("UPDATE sites SET confirmed = true WHERE id = :r"), {"r": ids["R"]})
    # The merge itself (three sites, R with both refuse reports), so the counts below mean what they say
    assert len(found) == 3 and found["refuse"][1] == 2
    return ids


def block(total, needing, confirmed, statuses, families):
    return {
        "total": total,
        "needing_work": needing,
        "confirmed": confirmed,
        "by_status": {"open": 0, "assigned": 0, "treated": 0, "reopened": 0, "closed": 0, "dismissed": 0} | statuses,
        "by_family": {"water": 0, "refuse": 0, "road": 0} | families,
    }


def own_block(total, confirmed, families):
    """A user's own sites: the statuses and what needs work are the team's and everyone's, withheld (null); the
    sites an expert confirmed through one of the user's own detections."""
    statuses = ("open", "assigned", "treated", "reopened", "closed", "dismissed")
    return block(total, None, confirmed, dict.fromkeys(statuses), families)


def counts(body: dict) -> dict:
    return {k: v for k, v in body["sites"].items() if k not in ("counted_as", "precision")}


def test_statistics_count_sites_for_experts(sites, expert):
    response = call("GET", "/api/v1/reports/statistics", caller=expert, query=ALL)

    assert response.status == 200, response.json()
    body = response.json()
    # Four detections, three sites: R (twice reported, confirmed), W, X (closed)
    assert body["total_detections"] == 4 and body["unit"] == "sites"
    assert counts(body) == block(3, 2, 1, {"open": 2, "closed": 1}, {"water": 1, "refuse": 1, "road": 1})


def test_statistics_of_users_count_the_sites_of_their_own_detections(sites, user, other_user):
    mine = call("GET", "/api/v1/reports/statistics", caller=user, query=ALL).json()
    theirs = call("GET", "/api/v1/reports/statistics", caller=other_user, query=ALL).json()

    # R's confirmation came from no detection of theirs, X's closing from the team: neither is theirs to learn
    assert counts(mine) == own_block(2, 0, {"water": 1, "refuse": 1})  # R, W
    assert counts(theirs) == own_block(2, 0, {"refuse": 1, "road": 1})  # R, X
    # An expert confirms the user's own refuse detection: now R is confirmed for them (not for the other user)
    with session_scope() as s:
        s.execute(
            text(
                "UPDATE detections SET validation_status = 'validated_positive' WHERE class_id = 0 AND analysis_id IN "
                "(SELECT id FROM analyses WHERE user_id = :u)"
            ),
            {"u": user.id},
        )
    assert counts(call("GET", "/api/v1/reports/statistics", caller=user, query=ALL).json())["confirmed"] == 1
    assert counts(call("GET", "/api/v1/reports/statistics", caller=other_user, query=ALL).json())["confirmed"] == 0


def test_a_rejected_detection_no_longer_counts_its_site(sites, other_user, expert):
    with session_scope() as s:
        s.execute(
            text(
                "UPDATE detections SET validation_status = 'validated_negative' WHERE class_id = 0 AND analysis_id IN "
                "(SELECT id FROM analyses WHERE user_id = :u)"
            ),
            {"u": other_user.id},
        )

    theirs = call("GET", "/api/v1/reports/statistics", caller=other_user, query=ALL).json()
    everyone = call("GET", "/api/v1/reports/statistics", caller=expert, query=ALL).json()

    assert counts(theirs)["total"] == 1  # X only
    assert counts(everyone)["total"] == 3  # R still counts through U1's detection


def test_detections_stay_the_default_unit(sites, expert):
    body = call("GET", "/api/v1/reports/statistics", caller=expert, query={"include_expired": "true"}).json()

    assert body["unit"] == "detections" and "sites" not in body


def test_map_stats_own_sites_exact(sites, user):
    body = call("GET", "/api/v1/map-stats", caller=user, query=ALL).json()

    assert body["unit"] == "sites"
    assert {k: v for k, v in body["own"]["sites"].items() if k not in ("counted_as", "precision")} == own_block(
        2, 0, {"water": 1, "refuse": 1}
    )
    assert body["sites"]["precision"] == {"per_cell_deg": 0.01}  # everyone's: per public cell


@pytest.fixture
def street(user, other_user):
    """Four refuse sites 40 m apart along a street (one report each), and three more reports at the first."""
    with session_scope() as s:
        for i in range(4):
            report(s, user, (P[0] + i * 0.00036, P[1]), [D(0)])
        for _ in range(3):
            report(s, other_user, (P[0] + 0.00001, P[1]), [D(0)])


def test_hotspots_of_sites_count_places_not_photos(street, expert):
    query = {"include_expired": "true", "min_points": "3", "eps_m": "60"}
    by_detection = call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()
    by_site = call("GET", "/api/v1/map/hotspots", caller=expert, query={**query, "unit": "sites"}).json()

    assert [c["detection_count"] for c in by_detection["clusters"]] == [7]
    assert [c["site_count"] for c in by_site["clusters"]] == [4]
    assert [c["point_count"] for c in by_site["clusters"]] == [4]
    assert by_site["method"]["unit"] == "sites"


def test_hotspots_of_sites_need_min_points_sites(street, expert):
    query = {"include_expired": "true", "min_points": "5", "eps_m": "60", "unit": "sites"}
    body = call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()

    assert body["clusters"] == []  # seven detections but four sites: no core of five


def generate(caller, **body):
    request = {"type": "summary", "format": "json", "filters": {"include_expired": True}, **body}
    return call("POST", "/api/v1/reports/generate", caller=caller, body=request)


def test_report_counts_sites_and_fingerprints_them(sites, expert):
    first = generate(expert, unit="sites").json()
    plain = generate(expert).json()
    with session_scope() as s:  # a team's status change with no timeline entry: only the site lines see it
        s.execute(text("UPDATE sites SET status = 'assigned' WHERE id = :w"), {"w": sites["W"]})
    second = generate(expert, unit="sites").json()
    plain_again = generate(expert).json()

    assert {k: v for k, v in first["data"]["sites"].items() if k not in ("counted_as", "precision")} == block(
        3, 2, 1, {"open": 2, "closed": 1}, {"water": 1, "refuse": 1, "road": 1}
    )
    assert first["report"]["rows"]["counted_sites"] == 3 and first["report"]["unit"] == "sites"
    assert "sites" not in plain["data"] and "counted_sites" not in plain["report"]["rows"]
    assert second["report"]["fingerprint"]["value"] != first["report"]["fingerprint"]["value"]
    assert plain_again["report"]["fingerprint"]["value"] == plain["report"]["fingerprint"]["value"]


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_report_formats_carry_the_sites(sites, expert, fmt):
    response = generate(expert, unit="sites", format=fmt, language="en")

    assert response.status == 200
    if fmt == "csv":
        assert "sites,total,3,,sites,Breeding sites" in response.body.decode()
        assert "sites_by_status,closed,1,,sites,closed" in response.body.decode()
    else:
        from tests.integration.report.pdf_tools import pdf_text

        words = " ".join(pdf_text(response.body).split())
        assert "Breeding sites of these detections" in words and "Confirmed by an expert 1" in words


@pytest.mark.parametrize("fmt", ["json", "csv", "pdf"])
def test_a_users_report_counts_their_own_sites_without_statuses(sites, user, fmt):
    first = generate(user, unit="sites", format=fmt, language="en")
    with session_scope() as s:  # the team and others change the user's sites: nothing of it is theirs
        s.execute(text("UPDATE sites SET status = 'assigned', confirmed = NOT confirmed, territory_code = NULL"))
    second = generate(user, unit="sites", format=fmt, language="en")

    assert first.status == 200 and second.status == 200
    if fmt == "csv":
        body = first.body.decode()
        assert "sites,total,2,,sites,Breeding sites" in body and "sites_by_status" not in body
        assert "needing_work" not in body and "sites_by_family,water,1,,sites" in body
        return
    if fmt == "pdf":
        from tests.integration.report.pdf_tools import pdf_text

        words = " ".join(pdf_text(first.body).split())
        assert "Confirmed by an expert 0" in words and "None" not in words
        return
    figures = {k: v for k, v in first.json()["data"]["sites"].items() if k not in ("counted_as", "precision")}
    assert figures == own_block(2, 0, {"water": 1, "refuse": 1})
    assert second.json()["report"]["fingerprint"] == first.json()["report"]["fingerprint"]


def test_an_unknown_unit_is_422(db, expert):
    response = call("GET", "/api/v1/reports/statistics", caller=expert, query={"unit": "photos"})

    assert response.status == 422


def test_public_map_stats_count_a_site_once_in_each_public_cell_it_lies_in(sites, expert):
    # R's members stand at P and 3 m north of it, across the 0.01° edge at -26.80: the public counts R once in
    # each of the two cells (so whole-cell areas add up), an expert counts it once
    public = call("GET", "/api/v1/map-stats", query=ALL).json()["sites"]
    everyone = call("GET", "/api/v1/map-stats", caller=expert, query=ALL).json()["sites"]

    assert (public["total"], public["by_family"]) == (4, {"water": 1, "refuse": 2, "road": 1})
    assert (everyone["total"], everyone["by_family"]) == (3, {"water": 1, "refuse": 1, "road": 1})
    assert public["precision"] == {"per_cell_deg": 0.01}


# The street's sites: the first holds the user's report at P and three at P + 0.00001° (its centroid is their
# mean, P + 0.0000075°); the other three one report each, 0.00036° (40 m) apart.
STREET_SITES_MEAN_LAT = P[0] + (0.0000075 + 0.00036 + 0.00072 + 0.00108) / 4
USERS_OWN_POINTS_MEAN_LAT = P[0] + (0.0 + 0.00036 + 0.00072 + 0.00108) / 4


@pytest.mark.parametrize("with_bbox", [False, True])
@pytest.mark.parametrize(
    ("caller", "latitude"),
    [
        # an expert's hotspot stands at the mean of the sites' points
        ("expert", STREET_SITES_MEAN_LAT),
        # the first site's point moved with other people's reports: a user's shows only where they stood
        ("user", USERS_OWN_POINTS_MEAN_LAT),
    ],
)
def test_a_site_hotspot_stands_at_the_sites_points_for_experts_and_at_the_users_own_reports(
    street, request, caller, latitude, with_bbox
):
    # (a bbox of one UTM zone clusters in that zone's projection, without one each point picks its own)
    query = {"include_expired": "true", "min_points": "3", "eps_m": "60", "unit": "sites"}
    if with_bbox:
        query["bbox"] = "-65.21,-26.81,-65.19,-26.79"
    who = request.getfixturevalue(caller)
    (cluster,) = call("GET", "/api/v1/map/hotspots", caller=who, query=query).json()["clusters"]

    assert cluster["site_count"] == 4
    assert cluster["centroid"]["latitude"] == pytest.approx(latitude, abs=6e-7)  # shown to 6 decimals
    assert cluster["centroid"]["longitude"] == pytest.approx(P[1], abs=6e-7)
