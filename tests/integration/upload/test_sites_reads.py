"""GET /sites and GET /sites/{id}: scoping (users see their own sites and members only), filters, the work list
by priority (scores worked out by hand from docs/sites.md), pagination with a real total, strict parameters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.upload.sites_support import (
    BASE_LAT,
    BASE_LON,
    BASURA,
    CALLES,
    CHARCOS,
    detection_ids,
    east,
    north,
    report,
    sites_of,
    sql,
)
from tests.integration.upload.support import call, make_user

pytestmark = pytest.mark.integration


def sites_page(user, **query):
    answer = call("GET", "/api/v1/sites", user=user, query=query)
    assert answer.status == 200, answer.body
    return answer.body


@pytest.fixture
def three_sites(upload_env):
    """Refuse reported 1 h ago (score 20 + 20 = 40), water last reported 40 days ago (30), a road defect
    reported 2 h ago and confirmed by an expert (10 + 20 + 40 = 70); 1 km apart from each other."""
    owner, expert = make_user(), make_user("expert")
    now = datetime.now(UTC)
    refuse = report(owner, BASE_LAT, BASE_LON, (BASURA,), created_at=now - timedelta(hours=1))
    water = report(owner, north(1000), BASE_LON, (CHARCOS,), created_at=now - timedelta(days=40))
    road = report(owner, BASE_LAT, east(1000), (CALLES,), created_at=now - timedelta(hours=2))
    answer = call("POST", f"/api/v1/detections/{detection_ids(road)[0]}/validate", user=expert,
                  body={"validation_status": "validated_positive"})  # fmt: skip
    assert answer.status == 200
    ids = {name: sites_of(a)[0] for name, a in (("refuse", refuse), ("water", water), ("road", road))}
    return owner, expert, ids


def test_the_work_list_is_ordered_by_priority_with_its_reasons(three_sites):
    _owner, expert, ids = three_sites

    body = sites_page(expert, order="priority", language="en")

    assert [i["id"] for i in body["items"]] == [str(ids["road"]), str(ids["refuse"]), str(ids["water"])]
    assert [i["priority"]["score"] for i in body["items"]] == [70, 40, 30]
    road = body["items"][0]["priority"]["reasons"]
    assert [(r["code"], r["points"]) for r in road] == [("confirmed", 40), ("recent", 20), ("family", 10)]
    assert road[0]["message"] == "an expert confirmed it (+40)"
    assert road[2]["message"] == "road defect site (+10)"
    assert body["total"] == 3


def test_recent_order_and_filters(three_sites):
    _owner, expert, ids = three_sites

    recent = sites_page(expert, order="recent")
    confirmed = sites_page(expert, confirmed="true")
    water = sites_page(expert, family="water")
    since = sites_page(expert, since=(datetime.now(UTC) - timedelta(days=7)).date().isoformat())
    near = sites_page(expert, near=f"{BASE_LAT},{BASE_LON}", radius_m=500)
    box = sites_page(expert, bbox=f"{BASE_LON - 0.001},{BASE_LAT - 0.001},{east(1010)},{BASE_LAT + 0.001}")

    def names(body):
        by_id = {str(v): k for k, v in ids.items()}
        return [by_id[i["id"]] for i in body["items"]]

    assert names(recent) == ["refuse", "road", "water"]
    assert names(confirmed) == ["road"]
    assert names(water) == ["water"]
    assert sorted(names(since)) == ["refuse", "road"]
    assert names(near) == ["refuse"]
    assert sorted(names(box)) == ["refuse", "road"]


def test_pages_carry_the_real_total(three_sites):
    _owner, expert, _ids = three_sites

    first = sites_page(expert, order="recent", limit=2)
    second = sites_page(expert, order="recent", limit=2, offset=2)

    assert (first["total"], len(first["items"]), first["has_next"]) == (3, 2, True)
    assert (second["total"], len(second["items"]), second["has_next"]) == (3, 1, False)


def test_status_filter_and_closed_sites_have_no_priority(three_sites):
    _owner, expert, ids = three_sites
    sql("UPDATE sites SET status = 'closed', closed_at = now() WHERE id = :id", id=ids["water"])

    closed = sites_page(expert, status="closed")
    active = sites_page(expert, status="open,assigned,treated,reopened")

    assert [(i["id"], i["priority"]) for i in closed["items"]] == [(str(ids["water"]), None)]
    assert active["total"] == 2


def test_users_see_only_sites_they_reported_and_only_their_own_members(upload_env):
    # Given one site reported by two users, and a site only the second user reported
    first, second, expert = make_user(), make_user(), make_user("expert")
    mine = report(first, BASE_LAT, BASE_LON)
    theirs = report(second, north(3), BASE_LON)
    elsewhere = report(second, north(2000), BASE_LON)
    (shared,) = sites_of(mine)
    (other,) = sites_of(elsewhere)

    # When the first user lists and reads sites
    listed = sites_page(first)
    detail = call("GET", f"/api/v1/sites/{shared}", user=first)
    hidden = call("GET", f"/api/v1/sites/{other}", user=first)

    # Then they see the shared site as their own report makes it (the other's report adds nothing: no totals,
    # their own point, not the centroid) and only their own member, and nothing of the other site
    assert [i["id"] for i in listed["items"]] == [str(shared)]
    assert listed["total"] == 1
    assert detail.status == 200
    assert (detail.body["report_count"], detail.body["detection_count"], detail.body["reporter_count"]) == (1, 1, None)
    assert (detail.body["latitude"], detail.body["longitude"], detail.body["own_view"]) == (BASE_LAT, BASE_LON, True)
    assert (detail.body["status"], detail.body["priority"], detail.body["timeline"]) == (None, None, [])
    assert [m["analysis"]["id"] for m in detail.body["members"]] == [str(mine)]
    assert detail.body["members"][0]["analysis"]["owner_id"] is None
    assert hidden.status == 404
    # And an expert sees both members, with their owners
    full = call("GET", f"/api/v1/sites/{shared}", user=expert).body
    assert {(m["analysis"]["id"], m["analysis"]["owner_id"]) for m in full["members"]} == {
        (str(mine), str(first.id)),
        (str(theirs), str(second.id)),
    }
    assert (full["report_count"], full["reporter_count"], full["status"], full["own_view"]) == (2, 2, "open", False)
    assert full["latitude"] == pytest.approx((BASE_LAT + north(3)) / 2, abs=1e-9)  # the centroid of both
    assert sites_page(expert)["total"] == 2


def test_a_rejected_member_does_not_let_its_owner_see_the_site(upload_env):
    first, second, expert = make_user(), make_user(), make_user("expert")
    report(first, BASE_LAT, BASE_LON)
    theirs = report(second, north(2), BASE_LON)
    answer = call("POST", f"/api/v1/detections/{detection_ids(theirs)[0]}/validate", user=expert,
                  body={"validation_status": "validated_negative"})  # fmt: skip
    assert answer.status == 200

    assert sites_page(second)["total"] == 0


def test_the_detail_has_presigned_images_and_the_timeline(upload_env):
    owner, expert = make_user(), make_user("expert")
    photo = report(owner, BASE_LAT, BASE_LON)
    (site_id,) = sites_of(photo)

    body = call("GET", f"/api/v1/sites/{site_id}", user=owner).body
    team = call("GET", f"/api/v1/sites/{site_id}", user=expert).body

    (member,) = body["members"]
    analysis = member["analysis"]
    assert f"incoming/{owner.id}/{photo}/photo.jpg" in analysis["image_url"]
    assert "X-Amz-Expires=900" in analysis["image_url"]
    assert f"processed/{owner.id}/{photo}.jpg" in analysis["processed_image_url"]
    assert (analysis["latitude"], analysis["longitude"]) == (BASE_LAT, BASE_LON)
    # The timeline and the score are the team's (the site's history, its totals): not in the owner's view
    assert (body["timeline"], body["priority"]) == ([], None)
    assert [(t["action"], t["to_status"], t["actor_id"]) for t in team["timeline"]] == [("create", "open", None)]
    assert team["priority"]["score"] == 50  # water 30 + reported now 20


@pytest.mark.parametrize(
    "query",
    [
        {"colour": "red"},
        {"status": "burning"},
        {"family": "fire"},
        {"order": "size"},
        {"near": f"{BASE_LAT},{BASE_LON}"},
        {"bbox": "1,2,3"},
        {"since": "yesterday"},
        {"limit": 0},
        {"offset": -1},
    ],
)
def test_bad_parameters_are_422(upload_env, query):
    answer = call("GET", "/api/v1/sites", user=make_user("expert"), query=query)
    assert answer.status == 422, answer.body


def test_unknown_or_malformed_site_ids_are_404(upload_env):
    expert = make_user("expert")
    assert call("GET", f"/api/v1/sites/{uuid.uuid4()}", user=expert).status == 404
    assert call("GET", "/api/v1/sites/nope", user=expert).status == 404
