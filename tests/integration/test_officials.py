"""Officials through the gateway (authorizer included): an admin scopes them to territories; they see the sites
and analyses inside (descendants included, exact positions, everyone's) and nothing outside (404, as a user),
act on sites inside only; a point on the border of two areas belongs to the smaller (docs/territories.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.upload.sites_support import CHARCOS, report, sites_of
from tests.integration.upload.test_territories import HIERARCHY
from tests.support.gateway import in_process_gateway
from tests.support.identity import bearer, create_user

pytestmark = pytest.mark.integration

FUNCTIONS = ("AuthFunction", "AuthorizerFunction", "UploadFunction")


@pytest.fixture(scope="module")
def gateway(database_url, aws, signing_key) -> Iterator[str]:
    from sentrix_auth.providers.factory import reset_provider
    from sentrix_upload.settings import get_upload_settings
    from tests.conftest import reset_caches

    os.environ["AUTH_PROVIDER"] = "builtin"
    reset_caches()
    reset_provider()
    get_upload_settings.cache_clear()
    with in_process_gateway(FUNCTIONS) as url:
        yield url


@pytest.fixture
def api(gateway, clean_db) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, timeout=60) as client:
        yield client


@pytest.fixture
def world(api):
    """The hierarchy of test_territories (C → H1 → N1, C → H2), one report in N1, one in H1 only, one in H2,
    one on the H1/H2 border (H2's: the smaller), one outside the city; an official of H1 and one of H2."""
    admin = create_user(role="admin")
    reporter = create_user()
    reports = {
        "n1": report(reporter, -26.80, -65.235, (CHARCOS,)),
        "h1": report(reporter, -26.85, -65.28, (CHARCOS,)),
        "h2": report(reporter, -26.85, -65.17, (CHARCOS,)),
        "border": report(reporter, -26.75, -65.20, (CHARCOS,)),
        "outside": report(reporter, -27.50, -65.22, (CHARCOS,)),
    }
    answer = api.post("/territories", json=HIERARCHY, headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    officials = {}
    for area in ("H1", "H2"):
        official = create_user(role="official")
        scoped = api.put(f"/users/{official.id}/territories", json={"territories": [area]}, headers=bearer(admin))
        assert scoped.status_code == 200, scoped.text
        assert scoped.json()["territories"] == [area]
        officials[area] = official
    return admin, reporter, reports, officials


def site_ids(api, user) -> set[str]:
    answer = api.get("/sites", headers=bearer(user))
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["items"]}


def site_of(reports, name) -> str:
    return str(sites_of(reports[name])[0])


def test_an_official_sees_the_sites_inside_their_territories_and_below(api, world):
    _admin, _reporter, reports, officials = world

    assert site_ids(api, officials["H1"]) == {site_of(reports, "n1"), site_of(reports, "h1")}
    # The border point belongs to H2 (the smaller area): H2's official sees it, H1's does not
    assert site_ids(api, officials["H2"]) == {site_of(reports, "h2"), site_of(reports, "border")}
    for name, status in (("n1", 200), ("h1", 200), ("h2", 404), ("border", 404), ("outside", 404)):
        answer = api.get(f"/sites/{site_of(reports, name)}", headers=bearer(officials["H1"]))
        assert answer.status_code == status, (name, answer.text)
    # Everyone's members, with the exact point
    detail = api.get(f"/sites/{site_of(reports, 'n1')}", headers=bearer(officials["H1"])).json()
    assert [(m["analysis"]["latitude"], m["analysis"]["longitude"]) for m in detail["members"]] == [(-26.80, -65.235)]


def test_an_official_reads_analyses_inside_only(api, world):
    _admin, _reporter, reports, officials = world
    official = officials["H1"]

    inside = api.get(f"/analyses/{reports['n1']}", headers=bearer(official))
    assert inside.status_code == 200, inside.text
    location = inside.json()["location"]
    assert (location["latitude"], location["longitude"]) == (-26.80, -65.235)
    for name in ("h2", "border", "outside"):
        assert api.get(f"/analyses/{reports[name]}", headers=bearer(official)).status_code == 404, name
    listed = api.get("/analyses", headers=bearer(official), params={"limit": 100})
    assert listed.status_code == 200, listed.text
    assert {a["id"] for a in listed.json()["analyses"]} == {str(reports["n1"]), str(reports["h1"])}


def test_an_official_acts_on_sites_inside_only(api, world):
    _admin, _reporter, reports, officials = world
    official = officials["H1"]

    inside = api.post(
        f"/sites/{site_of(reports, 'h1')}/actions", json={"action": "assign", "team": "Oeste"}, headers=bearer(official)
    )
    assert inside.status_code == 200, inside.text
    assert inside.json()["status"] == "assigned"
    outside = api.post(
        f"/sites/{site_of(reports, 'border')}/actions", json={"action": "assign"}, headers=bearer(official)
    )
    assert outside.status_code == 404


def test_only_admins_scope_officials_and_only_officials_are_scoped(api, world):
    admin, reporter, _reports, officials = world
    target = officials["H1"]

    for role in ("user", "expert", "official"):
        caller = create_user(role=role)
        answer = api.put(f"/users/{target.id}/territories", json={"territories": ["C"]}, headers=bearer(caller))
        assert answer.status_code == 403, role
    not_official = api.put(f"/users/{reporter.id}/territories", json={"territories": ["C"]}, headers=bearer(admin))
    assert not_official.status_code == 422
    error = not_official.json()["error"]
    assert (error["message"], error["details"]) == ("Only officials are scoped to territories", {"role": "user"})
    # docs/report.md (Errors): raised with a catalogue key, so told in a stated language (messages_pt.py)
    stated = api.put(
        f"/users/{reporter.id}/territories",
        json={"territories": ["C"]},
        headers={**bearer(admin), "Accept-Language": "pt"},
    )
    assert stated.json()["error"]["message"] == "Somente agentes públicos têm territórios atribuídos"
    unknown = api.put(f"/users/{target.id}/territories", json={"territories": ["ZZ"]}, headers=bearer(admin))
    assert (unknown.status_code, unknown.json()["error"]["details"]) == (422, {"territories": ["ZZ"]})
    # An empty set leaves the official seeing nothing of anyone else
    emptied = api.put(f"/users/{target.id}/territories", json={"territories": []}, headers=bearer(admin))
    assert emptied.status_code == 200
    assert site_ids(api, target) == set()


def test_unknown_territories_are_named_and_nothing_is_half_replaced(api, world):
    """docs/territories.md: every code must exist; the refusal lists the unknown ones (sorted) and, in a stated
    language, names the first, and the official keeps the territories they had. The assignment records
    the admin who made it (official_territories.assigned_by, the audit column)."""
    from sqlalchemy import text

    from tests.support.admin import admin_engine

    admin, _reporter, _reports, officials = world
    target = officials["H1"]
    before = site_ids(api, target)
    mixed = api.put(f"/users/{target.id}/territories", json={"territories": ["C", "ZZ", "YY"]}, headers=bearer(admin))
    assert mixed.status_code == 422
    error = mixed.json()["error"]
    assert (error["code"], error["message"], error["details"]) == (
        "validation_error",
        "Unknown territory",  # no language stated: the raised English detail (docs/report.md, Errors)
        {"territories": ["YY", "ZZ"]},
    )
    stated = api.put(
        f"/users/{target.id}/territories",
        json={"territories": ["QQ"]},
        headers={**bearer(admin), "Accept-Language": "es"},
    )
    assert stated.json()["error"]["message"] == "Territorio desconocido: QQ"
    assert site_ids(api, target) == before  # still H1's, not C's
    with admin_engine().connect() as connection:
        rows = connection.execute(
            text("SELECT territory_code, assigned_by FROM official_territories WHERE user_id = :u"),
            {"u": target.id},
        ).all()
    assert [(code, str(by)) for code, by in rows] == [("H1", str(admin.id))]
