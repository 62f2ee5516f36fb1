"""IDOR: Bob (a user) against every route that takes an id of Alice's things; experts against owner-only changes.

The table below names every id-taking route of infra/template.yaml; `test_every_id_taking_route_is_covered`
fails when a route with a path parameter appears that the table does not cover, so a new route cannot ship
without its access check being attacked here. Every refusal is exact, answers the same for Alice's id, an
unknown id and a malformed one (no oracle), and leaves the database and the bucket untouched.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import mapbox_vector_tile
import pytest

from sentrix_local.template import stack_spec
from tests.security.support import db_snapshot, refused, s3_snapshot

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class IdorCase:
    method: str
    path: str  # as declared in the template
    target: str  # which of Alice's ids goes into {id}: analysis, failed, detection, user, site, alert
    user: tuple[int, str]  # exact refusal for Bob (role user)
    expert: tuple[int, str] | None = None  # exact refusal for an expert (None: experts may do this)
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None

    @property
    def name(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.method} {self.path.removeprefix('/api/v1')}{'?' + query if query else ''}"


NOT_FOUND, FORBIDDEN = (404, "not_found"), (403, "forbidden")
# No user owns a visit, so none of Alice's ids names one: any id is refused on the role alike.
VISIT_ID = uuid.UUID("00000000-0000-4000-8000-000000000015")
VERDICT = {"validation_status": "validated_positive", "validation_notes": "looks real"}

IDOR_CASES = [
    IdorCase("GET", "/api/v1/analyses/{id}", "analysis", NOT_FOUND),
    IdorCase("DELETE", "/api/v1/analyses/{id}", "analysis", NOT_FOUND, expert=FORBIDDEN),
    IdorCase("GET", "/api/v1/analyses/{id}/detections", "analysis", NOT_FOUND),
    IdorCase("POST", "/api/v1/analyses/{id}/retry", "failed", NOT_FOUND, expert=FORBIDDEN),
    IdorCase("GET", "/api/v1/analyses/{id}/report", "analysis", NOT_FOUND),
    IdorCase("GET", "/api/v1/analyses/{id}/export", "analysis", NOT_FOUND, params={"format": "json"}),
    IdorCase("GET", "/api/v1/analyses/{id}/export", "analysis", NOT_FOUND, params={"format": "csv"}),
    IdorCase("GET", "/api/v1/analyses/{id}/export", "analysis", NOT_FOUND, params={"format": "pdf"}),
    IdorCase(
        "GET",
        "/api/v1/analyses/{id}/export",
        "analysis",
        NOT_FOUND,
        params={"format": "json", "include_images": "true"},
    ),
    # Only experts and admins validate: a user is refused on the role before any lookup.
    IdorCase("POST", "/api/v1/detections/{id}/validate", "detection", FORBIDDEN, json=VERDICT),
    IdorCase("POST", "/api/v1/detections/{id}/revalidate", "detection", FORBIDDEN, json={"weather_condition": "RAINY"}),
    IdorCase("GET", "/api/v1/detections/{id}/validity", "detection", NOT_FOUND),
    # User administration is for admins only (experts included in the refusal).
    IdorCase("PATCH", "/api/v1/users/{id}", "user", FORBIDDEN, expert=FORBIDDEN, json={"role": "user"}),
    IdorCase("DELETE", "/api/v1/users/{id}", "user", FORBIDDEN, expert=FORBIDDEN),
    IdorCase("PUT", "/api/v1/users/{id}/territories", "user", FORBIDDEN, expert=FORBIDDEN, json={"territories": []}),
    # A user sees only sites their own detections belong to; only experts and admins act on sites.
    IdorCase("GET", "/api/v1/sites/{id}", "site", NOT_FOUND),
    IdorCase("POST", "/api/v1/sites/{id}/actions", "site", FORBIDDEN, json={"action": "dismiss"}),
    # Alerts name sites: users are 403 on every one, Alice's site's alert, a random id or garbage alike.
    IdorCase("GET", "/api/v1/alerts/{id}", "alert", FORBIDDEN),
    # Field visits belong to no user: experts, admins and officials (their territories) read them; a user is refused
    # on the role before any lookup (officials' scope: tests/integration/upload/test_visits.py).
    IdorCase("GET", "/api/v1/visits/{id}", "visit", FORBIDDEN),
    # Subscriptions are officials' and admins': users and experts are refused on the role before any lookup (the
    # id is any of Alice's); an official against another's subscription: tests/integration/report/
    # test_subscriptions_api.py.
    IdorCase("DELETE", "/api/v1/subscriptions/{id}", "analysis", FORBIDDEN, expert=FORBIDDEN),
]

# Path parameters that are not object ids, and where their leak check lives.
NOT_OBJECT_IDS = {
    ("GET", "/api/v1/map/tiles/{z}/{x}/{y}"): "tile coordinates; see test_detail_tiles_never_show_another_users_points",
    # Territories are boundaries every signed-in user may read (docs/territories.md): a code owns nothing.
    ("GET", "/api/v1/territories/{code}"): "a territory code; readable by all, see test_territories.py",
}


def test_every_id_taking_route_is_covered():
    # (A preflight reads no object: CORSMiddleware answers it before any route runs.)
    with_ids = {(r.method, r.path) for r in stack_spec().routes if "{" in r.path and r.method != "OPTIONS"}
    covered = {(c.method, c.path) for c in IDOR_CASES} | set(NOT_OBJECT_IDS)
    assert with_ids - covered == set(), "new id-taking route(s): add them to IDOR_CASES"
    assert covered - with_ids == set(), "the table names routes the template no longer has"


def _target(world, case: IdorCase) -> str:
    return str(
        {
            "analysis": world.analysis_id,
            "failed": world.failed_id,
            "detection": world.detection_ids[0],
            "user": world.alice.id,
            "site": world.site_ids[0],
            "alert": world.alert_id,
            "visit": VISIT_ID,
        }[case.target]
    )


def _call(api, case: IdorCase, target: str, headers: dict[str, str]):
    path = case.path.removeprefix("/api/v1").replace("{id}", target)
    return api.request(case.method, path, params=case.params, json=case.json, headers=headers)


@pytest.mark.parametrize("case", IDOR_CASES, ids=lambda c: c.name)
def test_a_user_cannot_reach_another_users_object(shared_api, shared_world, s3, aws, case):
    before, objects = db_snapshot(), s3_snapshot(s3, aws.bucket)
    headers = shared_world.headers("bob")

    attack = _call(shared_api, case, _target(shared_world, case), headers)
    unknown = _call(shared_api, case, str(uuid.uuid4()), headers)
    malformed = _call(shared_api, case, "not-an-id", headers)

    error = refused(attack, *case.user)
    # Alice's id, a random id and garbage get the same answer: nothing tells Bob which ids exist.
    for other in (unknown, malformed):
        assert refused(other, *case.user)["message"] == error["message"]
    assert str(shared_world.alice.id) not in attack.text and str(shared_world.analysis_id) not in attack.text
    assert db_snapshot() == before
    assert s3_snapshot(s3, aws.bucket) == objects


@pytest.mark.parametrize("case", [c for c in IDOR_CASES if c.expert], ids=lambda c: c.name)
def test_an_expert_cannot_change_what_only_the_owner_or_an_admin_may(shared_api, shared_world, s3, aws, case):
    before, objects = db_snapshot(), s3_snapshot(s3, aws.bucket)

    response = _call(shared_api, case, _target(shared_world, case), shared_world.headers("expert"))

    refused(response, *case.expert)
    assert db_snapshot() == before
    assert s3_snapshot(s3, aws.bucket) == objects


@pytest.mark.parametrize(
    "case", [c for c in IDOR_CASES if c.method == "GET" and c.target not in ("user", "visit")], ids=lambda c: c.name
)
def test_the_owner_reads_what_bob_was_refused(shared_api, shared_world, case):
    # The control: the refusals above are about who asks, not about a broken route. An alert belongs to no user:
    # the control reads it as an expert.
    who = "expert" if case.target == "alert" else "alice"
    response = _call(shared_api, case, _target(shared_world, case), shared_world.headers(who))
    assert response.status_code == 200, response.text


def test_another_users_analyses_never_appear_in_lists_or_exports(shared_api, shared_world):
    bob = shared_world.headers("bob")
    alice_ids = {str(shared_world.analysis_id), str(shared_world.failed_id), str(shared_world.alice.id)}
    alice_ids |= {str(d) for d in shared_world.detection_ids}
    for path in (
        "/analyses",
        "/detections/expired",
        "/detections/expiring-soon?days_threshold=30",
        "/detections/validity-stats",
        "/exports/detections.geojson",
        "/exports/detections.csv",
        "/reports/statistics",
        "/reports/recent-activity",
        "/map/hotspots?min_points=2&include_expired=true",
        "/heatmap-data",
        "/map-stats",
    ):
        response = shared_api.get(path, headers=bob)
        assert response.status_code == 200, (path, response.text)
        assert not any(i in response.text for i in alice_ids), path
        assert "-65.2012" not in response.text and "-26.8012" not in response.text, path
    assert shared_api.get("/analyses", headers=bob).json()["total"] == 0


def _tile(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_detail_tiles_never_show_another_users_points(shared_api, shared_world):
    lat, lon = -26.8012, -65.2012
    z = 16
    x, y = _tile(lat, lon, z)
    path = f"/map/tiles/{z}/{x}/{y}.mvt"

    as_bob = shared_api.get(path, headers=shared_world.headers("bob"))
    as_alice = shared_api.get(path, headers=shared_world.headers("alice"))

    assert as_bob.status_code == 200 and as_alice.status_code == 200
    bob_layers = mapbox_vector_tile.decode(as_bob.content) if as_bob.content else {}
    alice_layers = mapbox_vector_tile.decode(as_alice.content)
    assert "detections" not in bob_layers or not bob_layers["detections"]["features"]
    assert {f["properties"]["id"] for f in alice_layers["detections"]["features"]} == {
        str(d) for d in shared_world.detection_ids
    }
    for ident in [shared_world.analysis_id, *shared_world.detection_ids]:
        assert str(ident).encode() not in as_bob.content
