"""Expert verdicts move detections out of and back into their sites; a confirmation confirms the site; a deleted
analysis leaves its sites too."""

from __future__ import annotations

import pytest

from tests.integration.upload.sites_support import (
    BASE_LAT,
    BASE_LON,
    M_PER_DEG_LAT,
    detection_ids,
    north,
    report,
    site,
    sites_of,
    timeline,
)
from tests.integration.upload.support import call, make_user

pytestmark = pytest.mark.integration


def verdict(expert, detection_id, status: str) -> None:
    answer = call("POST", f"/api/v1/detections/{detection_id}/validate", user=expert,
                  body={"validation_status": status})  # fmt: skip
    assert answer.status == 200, answer.body


def test_a_rejected_detection_leaves_its_site_and_the_centroid_follows_the_rest(upload_env):
    # Given a site of two reports, at the base point and 10 m north (centroid 5 m north)
    owner, other, expert = make_user(), make_user(), make_user("expert")
    kept = report(owner, BASE_LAT, BASE_LON)
    rejected = report(other, north(10), BASE_LON)
    (site_id,) = sites_of(kept)
    assert site(site_id).lat == pytest.approx(BASE_LAT + 5 / M_PER_DEG_LAT, abs=1e-9)

    # When an expert rejects the second one
    verdict(expert, detection_ids(rejected)[0], "validated_negative")

    # Then the site counts only the first: its point, one report, one reporter; still open
    row = site(site_id)
    assert (row.status, row.report_count, row.detection_count, row.reporter_count) == ("open", 1, 1, 1)
    assert row.lat == pytest.approx(BASE_LAT, abs=1e-9)


def test_a_site_whose_members_are_all_rejected_is_dismissed_and_comes_back_with_one(upload_env):
    # Given a site of one puddle, assigned to a team
    owner, expert = make_user(), make_user("expert")
    photo = report(owner, BASE_LAT, BASE_LON)
    (site_id,) = sites_of(photo)
    assert call("POST", f"/api/v1/sites/{site_id}/actions", user=expert, body={"action": "assign"}).status == 200
    (detection,) = detection_ids(photo)

    # When the expert rejects it
    verdict(expert, detection, "validated_negative")
    # Then the site is dismissed, recorded as the system's doing for want of members
    assert (site(site_id).status, site(site_id).detection_count) == ("dismissed", 0)
    assert timeline(site_id)[-1] == ("dismiss", "no_members", "assigned", "dismissed")

    # When the rejection is taken back by a confirmation
    verdict(expert, detection, "validated_positive")
    # Then the site is back where it was, confirmed, with its member
    row = site(site_id)
    assert (row.status, row.detection_count, row.confirmed) == ("assigned", 1, True)
    assert timeline(site_id)[-1] == ("restore", "member_restored", "dismissed", "assigned")


def test_a_confirmed_member_confirms_the_site_and_batch_verdicts_settle_sites_too(upload_env):
    owner, expert = make_user(), make_user("expert")
    photo = report(owner, BASE_LAT, BASE_LON, (0, 2))
    refuse_site, water_site = sites_of(photo)
    refuse_detection, water_detection = detection_ids(photo)

    answer = call(
        "POST",
        "/api/v1/detections/batch-validate",
        user=expert,
        body={
            "validations": [
                {"detection_id": str(refuse_detection), "validation_status": "validated_positive"},
                {"detection_id": str(water_detection), "validation_status": "validated_negative"},
            ]
        },
    )
    assert answer.status == 200, answer.body

    assert (site(refuse_site).confirmed, site(refuse_site).status) == (True, "open")
    assert (site(water_site).confirmed, site(water_site).status) == (False, "dismissed")


def test_an_expert_dismissal_is_not_undone_by_a_member_coming_back(upload_env):
    owner, expert = make_user(), make_user("expert")
    photo = report(owner, BASE_LAT, BASE_LON)
    (site_id,) = sites_of(photo)
    (detection,) = detection_ids(photo)
    assert call("POST", f"/api/v1/sites/{site_id}/actions", user=expert, body={"action": "dismiss"}).status == 200

    verdict(expert, detection, "validated_negative")
    verdict(expert, detection, "validated_positive")

    assert site(site_id).status == "dismissed"


def test_a_deleted_analysis_leaves_its_site(upload_env):
    owner = make_user()
    first = report(owner, BASE_LAT, BASE_LON)
    second = report(owner, north(4), BASE_LON)
    (site_id,) = sites_of(first)

    assert call("DELETE", f"/api/v1/analyses/{second}", user=owner).status == 204
    assert (site(site_id).report_count, site(site_id).lat) == (1, pytest.approx(BASE_LAT, abs=1e-9))

    assert call("DELETE", f"/api/v1/analyses/{first}", user=owner).status == 204
    assert (site(site_id).status, site(site_id).detection_count) == ("dismissed", 0)
