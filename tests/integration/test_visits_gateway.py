"""Field visits through the gateway (authorizer included), as a client calls them: an admin scopes an official to
a health area; the official records a visit in a neighbourhood below it and reads its indices, is refused the
neighbouring area (404, the field named), and a user is refused everything (403) (docs/visits.md)."""

from __future__ import annotations

import pytest

from tests.integration.test_officials import api, gateway  # noqa: F401 - fixtures
from tests.integration.upload.test_territories import HIERARCHY
from tests.support.identity import bearer, create_user

pytestmark = pytest.mark.integration

VISIT = {
    "territory": "N1",
    "visited_on": "2026-11-03",
    "area": "Manzana 4",
    "team": "Brigada Oeste",
    "premises": {"visited": 20, "closed": 2, "refused": 1, "positive": 1},
    "containers": {"D1": {"inspected": 4, "positive": 2}},
}


def test_an_official_records_visits_and_reads_indices_of_their_area_only(api):  # noqa: F811
    admin, official, user = create_user(role="admin"), create_user(role="official"), create_user()
    assert api.post("/territories", json=HIERARCHY, headers=bearer(admin)).status_code == 200
    scoped = api.put(f"/users/{official.id}/territories", json={"territories": ["H1"]}, headers=bearer(admin))
    assert scoped.status_code == 200, scoped.text

    recorded = api.post("/visits", json=VISIT, headers=bearer(official))
    assert recorded.status_code == 201, recorded.text
    # inspected = 20 - 2 - 1 = 17
    assert recorded.json()["premises"]["inspected"] == 17
    outside = api.post("/visits", json={**VISIT, "territory": "H2"}, headers=bearer(official))
    assert (outside.status_code, outside.json()["error"]["details"]["field"]) == (404, "territory")
    window = {"territory": "H1", "from": "2026-11-01", "to": "2026-11-30"}
    answer = api.get("/indices", params=window, headers=bearer(official))
    assert answer.status_code == 200, answer.text
    h1, n1 = answer.json()["larval_indices"]["territories"]
    # H1 with N1 below it: H+ 1 of H 17 -> 100/17 = 5.88 % (risk); BI = 100·2/17 = 11.76
    cycle = h1["cycles"][0]
    assert (cycle["house_index"]["value"], cycle["house_index"]["classification"]) == (5.88, "risk")
    assert cycle["breteau_index"]["value"] == 11.76
    assert n1["territory"]["code"] == "N1"
    assert api.get("/indices", params={**window, "territory": "C"}, headers=bearer(official)).status_code == 404
    for method, path in (("GET", "/visits"), ("GET", f"/visits/{recorded.json()['id']}"), ("GET", "/indices")):
        params = window if path == "/indices" else None
        assert api.request(method, path, params=params, headers=bearer(user)).status_code == 403, path
    assert api.post("/visits", json=VISIT, headers=bearer(user)).status_code == 403
