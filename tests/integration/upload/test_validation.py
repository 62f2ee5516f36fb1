"""Expert validation: verdicts with who and when, validity ×1.3, the review queue; users get 403."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Detection
from sentrix.domain.status import ValidationStatus
from tests.integration.upload.support import call, days_ago, make_user, seed_analysis

pytestmark = pytest.mark.integration

MARCH = days_ago(0).replace(month=3, day=10, hour=12, minute=0, second=0, microsecond=0)


def detections_of(analysis_id: uuid.UUID) -> list[Detection]:
    with session_scope() as session:
        return session.query(Detection).filter(Detection.analysis_id == analysis_id).order_by(Detection.class_id).all()


def test_positive_verdict_records_who_and_when_and_multiplies_validity(upload_env):
    # Given a Huecos detection (30 days × MEDIO 1.0, confidence 0.8: 30 days)
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(3, 0), created_at=MARCH)
    hole, trash = detections_of(analysis)[1], detections_of(analysis)[0]
    assert (hole.validity_days, hole.expires_at) == (30, MARCH + timedelta(days=30))

    # When an expert validates it positive with notes
    answer = call(
        "POST",
        f"/api/v1/detections/{hole.id}/validate",
        user=expert,
        body={"validation_status": "validated_positive", "validation_notes": "Bache confirmado"},
    )

    # Then who/when/notes are stored, validity becomes int(30 × 1.3) = 39 days, and the analysis is half reviewed
    assert answer.status == 200, answer.body
    detection = answer.body["detection"]
    assert detection["validation_status"] == "validated_positive"
    assert detection["validated_by"] == str(expert.id)
    assert detection["validation_notes"] == "Bache confirmado"
    assert detection["validity_days"] == 39
    assert answer.body["analysis_validation"]["state"] == "partially_validated"
    stored = next(d for d in detections_of(analysis) if d.id == hole.id)
    assert stored.validated_by == expert.id
    assert stored.validated_at is not None
    assert (stored.validity_days, stored.expires_at) == (39, MARCH + timedelta(days=39))

    # And a second verdict on the other detection completes the analysis' review
    second = call(
        "POST", f"/api/v1/detections/{trash.id}/validate", user=expert, body={"validation_status": "validated_negative"}
    )
    assert second.body["analysis_validation"]["state"] == "validated"
    assert second.body["detection"]["validity_days"] == trash.validity_days  # no bonus for a negative verdict
    assert call("GET", "/api/v1/analyses", user=owner, query={"validated_only": "true"}).body["total"] == 1


def test_changing_a_positive_verdict_takes_the_bonus_back_but_keeps_an_extension(upload_env):
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(3,), created_at=MARCH)
    (hole,) = detections_of(analysis)

    call(
        "POST", f"/api/v1/detections/{hole.id}/validate", user=expert, body={"validation_status": "validated_positive"}
    )
    call(
        "POST",
        "/api/v1/detections/extend-validity",
        user=expert,
        body={"detection_id": str(hole.id), "extension_days": 5, "reason": "Lluvias"},
    )
    answer = call(
        "POST", f"/api/v1/detections/{hole.id}/validate", user=expert, body={"validation_status": "requires_review"}
    )

    assert answer.body["detection"]["validity_days"] == 35  # 39 + 5 − 9
    (stored,) = detections_of(analysis)
    assert stored.expires_at == MARCH + timedelta(days=35)


def test_users_get_403_on_expert_routes(upload_env):
    owner = make_user()
    analysis = seed_analysis(owner)
    (detection,) = detections_of(analysis)

    answers = [
        call(
            "POST",
            f"/api/v1/detections/{detection.id}/validate",
            user=owner,
            body={"validation_status": "validated_positive"},
        ),
        call("GET", "/api/v1/detections/pending", user=owner),
        call(
            "POST",
            "/api/v1/detections/batch-validate",
            user=owner,
            body={"detection_ids": [str(detection.id)], "validation_status": "validated_negative"},
        ),
        call(
            "POST",
            "/api/v1/detections/extend-validity",
            user=owner,
            body={"detection_id": str(detection.id), "extension_days": 3, "reason": "x"},
        ),
        call("POST", f"/api/v1/detections/{detection.id}/revalidate", user=owner),
    ]

    assert [a.status for a in answers] == [403] * 5
    assert {a.error["code"] for a in answers} == {"forbidden"}
    (unchanged,) = detections_of(analysis)
    assert unchanged.validation_status is ValidationStatus.PENDING


@pytest.mark.parametrize(
    "body",
    [
        {"validation_status": "pending"},
        {"validation_status": "validated"},
        {"validation_status": "validated_positive", "validation_notes": "x" * 2001},
        {"validation_status": "validated_positive", "extra": 1},
        {},
    ],
)
def test_bad_verdicts_are_422(upload_env, body):
    owner, expert = make_user(), make_user("expert")
    (detection,) = detections_of(seed_analysis(owner))

    answer = call("POST", f"/api/v1/detections/{detection.id}/validate", user=expert, body=body)

    assert answer.status == 422


def test_unknown_and_malformed_detection_ids_are_404(upload_env):
    expert = make_user("expert")
    body = {"validation_status": "validated_positive"}

    unknown = call("POST", f"/api/v1/detections/{uuid.uuid4()}/validate", user=expert, body=body)
    malformed = call("POST", "/api/v1/detections/abc/validate", user=expert, body=body)

    assert (unknown.status, malformed.status) == (404, 404)


def test_review_queue_is_highest_risk_then_oldest_and_filterable_by_area(upload_env):
    owner, expert = make_user(), make_user("expert")
    medio_old = seed_analysis(owner, classes=(1,), created_at=days_ago(9), latitude=-26.8, longitude=-65.2)
    alto_new = seed_analysis(owner, classes=(0,), created_at=days_ago(1), latitude=-26.8, longitude=-65.2)
    alto_old = seed_analysis(owner, classes=(2,), created_at=days_ago(5), latitude=10, longitude=10)
    done = seed_analysis(owner, classes=(0,), verdicts=(ValidationStatus.VALIDATED_POSITIVE,))
    review = seed_analysis(owner, classes=(3,), verdicts=(ValidationStatus.REQUIRES_REVIEW,), created_at=days_ago(2))

    queue = call("GET", "/api/v1/detections/pending", user=expert)
    in_area = call("GET", "/api/v1/detections/pending", user=expert, query={"bbox": "-66,-27,-65,-26"})
    only_review = call("GET", "/api/v1/detections/pending", user=expert, query={"status": "requires_review"})

    assert queue.status == 200, queue.body
    order = [item["analysis_id"] for item in queue.body["items"]]
    assert order == [str(alto_old), str(alto_new), str(medio_old), str(review)]
    assert str(done) not in order
    assert queue.body["total"] == 4
    assert queue.body["items"][0]["image_url"].split("?")[0].endswith("/photo.jpg")
    assert [i["analysis_id"] for i in in_area.body["items"]] == [str(alto_new), str(medio_old)]
    assert [i["analysis_id"] for i in only_review.body["items"]] == [str(review)]
    assert call("GET", "/api/v1/detections/pending", user=expert, query={"status": "validated_positive"}).status == 422


def test_batch_validate_reports_per_item_errors(upload_env):
    owner, admin = make_user(), make_user("admin")
    first, second = detections_of(seed_analysis(owner, classes=(0, 1)))
    missing = uuid.uuid4()

    answer = call(
        "POST",
        "/api/v1/detections/batch-validate",
        user=admin,
        body={
            "detection_ids": [str(first.id), str(missing), str(second.id)],
            "validation_status": "validated_positive",
        },
    )
    per_item = call(
        "POST",
        "/api/v1/detections/batch-validate",
        user=admin,
        body={
            "validations": [
                {
                    "detection_id": str(first.id),
                    "validation_status": "validated_negative",
                    "validation_notes": "charco seco",
                }
            ]
        },
    )
    mixed = call(
        "POST",
        "/api/v1/detections/batch-validate",
        user=admin,
        body={"validations": [], "detection_ids": [str(first.id)], "validation_status": "validated_negative"},
    )

    assert answer.status == 200, answer.body
    assert (answer.body["validated"], answer.body["failed"]) == (2, 1)
    assert [i["ok"] for i in answer.body["items"]] == [True, False, True]
    assert answer.body["items"][1]["error"] == {
        "code": "not_found", "message": "Detection not found", "status": 404, "details": None,
    }  # fmt: skip
    assert per_item.body["items"][0]["validation_status"] == "validated_negative"
    with session_scope() as session:
        judged = session.get(Detection, first.id)
    assert judged.validation_notes == "charco seco"
    # each item answers the detection's new expiry (a rejection keeps none alive: its expiry as stored)
    assert per_item.body["items"][0]["expires_at"] == judged.expires_at.isoformat().replace("+00:00", "Z")
    assert mixed.status == 422
    statuses = {d.id: d.validation_status for d in detections_of(first.analysis_id)}
    assert statuses == {first.id: ValidationStatus.VALIDATED_NEGATIVE, second.id: ValidationStatus.VALIDATED_POSITIVE}


def test_batch_validate_words_an_items_error_in_the_stated_language(upload_env):
    admin = make_user("admin")
    body = {"detection_ids": [str(uuid.uuid4())], "validation_status": "validated_positive"}

    answer = call("POST", "/api/v1/detections/batch-validate", user=admin, body=body, headers={"Accept-Language": "pt"})

    assert answer.body["items"][0]["error"] == {
        "code": "not_found", "message": "Detecção não encontrada", "status": 404, "details": None,
        "title": "Não encontrado",
    }  # fmt: skip


@pytest.mark.parametrize(
    "path",
    ["/api/v1/detections/pending", "/api/v1/detections/expired", "/api/v1/detections/expiring-soon"],
)
def test_unknown_query_parameters_are_422(upload_env, path):
    expert = make_user("expert")

    answer = call("GET", path, user=expert, query={"colour": "red"})

    assert (answer.status, answer.error["details"]["unknown"]) == (422, ["colour"])
