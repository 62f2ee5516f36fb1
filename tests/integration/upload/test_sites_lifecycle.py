"""The lifecycle through the API: open → assigned → treated → (verified) → closed, reopen and dismiss; who may
act, closing only with verifying evidence or an override with its reason, and invalid transitions refused."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.upload.sites_support import (
    BASE_LAT,
    BASE_LON,
    BASURA,
    CHARCOS,
    HUECOS,
    east,
    north,
    report,
    sites_of,
    timeline,
)
from tests.integration.upload.support import call, make_user

pytestmark = pytest.mark.integration


def act(user, site_id, headers=None, **body):
    return call("POST", f"/api/v1/sites/{site_id}/actions", user=user, body=body, headers=headers)


@pytest.fixture
def treated(upload_env):
    """A puddle's site, assigned and treated by an expert: (owner, expert, site id)."""
    owner, expert = make_user(), make_user("expert")
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON, (CHARCOS,)))
    assert act(expert, site_id, action="assign", team="Cuadrilla 3").status == 200
    assert act(expert, site_id, action="treat", team="Cuadrilla 3", notes="drained").status == 200
    return owner, expert, site_id


def test_users_may_not_act_on_sites_even_their_own(upload_env):
    owner = make_user()
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON))

    answer = act(owner, site_id, action="assign")

    assert answer.status == 403
    assert answer.error["code"] == "forbidden"
    assert timeline(site_id) == [("create", None, None, "open")]


def test_a_treated_site_closes_with_an_after_photo_and_the_timeline_keeps_everything(treated):
    owner, expert, site_id = treated
    # Given an after photo 8 m away, taken after the treatment, showing only refuse (another family)
    after = report(owner, north(8), BASE_LON, (BASURA,))

    # When the expert verifies with it, then closes
    verified = act(expert, site_id, action="verify", evidence_analysis_id=str(after))
    closed = act(expert, site_id, action="close", notes="dry")

    # Then the site is closed, and the timeline holds who, what, which team and which evidence
    assert (verified.status, closed.status) == (200, 200), (verified.body, closed.body)
    body = closed.body
    assert body["status"] == "closed"
    assert body["closed_at"] is not None
    assert body["priority"] is None
    steps = [
        (s["action"], s["from_status"], s["to_status"], s["actor_id"], s["team"], s["evidence_analysis_id"])
        for s in body["timeline"]
    ]
    me = str(expert.id)
    assert steps == [
        ("create", None, "open", None, None, None),
        ("assign", "open", "assigned", me, "Cuadrilla 3", None),
        ("treat", "assigned", "treated", me, "Cuadrilla 3", None),
        ("verify", "treated", "treated", me, None, str(after)),
        ("close", "treated", "closed", me, None, str(after)),
    ]
    assert body["timeline"][-1]["actor_email"] == expert.email


def test_closing_without_verification_is_409_with_the_reason_in_the_callers_language(treated):
    _owner, expert, site_id = treated

    answer = act(expert, site_id, headers={"accept-language": "es"}, action="close")

    assert answer.status == 409
    assert answer.error["code"] == "conflict"
    assert answer.error["details"] == {"reason": "no_evidence"}
    assert answer.error["message"].startswith("Cerrar requiere verificación")


@pytest.mark.parametrize(
    ("where", "classes", "reason"),
    [
        ((north(8), BASE_LON), (HUECOS,), "still_there"),  # a hole is water-holding too
        ((BASE_LAT, east(20)), (), "too_far"),  # beyond the 15 m radius
    ],
)
def test_evidence_that_does_not_verify_is_refused(treated, where, classes, reason):
    owner, expert, site_id = treated
    after = report(owner, *where, classes)

    answer = act(expert, site_id, action="close", evidence_analysis_id=str(after))

    assert answer.status == 409
    assert answer.error["details"] == {"reason": reason}


def test_a_photo_from_before_the_treatment_does_not_verify_it(upload_env):
    owner, expert = make_user(), make_user("expert")
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON))
    before = report(owner, north(2), BASE_LON, ())
    assert act(expert, site_id, action="treat").status == 200

    answer = act(expert, site_id, action="verify", evidence_analysis_id=str(before))

    assert (answer.status, answer.error["details"]) == (409, {"reason": "before_treatment"})


def test_an_expert_override_closes_with_its_reason_and_none_without_one(treated):
    _owner, expert, site_id = treated

    refused = act(expert, site_id, action="close", override=True)
    closed = act(expert, site_id, action="close", override=True, notes="filled with soil, seen on site")

    assert refused.status == 422
    assert closed.status == 200
    last = closed.body["timeline"][-1]
    assert (last["action"], last["override"], last["notes"]) == ("close", True, "filled with soil, seen on site")


def test_admins_may_act_too_and_a_closed_site_can_be_reopened(treated):
    _owner, _expert, site_id = treated
    admin = make_user("admin")
    assert act(admin, site_id, action="close", override=True, notes="checked").status == 200

    answer = act(admin, site_id, action="reopen", notes="neighbours report it again")

    assert answer.status == 200
    assert (answer.body["status"], answer.body["closed_at"]) == ("reopened", None)


@pytest.mark.parametrize(
    ("action", "status"),
    [("close", "open"), ("verify", "open"), ("reopen", "open")],
)
def test_invalid_transitions_are_409(upload_env, action, status):
    owner, expert = make_user(), make_user("expert")
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON))

    answer = act(expert, site_id, action=action, evidence_analysis_id=str(uuid.uuid4()))

    assert answer.status == 409
    assert answer.error["details"] == {"status": status, "action": action}


def test_a_closed_site_takes_no_second_close_and_a_dismissed_one_no_assignment(treated):
    _owner, expert, site_id = treated
    assert act(expert, site_id, action="close", override=True, notes="done").status == 200
    assert act(expert, site_id, action="close", override=True, notes="again").status == 409
    assert act(expert, site_id, action="reopen").status == 200
    assert act(expert, site_id, action="dismiss", notes="not a site").status == 200
    assert act(expert, site_id, action="assign").status == 409


def test_unknown_sites_and_evidence_are_404_and_unknown_actions_422(treated):
    _owner, expert, site_id = treated
    assert act(expert, uuid.uuid4(), action="assign").status == 404
    assert act(expert, "not-a-uuid", action="assign").status == 404
    assert act(expert, site_id, action="verify", evidence_analysis_id=str(uuid.uuid4())).status == 404
    assert act(expert, site_id, action="burn").status == 422
    assert act(expert, site_id, action="assign", colour="red").status == 422


def test_evidence_naming_no_analysis_is_404_whatever_the_action(treated):
    _owner, expert, site_id = treated
    for body in (
        {"action": "treat", "evidence_analysis_id": str(uuid.uuid4())},
        {"action": "close", "override": True, "notes": "gone", "evidence_analysis_id": str(uuid.uuid4())},
    ):
        answer = act(expert, site_id, **body)
        assert (answer.status, answer.error["code"]) == (404, "not_found"), answer.body


def test_a_malformed_site_id_is_not_found_in_the_same_words_as_an_unknown_one(upload_env):
    expert = make_user("expert")
    unknown = call("GET", f"/api/v1/sites/{uuid.uuid4()}", user=expert, headers={"accept-language": "es"})
    malformed = call("GET", "/api/v1/sites/nope", user=expert, headers={"accept-language": "es"})
    assert unknown.error["message"] == malformed.error["message"] == "Sitio no encontrado"
