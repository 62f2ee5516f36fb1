"""The words of the field-visit refusals (docs/visits.md, *Refusals*; docs/report.md, *Errors*): a visit that is
not found (malformed id, unknown, outside an official's scope) and counts that break a rule are answered with the
catalogue's words (`err.visit_not_found`, `visit.refusal.<reason>`) in the caller's language — the route resolves
it, Spanish when nothing is stated — and `details.refusals` lists each broken rule with its field, reason and
message. Expected words are the catalogue's (layers/shared/sentrix/i18n/messages_*.py), written out by hand."""

from __future__ import annotations

import uuid

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import OfficialTerritory
from tests.integration.upload.sites_support import sql
from tests.integration.upload.support import call, make_user
from tests.integration.upload.test_territories import HIERARCHY

pytestmark = pytest.mark.integration

# A sound visit of N1 (C → H1 → N1, C → H2): 40 visited − 5 closed − 3 refused = 32 inspected, 2 positive
# premises, 3 positive containers.
SOUND = {
    "territory": "N1",
    "visited_on": "2026-11-03",
    "area": "Manzana 12",
    "team": "Brigada Norte",
    "premises": {"visited": 40, "closed": 5, "refused": 3, "positive": 2},
    "containers": {"B": {"inspected": 50, "positive": 2}, "D1": {"inspected": 8, "positive": 1}},
}


@pytest.fixture
def world(upload_env):
    admin, expert = make_user("admin"), make_user("expert")
    imported = call("POST", "/api/v1/territories", user=admin, body=HIERARCHY)
    assert imported.status == 200, imported.body
    return {"admin": admin, "expert": expert}


def official_of(*codes: str):
    official = make_user("official")
    with session_scope() as session:
        session.add_all(OfficialTerritory(user_id=official.id, territory_code=code) for code in codes)
    return official


def not_found_words(answer, message: str, title: str) -> None:
    assert answer.status == 404, answer.body
    error = answer.error
    assert (error["code"], error["status"], error["type"]) == ("not_found", 404, "NotFound")
    assert (error["message"], error["title"]) == (message, title)
    assert "details" not in error


@pytest.mark.parametrize(
    ("headers", "message", "title"),
    [
        ({}, "Visita no encontrada", "No encontrado"),  # nothing stated: the resolved default, Spanish
        ({"Accept-Language": "es"}, "Visita no encontrada", "No encontrado"),
        ({"Accept-Language": "pt-BR"}, "Visita não encontrada", "Não encontrado"),
    ],
    ids=["default", "es", "pt"],
)
def test_a_visit_that_is_not_found_is_told_in_the_callers_language(world, headers, message, title):
    expert = world["expert"]

    malformed = call("GET", "/api/v1/visits/not-a-uuid", user=expert, headers=headers)
    unknown = call("GET", f"/api/v1/visits/{uuid.uuid4()}", user=expert, headers=headers)

    not_found_words(malformed, message, title)
    not_found_words(unknown, message, title)


def test_a_visit_outside_an_officials_scope_is_not_found_in_the_same_words(world):
    visit = call("POST", "/api/v1/visits", user=world["expert"], body=SOUND)  # N1, below H1
    assert visit.status == 201, visit.body
    official = official_of("H2")  # the sibling area: N1 is outside

    answer = call("GET", f"/api/v1/visits/{visit.body['id']}", user=official, headers={"Accept-Language": "pt"})

    not_found_words(answer, "Visita não encontrada", "Não encontrado")
    # the same visit is there for those who may see it
    assert call("GET", f"/api/v1/visits/{visit.body['id']}", user=official_of("H1")).status == 200


@pytest.mark.parametrize(
    ("headers", "message", "title"),
    [
        ({}, "visited_on: la fecha es anterior a 2000-01-01", "Error de validación"),
        ({"Accept-Language": "en"}, "visited_on: the date is before 2000-01-01", "Validation error"),
        ({"Accept-Language": "pt"}, "visited_on: a data é anterior a 2000-01-01", "Erro de validação"),
    ],
    ids=["default", "en", "pt"],
)
def test_one_broken_rule_is_the_message_and_the_only_refusal(world, headers, message, title):
    # Sound counts, a day before 2000-01-01: exactly one rule broken (visited_on, too_early)
    answer = call(
        "POST", "/api/v1/visits", user=world["expert"], body={**SOUND, "visited_on": "1999-12-31"}, headers=headers
    )

    assert answer.status == 422, answer.body
    error = answer.error
    assert (error["code"], error["message"], error["title"]) == ("validation_error", message, title)
    assert error["details"] == {
        "field": "visited_on",
        "reason": "too_early",
        "refusals": [{"field": "visited_on", "reason": "too_early", "message": message}],
    }
    assert sql("SELECT count(*) FROM visits")[0][0] == 0


def test_every_broken_rule_is_listed_with_its_field_reason_and_words(world):
    # 11 positive premises of 10 inspected (positive_above_inspected), and 11 positive premises against 1 positive
    # container (positive_premises_above_positive_containers): two rules, both on premises.positive
    counts = {"premises": {"visited": 10, "positive": 11}, "containers": {"B": {"inspected": 3, "positive": 1}}}

    answer = call(
        "POST", "/api/v1/visits", user=world["expert"], body={**SOUND, **counts}, headers={"Accept-Language": "en"}
    )

    assert answer.status == 422, answer.body
    details = answer.error["details"]
    expected = [
        {
            "field": "premises.positive",
            "reason": "positive_above_inspected",
            "message": "premises.positive: more positives than inspected",
        },
        {
            "field": "premises.positive",
            "reason": "positive_premises_above_positive_containers",
            "message": "premises.positive: more positive premises than positive containers "
            "(each positive premises has at least one)",
        },
    ]
    assert sorted(details["refusals"], key=lambda r: r["reason"]) == expected
    # the first listed is the one in `field`/`reason`, and its words are the envelope's message
    first = details["refusals"][0]
    assert (details["field"], details["reason"], answer.error["message"]) == (
        first["field"],
        first["reason"],
        first["message"],
    )
    assert sql("SELECT count(*) FROM visits")[0][0] == 0
