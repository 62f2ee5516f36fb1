"""POST, GET, DELETE /subscriptions through the report handler (API Gateway events, the authorizer's context):
who may subscribe to what, the 422s naming the field, the secret shown once (docs/alerts.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sentrix.domain.roles import Role
from tests.integration.report.conftest import call, make_caller
from tests.integration.report.subscriptions_support import assign, city

pytestmark = pytest.mark.integration

HOOK = "https://93.184.215.14/hooks/sentrix"  # a public address: no DNS lookup needed


@pytest.fixture
def world(db, monkeypatch) -> Iterator[dict]:
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_WEBHOOK_KEY", "test-only-webhook-key-0123456789abcdef")
    get_report_settings.cache_clear()
    city()
    official = make_caller(Role.OFFICIAL)
    assign(official.id, "H1")
    other = make_caller(Role.OFFICIAL)
    assign(other.id, "H2")
    yield {
        "official": official,
        "other": other,
        "admin": make_caller(Role.ADMIN),
        "user": make_caller(Role.USER),
        "expert": make_caller(Role.EXPERT),
    }
    get_report_settings.cache_clear()


def post(caller, body: dict, language: str | None = None):
    return call("POST", "/api/v1/subscriptions", caller=caller, body=body, query={"language": language})


def hook(territory: str = "H1", target: str = HOOK, levels=("red",)) -> dict:
    return {"territory": territory, "channel": "webhook", "target": target, "levels": list(levels)}


def test_an_official_subscribes_inside_their_territories_and_sees_the_secret_once(world):
    official = world["official"]

    made = post(official, hook("N1", levels=("red", "yellow")))

    assert made.status == 201, made.body
    created = made.json()
    assert created["territory"] == {"code": "N1", "name": "Barrio Norte"}
    assert (created["channel"], created["target"]) == ("webhook", HOOK)
    assert created["levels"] == ["yellow", "red"]
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["signature"]["header"] == "Sentrix-Signature"
    listed = call("GET", "/api/v1/subscriptions", caller=official)
    assert listed.status == 200
    [item] = listed.json()["items"]
    assert item["id"] == created["id"]
    assert "secret" not in item
    assert created["secret"] not in listed.body.decode()
    assert item["deliveries"] == {"pending": 0, "delivered": 0, "dead": 0}


@pytest.mark.parametrize("territory", ["H2", "C", "NOPE"])
def test_outside_the_officials_territories_or_unknown_is_404_naming_the_field(world, territory):
    answer = post(world["official"], hook(territory))

    assert answer.status == 404
    assert answer.json()["error"]["details"] == {"field": "territory"}


@pytest.mark.parametrize("role", ["user", "expert"])
def test_users_and_experts_may_not_subscribe(world, role):
    caller = world[role]

    assert post(caller, hook()).status == 403
    assert call("GET", "/api/v1/subscriptions", caller=caller).status == 403
    assert call("DELETE", f"/api/v1/subscriptions/{uuid.uuid4()}", caller=caller).status == 403


def test_admins_subscribe_anywhere_and_list_everyones(world):
    admin, official = world["admin"], world["official"]
    theirs = post(official, hook("H1")).json()

    mine = post(admin, hook("C"))
    listed = call("GET", "/api/v1/subscriptions", caller=admin).json()
    officials_view = call("GET", "/api/v1/subscriptions", caller=official).json()

    assert mine.status == 201
    assert {i["id"] for i in listed["items"]} == {theirs["id"], mine.json()["id"]}
    assert listed["total"] == 2
    assert [i["id"] for i in officials_view["items"]] == [theirs["id"]]


def test_only_the_owner_or_an_admin_deletes(world):
    official, other, admin = world["official"], world["other"], world["admin"]
    first = post(official, hook("H1")).json()["id"]
    second = post(official, hook("N1")).json()["id"]

    assert call("DELETE", f"/api/v1/subscriptions/{first}", caller=other).status == 404
    assert call("DELETE", f"/api/v1/subscriptions/{first}", caller=official).status == 204
    assert call("DELETE", f"/api/v1/subscriptions/{first}", caller=official).status == 404
    assert call("DELETE", f"/api/v1/subscriptions/{second}", caller=admin).status == 204
    assert call("GET", "/api/v1/subscriptions", caller=official).json()["items"] == []


def test_the_same_subscription_twice_is_409(world):
    assert post(world["official"], hook()).status == 201
    assert post(world["official"], hook()).status == 409


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://93.184.215.14/hook", "not_https"),
        ("https://10.1.2.3/hook", "private_address"),
        ("https://192.168.0.10/hook", "private_address"),
        ("https://169.254.169.254/latest/meta-data", "private_address"),
        ("https://[::ffff:10.0.0.1]/hook", "private_address"),
        ("https://[fd00::1]/hook", "private_address"),
        ("https://100.64.0.1/hook", "private_address"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("ftp://93.184.215.14/hook", "bad_url"),
        ("not a url", "bad_url"),
        ("https://no-such-host.invalid/hook", "unresolvable"),
    ],
)
def test_webhook_targets_are_refused_with_the_field_named(world, target, reason):
    answer = post(world["official"], hook(target=target), language="en")

    assert answer.status == 422
    error = answer.json()["error"]
    assert error["details"] == {"field": "target", "reason": reason}
    assert error["message"].startswith("target: ")


def test_a_bad_email_is_refused_in_the_callers_language(world):
    body = {"territory": "H1", "channel": "email", "target": "oficial@@example", "levels": ["red"]}

    answer = post(world["official"], body, language="es")

    assert answer.status == 422
    assert answer.json()["error"]["details"] == {"field": "target", "reason": "bad_email"}
    assert answer.json()["error"]["message"] == "target: no es una dirección de correo válida"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"levels": ["purple"]}, "levels"),
        ({"levels": []}, "levels"),
        ({"channel": "sms"}, "channel"),
        ({"territory": ""}, "territory"),
        ({"extra": 1}, "extra"),
    ],
)
def test_malformed_bodies_are_422_naming_the_field(world, change, field):
    answer = post(world["official"], {**hook(), **change})

    assert answer.status == 422
    assert [d["loc"][1] for d in answer.json()["error"]["details"]] == [field]


def test_a_malformed_id_answers_like_an_unknown_one(world):
    official = world["official"]

    unknown = call("DELETE", f"/api/v1/subscriptions/{uuid.uuid4()}", caller=official)
    malformed = call("DELETE", "/api/v1/subscriptions/not-an-id", caller=official)

    assert (unknown.status, malformed.status) == (404, 404)
    assert unknown.json()["error"]["message"] == malformed.json()["error"]["message"]
