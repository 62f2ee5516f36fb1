"""Reading analyses: every list filter on real PostGIS, pagination with a real total, the full detail."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from sentrix.db.engine import get_engine
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from tests.integration.upload.support import call, days_ago, make_user, seed_analysis

pytestmark = pytest.mark.integration

# Tucumán (Argentina) and surroundings; 0.01° of latitude is about 1.1 km.
CENTRE = (-26.8083, -65.2176)


def ids(answer) -> set[str]:
    assert answer.status == 200, answer.body
    return {item["id"] for item in answer.body["analyses"]}


def listing(user, **query):
    return call("GET", "/api/v1/analyses", user=user, query=query)


@pytest.fixture
def world(upload_env):
    """Two users' analyses at known places, dates, statuses, risks and verdicts."""
    alice, bob, expert = make_user(), make_user(), make_user("expert")
    lat, lon = CENTRE
    a = {
        "centre": seed_analysis(alice, latitude=lat, longitude=lon, created_at=days_ago(1)),
        "800m": seed_analysis(alice, latitude=lat + 0.0072, longitude=lon, created_at=days_ago(2), risk_level="MEDIO"),
        "3km": seed_analysis(alice, latitude=lat + 0.027, longitude=lon, created_at=days_ago(10), risk_level="BAJO"),
        "equator": seed_analysis(alice, latitude=0, longitude=0, created_at=days_ago(20)),
        "nogps": seed_analysis(alice, created_at=days_ago(30), verdicts=(ValidationStatus.VALIDATED_POSITIVE,)),
        "failed": seed_analysis(alice, status=AnalysisStatus.FAILED, created_at=days_ago(40)),
        "queued": seed_analysis(alice, status=AnalysisStatus.QUEUED, created_at=days_ago(0.1)),
    }
    b = {"bobs": seed_analysis(bob, latitude=lat, longitude=lon + 0.001, created_at=days_ago(3))}
    return {**{k: str(v) for k, v in {**a, **b}.items()}, "alice": alice, "bob": bob, "expert": expert}


def test_a_user_lists_only_their_own_analyses_newest_first(world):
    answer = listing(world["alice"])

    assert answer.body["total"] == 7
    order = [item["id"] for item in answer.body["analyses"]]
    assert order == [world[k] for k in ("queued", "centre", "800m", "3km", "equator", "nogps", "failed")]
    assert world["bobs"] not in order


def test_experts_see_everyone_and_may_filter_by_user(world):
    assert listing(world["expert"]).body["total"] == 8
    assert ids(listing(world["expert"], user_id=world["bob"].id)) == {world["bobs"]}


def test_a_user_filtering_by_another_user_is_refused(world):
    own = listing(world["alice"], user_id=world["alice"].id)
    other = listing(world["alice"], user_id=world["bob"].id)

    assert own.body["total"] == 7
    assert (other.status, other.error["code"]) == (403, "forbidden")


def test_status_and_risk_filters(world):
    alice = world["alice"]
    assert ids(listing(alice, status="failed")) == {world["failed"]}
    assert ids(listing(alice, status="failed,queued")) == {world["failed"], world["queued"]}
    assert ids(listing(alice, risk_level="MEDIO")) == {world["800m"]}
    assert ids(listing(alice, risk_level="low")) == {world["3km"]}


def test_date_filters_include_whole_days(world):
    alice = world["alice"]
    from_date = days_ago(2.5).date().isoformat()
    assert ids(listing(alice, date_from=days_ago(2.5).isoformat())) == {world["queued"], world["centre"], world["800m"]}
    assert world["800m"] in ids(listing(alice, date_to=days_ago(2).date().isoformat()))
    assert ids(listing(alice, date_from=days_ago(45).isoformat(), date_to=days_ago(25).isoformat())) == {
        world["nogps"],
        world["failed"],
    }
    assert world["800m"] in ids(listing(alice, since=from_date))


def test_has_gps_and_validated_only(world):
    alice = world["alice"]
    with_gps = {world[k] for k in ("centre", "800m", "3km", "equator")}
    assert ids(listing(alice, has_gps="true")) == with_gps
    assert ids(listing(alice, has_gps="false")) == {world["nogps"], world["failed"], world["queued"]}
    assert ids(listing(alice, validated_only="true")) == {world["nogps"]}


