"""The upload-probe adversary against `GET /sites` and `GET /sites/{id}` (docs/sites.md, *Who sees what*).

A signed-in citizen can upload a photo with any GPS position: its detections join the site of anyone who reported
within the merge radius, and the site then appears among hers. Were she shown the site's totals (reports, people,
first and last times, the expert's confirmation, the centroid others' reports move, the status, the team's
timeline and the priority that sums them), one upload at a chosen point would tell whether somebody else reported
there, and when. Bea reports at a point; then Ana reports there too — earlier and later than Bea, twice, one of
hers confirmed by an expert, the site assigned to a team. Every answer Bea gets (the list with every filter and
order, the site) is byte-identical before and after Ana's reports (less the presigned URLs' signature, which
carries the signing time, and an error's id and timestamp); the expert and the territory's official still see
the totals.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.upload.sites_support import CHARCOS, detection_ids, north, report, sites_of
from tests.integration.upload.test_territories import HIERARCHY
from tests.support.identity import bearer, create_user

pytestmark = pytest.mark.integration

PLACE = (-26.80, -65.235)  # inside territory N1, below H1
ANA_PLACE = (north(3, PLACE[0]), PLACE[1])  # 3 m away: the same site (radius 15 m)


def _unsigned(value):
    """The answer with each presigned URL cut at its query (the signature and its date), less an error's id and
    timestamp (per request)."""
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k not in ("id", "timestamp") or "code" not in value}
        return {k: (v.split("?")[0] if k.endswith("image_url") and v else _unsigned(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsigned(v) for v in value]
    return value


def _views(api, bea, site_id: str, now: datetime) -> dict[str, tuple[int, str]]:
    lat, lon = PLACE
    queries = [
        {},
        {"order": "recent"},
        {"order": "priority"},
        {"family": "water"},
        {"bbox": f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}"},  # around Bea's point
        {"bbox": f"{lon - 1e-5},{lat + 1e-5},{lon + 1e-5},{lat + 4e-5}"},  # between her point and Ana's
        {"near": f"{lat},{lon}", "radius_m": 1},
        {"near": f"{north(1.5, lat)},{lon}", "radius_m": 1},  # the centroid of both, not her point
        {"near": f"{ANA_PLACE[0]},{ANA_PLACE[1]}", "radius_m": 1},
        {"confirmed": "true"},
        {"confirmed": "false"},
        {"since": (now - timedelta(days=10)).isoformat()},
        {"since": (now - timedelta(minutes=90)).isoformat()},  # after Bea's report, before Ana's latest
        {"status": "assigned"},  # not a user's filter: 422 before and after
        {"territory": "H1"},
    ]
    found = {}
    for query in queries:
        response = api.get("/sites", params=query, headers=bearer(bea))
        found[json.dumps(query, sort_keys=True)] = (response.status_code, json.dumps(_unsigned(response.json())))
    detail = api.get(f"/sites/{site_id}", headers=bearer(bea))
    found["detail"] = (detail.status_code, json.dumps(_unsigned(detail.json())))
    return found


@pytest.fixture
def world(api):
    admin, expert = create_user(role="admin"), create_user(role="expert")
    answer = api.post("/territories", json=HIERARCHY, headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    official = create_user(role="official")
    scoped = api.put(f"/users/{official.id}/territories", json={"territories": ["H1"]}, headers=bearer(admin))
    assert scoped.status_code == 200, scoped.text
    return {"expert": expert, "official": official, "now": datetime.now(UTC)}


def add_ana(api, world) -> None:
    ana, now = create_user(email="ana@example.org"), world["now"]
    early = report(ana, *ANA_PLACE, (CHARCOS,), created_at=now - timedelta(days=5))
    report(ana, *ANA_PLACE, (CHARCOS,), created_at=now - timedelta(hours=1))
    (site_id,) = sites_of(early)
    expert = bearer(world["expert"])
    confirmed = api.post(f"/detections/{detection_ids(early)[0]}/validate", headers=expert,
                         json={"validation_status": "validated_positive"})  # fmt: skip
    assert confirmed.status_code == 200, confirmed.text
    assigned = api.post(f"/sites/{site_id}/actions", headers=expert, json={"action": "assign", "team": "B"})
    assert assigned.status_code == 200, assigned.text


def test_bea_learns_nothing_of_ana_s_reports_at_her_site(api, world):
    bea = create_user(email="bea@example.org")
    mine = report(bea, *PLACE, (CHARCOS,), created_at=world["now"] - timedelta(hours=2))
    (site_id,) = sites_of(mine)
    report(bea, -26.85, -65.28, (CHARCOS,), created_at=world["now"] - timedelta(days=2))  # another site of hers
    before = _views(api, bea, str(site_id), world["now"])

    add_ana(api, world)
    after = _views(api, bea, str(site_id), world["now"])

    assert sites_of(mine) == [site_id]  # Ana's reports joined Bea's site
    changed = [key for key in before if before[key] != after[key]]
    assert changed == [], f"{len(changed)} answers told Bea about Ana's reports, e.g. {changed[:3]}"
    # What Bea is shown is hers: one report, her point, her time; the site's totals withheld
    detail = json.loads(after["detail"][1])
    assert (detail["report_count"], detail["reporter_count"], detail["confirmed"]) == (1, None, False)
    assert (detail["latitude"], detail["longitude"], detail["status"], detail["priority"]) == (*PLACE, None, None)
    assert after[json.dumps({"status": "assigned"})][0] == 422


def test_the_team_still_sees_the_site_s_totals(api, world):
    bea = create_user(email="bea@example.org")
    mine = report(bea, *PLACE, (CHARCOS,), created_at=world["now"] - timedelta(hours=2))
    (site_id,) = sites_of(mine)
    add_ana(api, world)
    for who in ("expert", "official"):
        site = api.get(f"/sites/{site_id}", headers=bearer(world[who])).json()
        figures = (site["report_count"], site["reporter_count"], site["confirmed"], site["status"], site["own_view"])
        assert figures == (3, 2, True, "assigned", False), who
        assert site["latitude"] == pytest.approx((2 * ANA_PLACE[0] + PLACE[0]) / 3, abs=1e-9), who
        assert [t["action"] for t in site["timeline"]] == ["create", "assign"], who
        assert site["priority"]["score"] > 0, who
