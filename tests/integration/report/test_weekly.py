"""GET /reports/statistics/weekly: per epidemiological week (Sunday to Saturday, in the caller's time zone —
America/Argentina/Buenos_Aires, UTC-3, for these callers), reports, new, confirmed, closed, reopened and open
sites, each against the previous four weeks (docs/report.md, *Epidemiological weeks*). Every expected value
below is worked out by hand from the timeline, not from the code.

The weeks around the year boundary of 2025/2026 (2025 has 53 epidemiological weeks):
    2025-SE49 Nov 30–Dec 6, SE50 Dec 7–13, SE51 Dec 14–20, SE52 Dec 21–27,
    2025-SE53 Sun Dec 28 2025 – Sat Jan 3 2026 (spans 31 Dec / 1 Jan), 2026-SE01 Jan 4–10.

Territories: C with H1 and H2 below it. Everything happens at 15:00 UTC (12:00 in Buenos Aires) unless said.

Reports (completed analyses tagged H1 or H2): SE49 3, SE50 2, SE51 3, SE52 4 (total 12, mean 3);
SE53: Dec 31 ×2, Jan 1 ×3, Jan 3 ×1, and one on Sun Jan 4 at 02:00 UTC (Sat Jan 3, 23:00 in Buenos Aires:
still SE53) = 7; SE01: Jan 5 ×2. Not counted: a failed analysis on Jan 1, and one outside every territory on
Jan 1 (counted only when no territory is asked, by an expert).

Sites (each with its `create` at the first report):
    S1 H1 water   first Dec 20 (SE51); treat Dec 29, close Dec 31 (SE53, 11 days)
    S2 H1 refuse  first Dec 31 (SE53); a member confirmed by an expert Jan 1 (SE53); stays open
    S3 H2 water   first Jan 2 (SE53), two members by two people; stays open
    S4 H2 road    first Dec 8 (SE50); treat Dec 9, close Dec 10 (SE50); reopened Jan 1 (recurrence, SE53)
    S5 H1 water   first Jan 5 (2026-SE01)

Per week (SE49, SE50, SE51, SE52, SE53, SE01):
    new_sites        0 1 1 0 2 1
    confirmed_sites  0 0 0 0 1 0
    closed           0 1 0 0 1 0
    reopened         0 0 0 0 1 0
    open_at_end      0 0 1 1 3 4   (SE50: S4 closed; SE51/52: S1; SE53: S2, S3, S4; SE01: + S5)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from tests.integration.report.conftest import call, make_caller
from tests.integration.report.test_territory_filter import territory
from tests.support.seed import make_analysis, site_timeline

pytestmark = pytest.mark.integration

ROUTE = "/api/v1/reports/statistics/weekly"
# until = Mon Jan 5 2026: the last week is 2026-SE01; two weeks: 2025-SE53 and 2026-SE01.
QUERY = {"territory": "C", "weeks": "2", "until": "2026-01-05"}


def at(year: int, month: int, day: int, hour: int = 15) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


H1_POINT, H2_POINT = (-26.80, -65.25), (-26.80, -65.17)
REPORTS = [
    *[at(2025, 12, d) for d in (1, 3, 5)],  # SE49
    at(2025, 12, 11),  # SE50, with S4's first member on Dec 8 (below)
    *[at(2025, 12, d) for d in (14, 16, 20)],  # SE51
    *[at(2025, 12, d) for d in (21, 22, 26, 27)],  # SE52
]
# SE53: Dec 31 ×2 (one is S2's member), Jan 1 ×3 (one is S4's recurrence), Jan 3 ×1 (S3's second member is the
# late one on Sunday 02:00 UTC), Jan 4 02:00 UTC; SE01: Jan 5 ×2 (one is S5's member).


def _site(s, code, family, first, actions, status):
    site = uuid.uuid4()
    lat, lon = H1_POINT if code == "H1" else H2_POINT
    s.execute(
        text(
            "INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at, "
            "territory_code) VALUES (:id, CAST(:family AS site_family), CAST(:status AS site_status), "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 15, :first, :first, :code)"
        ),
        {"id": site, "family": family, "status": status, "first": first, "code": code, "lat": lat, "lon": lon},
    )
    site_timeline(s, site, [("create", first, None, "open", None), *actions])
    return site


def _report(s, who, when, code="H1", *, site=None, confirmed_at=None, status="completed"):
    lat, lon = H1_POINT if code == "H1" else H2_POINT
    analysis = make_analysis(
        s, user=who, latitude=lat, longitude=lon, detections=[0], created_at=when, status=status, territory_code=code
    )
    if site is not None:
        s.execute(
            text(
                "UPDATE detections SET site_id = :site, validation_status = CAST(:v AS validation_status), "
                "validated_at = :at WHERE analysis_id = :a"
            ),
            {
                "site": site,
                "a": analysis.id,
                "v": "validated_positive" if confirmed_at else "pending",
                "at": confirmed_at,
            },
        )
    return analysis


@pytest.fixture
def sites(db, user, other_user):
    """The timeline of the module docstring; returns the site ids by name."""
    with session_scope() as s:
        territory(s, "C", None, -65.30, -26.90, -65.10, -26.70)
        territory(s, "H1", "C", -65.30, -26.90, -65.20, -26.70)
        territory(s, "H2", "C", -65.20, -26.90, -65.15, -26.70)
        ids = {
            "S1": _site(s, "H1", "water", at(2025, 12, 20), [
                ("treat", at(2025, 12, 29), "open", "treated", None),
                ("close", at(2025, 12, 31), "treated", "closed", None),
            ], "closed"),
            "S2": _site(s, "H1", "refuse", at(2025, 12, 31), [], "open"),
            "S3": _site(s, "H2", "water", at(2026, 1, 2), [], "open"),
            "S4": _site(s, "H2", "road", at(2025, 12, 8), [
                ("treat", at(2025, 12, 9), "open", "treated", None),
                ("close", at(2025, 12, 10), "treated", "closed", None),
                ("reopen", at(2026, 1, 1), "closed", "reopened", "recurrence"),
            ], "reopened"),
            "S5": _site(s, "H1", "water", at(2026, 1, 5), [], "open"),
        }  # fmt: skip
        for when in REPORTS:
            _report(s, user.id, when, "H1" if when.day % 2 else "H2")
        # SE53
        _report(s, user.id, at(2025, 12, 31), "H1", site=ids["S2"], confirmed_at=at(2026, 1, 1))
        _report(s, user.id, at(2025, 12, 31), "H1")
        _report(s, user.id, at(2026, 1, 1), "H2", site=ids["S4"])
        _report(s, user.id, at(2026, 1, 1), "H1")
        _report(s, user.id, at(2026, 1, 1), "H2")
        _report(s, user.id, at(2026, 1, 2), "H2", site=ids["S3"])
        _report(s, other_user.id, at(2026, 1, 4, hour=2), "H2", site=ids["S3"])  # Sat Jan 3, 23:00 local
        # SE01
        _report(s, user.id, at(2026, 1, 5), "H1", site=ids["S5"])
        _report(s, user.id, at(2026, 1, 5), "H2")
        # Not counted for C: a failed analysis, and one outside every territory
        _report(s, user.id, at(2026, 1, 1), "H1", status="failed")
        make_analysis(s, user=user.id, latitude=-27.5, longitude=-65.0, detections=[0], created_at=at(2026, 1, 1))
        # S4's first member: the second report of SE50
        _report(s, user.id, at(2025, 12, 8), "H2", site=ids["S4"])
    return ids


def change(current, previous, min_base=10):
    """The change as the docs define it, written out: 100·(4·current − total)/total, null below the base."""
    total = sum(previous)
    numerator = 4 * current - total
    return {
        "current": current,
        "previous_weeks": previous,
        "previous_total": total,
        "previous_mean": round(total / 4, 2),
        "difference": round(current - total / 4, 2),
        "change_pct": round(100 * numerator / total, 2) if total >= min_base else None,
        "numerator": numerator,
        "denominator": total,
        "reason": None if total >= min_base else "base_below_minimum",
        "min_base": min_base,
    }


def test_weeks_across_the_year_boundary_with_their_changes(sites, expert):
    response = call("GET", ROUTE, caller=expert, query=QUERY)

    assert response.status == 200, response.json()
    body = response.json()
    se53, se01 = body["weeks"]
    # 2025-SE53 runs from Sunday 28 December 2025 to Saturday 3 January 2026 and belongs to 2025
    assert (se53["year"], se53["week"], se53["label"], se53["start"], se53["end"]) == (
        2025, 53, "2025-SE53", "2025-12-28", "2026-01-03",
    )  # fmt: skip
    assert (se01["year"], se01["week"], se01["label"], se01["start"], se01["end"]) == (
        2026, 1, "2026-SE01", "2026-01-04", "2026-01-10",
    )  # fmt: skip
    # 7 reports in SE53 (the one at 02:00 UTC on Sunday is Saturday evening in Buenos Aires)
    assert [se53[k] for k in ("reports", "new_sites", "confirmed_sites", "closed", "reopened", "open_at_end")] == [
        7, 2, 1, 1, 1, 3,
    ]  # fmt: skip
    assert [se01[k] for k in ("reports", "new_sites", "confirmed_sites", "closed", "reopened", "open_at_end")] == [
        2, 1, 0, 0, 0, 4,
    ]  # fmt: skip
    # Reports: 7 against SE49–52 = 3, 2, 3, 4 (total 12 ≥ 10): 100·(28 − 12)/12 = 133.33 %
    assert se53["change"]["reports"] == change(7, [3, 2, 3, 4])
    assert se53["change"]["reports"]["change_pct"] == 133.33
    # SE01: 2 against SE50–53 = 2, 3, 4, 7 (total 16): 100·(8 − 16)/16 = −50 %
    assert se01["change"]["reports"] == change(2, [2, 3, 4, 7])
    assert se01["change"]["reports"]["change_pct"] == -50.0
    # Site figures stand on small bases: the change is null, its terms stated
    assert se53["change"]["new_sites"] == change(2, [0, 1, 1, 0])
    assert se53["change"]["new_sites"]["change_pct"] is None
    assert se53["change"]["new_sites"]["reason"] == "base_below_minimum"
    assert se53["change"]["open_at_end"] == change(3, [0, 0, 1, 1])
    assert se01["change"]["open_at_end"] == change(4, [0, 1, 1, 3])
    assert se53["recurrence_rate"] == {"value": 1.0, "numerator": 1, "denominator": 1, "of": "reopened",
                                       "per": "closed"}  # fmt: skip
    assert body["week"]["starts_on"] == "sunday"
    assert body["week"]["time_zone"] == "America/Argentina/Buenos_Aires"
    assert body["territory"] == {"code": "C", "name": "C"}


def test_a_week_crossing_new_year_is_one_week_whichever_day_names_it(sites, expert):
    for day in ("2025-12-28", "2025-12-31", "2026-01-01", "2026-01-03"):
        response = call("GET", ROUTE, caller=expert, query={"territory": "C", "weeks": "1", "until": day})

        assert response.status == 200, response.json()
        (only,) = response.json()["weeks"]
        assert (only["label"], only["reports"]) == ("2025-SE53", 7), day


def test_the_territory_narrows_to_it_and_below(sites, expert):
    h2 = call("GET", ROUTE, caller=expert, query={**QUERY, "territory": "H2"}).json()["weeks"][0]
    everything = call("GET", ROUTE, caller=expert, query={"weeks": "2", "until": "2026-01-05"}).json()

    # H2 in SE53: reports Jan 1 ×2 and Jan 2, Jan 4 02:00 UTC = 4; S3 new; S4 reopened; S3 and S4 open
    assert [h2[k] for k in ("reports", "new_sites", "confirmed_sites", "closed", "reopened", "open_at_end")] == [
        4, 1, 0, 0, 1, 2,
    ]  # fmt: skip
    # Without a territory an expert counts the analysis outside every territory too
    assert everything["weeks"][0]["reports"] == 8
    assert everything["territory"] is None


def test_an_official_reads_their_territories_only(sites):
    official = make_caller(Role.OFFICIAL, "funcionaria@example.org")
    with session_scope() as s:
        s.execute(
            text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, 'H2')"), {"u": official.id}
        )

    mine = call("GET", ROUTE, caller=official, query={"weeks": "2", "until": "2026-01-05"})
    h2 = call("GET", ROUTE, caller=official, query={**QUERY, "territory": "H2"})
    outside = call("GET", ROUTE, caller=official, query={**QUERY, "territory": "H1", "language": "en"})
    above = call("GET", ROUTE, caller=official, query={**QUERY, "territory": "C"})
    unknown = call("GET", ROUTE, caller=official, query={**QUERY, "territory": "NOWHERE"})

    assert mine.status == 200, mine.json()
    assert mine.json()["weeks"][0]["reports"] == 4  # H2's, as above
    assert h2.json()["weeks"] == mine.json()["weeks"]
    for refused in (outside, above, unknown):
        assert refused.status == 404, refused.json()
        assert refused.json()["error"]["code"] == "not_found"
    assert outside.json()["error"]["message"] == "Territory not found"
    assert outside.json() | {"error": {}} == unknown.json() | {"error": {}}


def test_users_are_refused(sites, user):
    response = call("GET", ROUTE, caller=user, query={**QUERY, "language": "pt"})

    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "especialistas" in response.json()["error"]["message"]


def test_an_unknown_territory_is_404_for_experts_too(sites, expert):
    response = call("GET", ROUTE, caller=expert, query={**QUERY, "territory": "NOWHERE"})

    assert response.status == 404


@pytest.mark.parametrize(
    "query",
    [{"weeks": "0"}, {"weeks": "54"}, {"until": "1999-12-31"}, {"until": "2101-01-01"}, {"until": "0001-01-01"},
     {"until": "9999-12-31"}, {"until": "yesterday"}, {"territory": "x" * 65}, {"date_from": "2026-01-01"}],
)  # fmt: skip
def test_bad_parameters_are_422(sites, expert, query):
    response = call("GET", ROUTE, caller=expert, query=query)

    assert response.status == 422, response.json()
    assert response.json()["error"]["code"] == "validation_error"