def test_bbox_on_postgis(world):
    alice = world["alice"]
    lat, lon = CENTRE
    around = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    assert ids(listing(alice, bbox=around)) == {world["centre"], world["800m"]}
    assert ids(listing(alice, bbox="-1,-1,1,1")) == {world["equator"]}
    assert ids(listing(world["expert"], bbox=around)) == {world["centre"], world["800m"], world["bobs"]}


def test_radius_in_metres_on_postgis(world):
    alice = world["alice"]
    near = f"{CENTRE[0]},{CENTRE[1]}"
    assert ids(listing(alice, near=near, radius_m=500)) == {world["centre"]}
    assert ids(listing(alice, near=near, radius_m=1000)) == {world["centre"], world["800m"]}
    assert ids(listing(alice, near=near, radius_m=5000)) == {world["centre"], world["800m"], world["3km"]}
    assert ids(listing(alice, near="0,0", radius_m=1)) == {world["equator"]}


def test_radius_query_uses_the_geography_index(world):
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql

    from sentrix.db.models import Analysis
    from sentrix.domain.roles import Role
    from sentrix.http.identity import Principal
    from sentrix_upload.dal.analyses import conditions
    from sentrix_upload.logic.filters import AnalysisFilters, Near

    principal = Principal(uuid.uuid4(), Role.ADMIN)
    statement = select(Analysis.id).where(*conditions(principal, AnalysisFilters(near=Near(*CENTRE, 1000))))
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with get_engine().connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {sql}")))
    assert "ix_analyses_location_geog" in plan


def test_pagination_has_a_real_total(world):
    alice = world["alice"]
    first = listing(alice, limit=3)
    last = listing(alice, limit=3, offset=6)
    beyond = listing(alice, limit=3, offset=50)

    assert (first.body["total"], len(first.body["analyses"]), first.body["has_next"]) == (7, 3, True)
    assert (len(last.body["analyses"]), last.body["has_next"]) == (1, False)
    assert (beyond.body["total"], beyond.body["analyses"]) == (7, [])


@pytest.mark.parametrize(
    "query",
    [
        {"colour": "red"},
        {"bbox": "1,2,3"},
        {"bbox": "10,10,5,20"},
        {"bbox": "-200,0,0,10"},
        {"near": "1,2"},
        {"radius_m": "100"},
        {"near": "95,0", "radius_m": "10"},
        {"near": "1,2", "radius_m": "-5"},
        {"status": "done"},
        {"risk_level": "extreme"},
        {"date_from": "yesterday"},
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        {"has_gps": "maybe"},
        {"user_id": "not-a-uuid"},
        {"limit": "0"},
        {"limit": "1000"},
        {"offset": "-1"},
    ],
)
def test_bad_filters_are_422(world, query):
    answer = listing(world["alice"], **query)

    assert answer.status == 422, answer.body
    assert answer.error["code"] == "validation_error"


def test_detail_carries_urls_location_risk_and_detections(world):
    alice = world["alice"]

    answer = call("GET", f"/api/v1/analyses/{world['centre']}", user=alice)

    assert answer.status == 200, answer.body
    body = answer.body
    assert body["status"] == "completed"
    assert body["location"]["has_location"] is True
    assert body["location"]["latitude"] == pytest.approx(CENTRE[0])
    assert body["location"]["google_maps_url"] == "https://www.google.com/maps?q=-26.808300,-65.217600"
    assert body["location"]["location_source"] == "MANUAL"
    url = urlsplit(body["image"]["url"])
    assert url.path.endswith(f"/incoming/{alice.id}/{world['centre']}/photo.jpg")
    assert "X-Amz-Signature" in parse_qs(url.query)
    assert int(parse_qs(url.query)["X-Amz-Expires"][0]) == 900
    assert body["image_url"] == body["image"]["url"]
    assert body["processed_image_url"].split("?")[0].endswith(f"/processed/{alice.id}/{world['centre']}.jpg")
    risk = body["risk_assessment"]
    assert (risk["level"], risk["risk_score"], risk["high_risk_count"]) == ("ALTO", 0.9, 1)
    assert risk["recommendations"][0].startswith("Intervención inmediata")
    (detection,) = body["detections"]
    assert detection["class_name"] == "Basura"
    assert detection["validation_status"] == "pending"
    assert detection["validated_by"] is None
    assert detection["validity"]["status"] in ("VALID", "MEDIUM_VALIDITY", "LOW_VALIDITY")
    assert detection["bbox"] == {"x_min": 1.0, "y_min": 1.0, "x_max": 10.0, "y_max": 8.0}
    assert body["validation"] == {
        "state": "pending",
        "total": 1,
        "pending": 1,
        "requires_review": 0,
        "validated_positive": 0,
        "validated_negative": 0,
    }


def test_recommendations_follow_the_callers_language(upload_env):
    user = make_user(settings={"language": "en"})
    analysis_id = seed_analysis(user, latitude=1, longitude=1)

    answer = call("GET", f"/api/v1/analyses/{analysis_id}", user=user)

    assert answer.body["risk_assessment"]["recommendations"][0].startswith("Immediate action")


def test_a_pending_upload_has_no_image_url_yet(upload_env):
    user = make_user()
    started = call("POST", "/api/v1/analyses/uploads", user=user, body={"filename": "a.jpg"})

    answer = call("GET", started.body["status_url"], user=user)

    assert answer.status == 200
    assert (answer.body["status"], answer.body["image"]["url"], answer.body["risk_assessment"]) == (
        "pending_upload",
        None,
        None,
    )
    assert answer.body["validation"]["state"] == "no_detections"


def test_detections_route_lists_them_with_validity(world):
    answer = call("GET", f"/api/v1/analyses/{world['nogps']}/detections", user=world["alice"])

    assert answer.status == 200
    assert answer.body["total"] == 1
    assert answer.body["validation"]["state"] == "validated"
    assert answer.body["items"][0]["validation_status"] == "validated_positive"


@pytest.mark.parametrize("path", ["/api/v1/analyses/{id}", "/api/v1/analyses/{id}/detections"])
def test_another_users_analysis_is_404_and_malformed_ids_too(world, path):
    bob_reads_alice = call("GET", path.format(id=world["centre"]), user=world["bob"])
    malformed = call("GET", path.format(id="12345"), user=world["alice"])
    expert_reads = call("GET", path.format(id=world["centre"]), user=world["expert"])

    assert (bob_reads_alice.status, bob_reads_alice.error["code"]) == (404, "not_found")
    assert (malformed.status, malformed.error["code"]) == (404, "not_found")
    assert expert_reads.status == 200


# The detail reads check the caller inside their own statement (one round trip): the same rules as every
# other route must hold there — unknown user 401, deactivated 403, cut-off token 401, the role as it is now.
DETAIL_PATHS = ("/api/v1/analyses/{id}", "/api/v1/analyses/{id}/detections")


def _set_user(user, **values) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with get_engine().begin() as connection:
        connection.execute(text(f"UPDATE users SET {assignments} WHERE id = :id"), {**values, "id": user.id})  # noqa: S608


@pytest.mark.parametrize("path", DETAIL_PATHS)
def test_detail_reads_refuse_a_deactivated_caller_even_for_their_own_analysis(world, path):
    _set_user(world["alice"], is_active=False)

    for target in (world["centre"], "not-a-uuid", str(uuid.uuid4())):
        answer = call("GET", path.format(id=target), user=world["alice"])
        assert (answer.status, answer.error["code"]) == (403, "forbidden"), target


@pytest.mark.parametrize("path", DETAIL_PATHS)
def test_detail_reads_refuse_unknown_callers_and_cut_off_tokens(world, path):
    ghost = type(world["alice"])(uuid.uuid4(), "admin", "ghost@example.org")
    unknown = call("GET", path.format(id=world["centre"]), user=ghost)
    assert (unknown.status, unknown.error["code"]) == (401, "unauthorized")

    _set_user(world["alice"], tokens_valid_after=days_ago(-1))  # every token issued before tomorrow is cut off
    answer = call("GET", path.format(id=world["centre"]), user=world["alice"])
    # The test caller's authorizer context has no `iat`: a cut-off with no issue time is refused.
    assert (answer.status, answer.error["code"]) == (401, "unauthorized")


def test_detail_reads_use_the_role_in_the_database_not_the_token(world):
    expert, bobs = world["expert"], world["bobs"]
    assert call("GET", f"/api/v1/analyses/{bobs}", user=expert).status == 200

    _set_user(expert, role="user")  # demoted: the token still says expert
    demoted = call("GET", f"/api/v1/analyses/{bobs}", user=expert)
    assert (demoted.status, demoted.error["code"]) == (404, "not_found")

    _set_user(world["alice"], role="admin")  # promoted: sees Bob's analysis with a token that says user
    promoted = call("GET", f"/api/v1/analyses/{bobs}/detections", user=world["alice"])
    assert promoted.status == 200 and promoted.body["analysis_id"] == bobs
