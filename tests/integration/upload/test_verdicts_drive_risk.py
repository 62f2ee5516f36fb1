"""Expert verdicts drive the analysis: the current risk is recomputed from the detections that are not rejected, in
the same transaction as the verdict; the model's assessment stays for audit; a rejection ends the validity and
taking it back restores it. Expected levels and scores come from the DESIGN §4 table, worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.upload.support import call, make_user, seed_analysis

pytestmark = pytest.mark.integration

BASURA, CALLES, CHARCOS, HUECOS = 0, 1, 2, 3


def detection_ids(analysis_id: uuid.UUID) -> dict[int, list[str]]:
    with session_scope() as s:
        found = s.execute(
            text("SELECT class_id, id::text FROM detections WHERE analysis_id = :a ORDER BY class_id, id"),
            {"a": analysis_id},
        ).all()
    ids: dict[int, list[str]] = {}
    for class_id, detection_id in found:
        ids.setdefault(class_id, []).append(detection_id)
    return ids


def verdict(expert, detection_id: str, status: str) -> dict:
    answer = call("POST", f"/api/v1/detections/{detection_id}/validate", user=expert,
                  body={"validation_status": status})  # fmt: skip
    assert answer.status == 200, answer.body
    return answer.body


def detail(owner, analysis_id) -> dict:
    answer = call("GET", f"/api/v1/analyses/{analysis_id}", user=owner)
    assert answer.status == 200, answer.body
    return answer.body


def current(body: dict) -> tuple:
    risk = body["risk_assessment"]
    return body["risk_level"], risk["level"], risk["risk_score"], risk["total_detections"], risk["high_risk_count"]


def test_an_analysis_whose_every_detection_is_rejected_is_minimo(upload_env):
    # Given the photo: four ALTO-class detections, ALTO 1.0 from the model (rule 3: 0.85 + 0.03 x 4 = 0.97;
    # the seed stores the model's 0.9)
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(BASURA, BASURA, CHARCOS, CHARCOS), risk_level="ALTO")
    ids = detection_ids(analysis)

    # When an expert rejects all four
    for detection_id in ids[BASURA] + ids[CHARCOS]:
        verdict(expert, detection_id, "validated_negative")

    # Then the current risk is MINIMO (rule 7 with nothing left: 0.05 + 0.01 x 0), the model's stays ALTO
    body = detail(owner, analysis)
    assert current(body) == ("MINIMO", "MINIMO", 0.05, 0, 0)
    assert body["risk_score"] == 0.05
    assert body["model_risk_level"] == "ALTO"
    assert body["risk_assessment"]["basis"] == "not_rejected"
    model = body["model_risk_assessment"]
    assert model["basis"] == "all_detections"
    assert (model["level"], model["risk_score"], model["total_detections"], model["high_risk_count"]) == (
        "ALTO", 0.9, 4, 4)  # fmt: skip
    # and the advice is MINIMO's (routine surveillance), not "remove within 24 hours"
    assert body["risk_assessment"]["recommendations"] != model["recommendations"]


def test_every_verdict_change_recomputes_the_current_risk(upload_env):
    owner, expert = make_user(), make_user("expert")
    # Model: Basura x2, Charcos, Huecos: unique 3, total 4 -> rule 1, ALTO 0.85 + 0.05 x 3 = 1.0
    analysis = seed_analysis(owner, classes=(BASURA, BASURA, CHARCOS, HUECOS), risk_level="ALTO")
    ids = detection_ids(analysis)

    verdict(expert, ids[HUECOS][0], "validated_negative")
    # Basura x2, Charcos: unique 2, high 3 -> rule 2, ALTO 0.90 + 0.02 x 3 = 0.96
    assert current(detail(owner, analysis)) == ("ALTO", "ALTO", 0.96, 3, 3)

    verdict(expert, ids[BASURA][0], "validated_negative")
    # Basura, Charcos: unique 2, high 2 -> rule 4, MEDIO 0.50 + 0.05 x 2 + 0.10 x 2 = 0.8
    assert current(detail(owner, analysis)) == ("MEDIO", "MEDIO", 0.8, 2, 2)

    verdict(expert, ids[HUECOS][0], "requires_review")  # the rejection taken back
    # Basura, Charcos, Huecos: unique 3, total 3, high 2 -> rule 4, MEDIO 0.50 + 0.15 + 0.20 = 0.85
    assert current(detail(owner, analysis)) == ("MEDIO", "MEDIO", 0.85, 3, 2)

    verdict(expert, ids[BASURA][0], "validated_positive")  # a confirmation counts like a pending one
    assert current(detail(owner, analysis)) == ("ALTO", "ALTO", 1.0, 4, 3)  # back to the model's rule 1
    assert detail(owner, analysis)["model_risk_level"] == "ALTO"


def test_batch_verdicts_recompute_too_and_the_risk_distribution_follows(upload_env):
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(BASURA, CHARCOS), risk_level="ALTO")
    ids = detection_ids(analysis)

    body = {"validations": [{"detection_id": i, "validation_status": "validated_negative"} for i in ids[BASURA]]}
    answer = call("POST", "/api/v1/detections/batch-validate", user=expert, body=body)
    assert answer.status == 200 and answer.body["validated"] == 1, answer.body

    # Charcos alone: high 1 -> rule 5, MEDIO 0.50 + 0.10 = 0.6
    assert current(detail(owner, analysis)) == ("MEDIO", "MEDIO", 0.6, 1, 1)
    with session_scope() as s:
        stored = s.execute(text("SELECT risk_level::text, model_risk_level::text FROM analyses WHERE id = :a"),
                           {"a": analysis}).one()  # fmt: skip
    assert tuple(stored) == ("MEDIO", "ALTO")


def test_a_rejection_ends_the_validity_and_taking_it_back_restores_it(upload_env):
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(HUECOS,), risk_level="BAJO")
    [hole] = detection_ids(analysis)[HUECOS]
    before = call("GET", f"/api/v1/detections/{hole}/validity", user=expert).body
    assert before["is_expired"] is False

    rejected = verdict(expert, hole, "validated_negative")["detection"]
    after = call("GET", f"/api/v1/detections/{hole}/validity", user=expert).body
    assert after["is_expired"] is True
    assert datetime.fromisoformat(rejected["expires_at"]) <= datetime.now(UTC)

    # Extending a rejected detection's validity is refused: there is none to extend
    refused = call("POST", "/api/v1/detections/extend-validity", user=expert,
                   body={"detection_id": hole, "extension_days": 5, "reason": "Lluvias"})  # fmt: skip
    assert (refused.status, refused.body["error"]["code"]) == (409, "conflict")

    restored = verdict(expert, hole, "requires_review")["detection"]
    assert restored["expires_at"] == before["expires_at"]
    assert call("GET", f"/api/v1/detections/{hole}/validity", user=expert).body["is_expired"] is False


def test_the_rollup_follows_a_rejection(upload_env, without_k_anonymity):
    from tests.integration.report.conftest import call as report_call

    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(BASURA, HUECOS), latitude=-26.8, longitude=-65.2, risk_level="MEDIO")
    whole = {"include_expired": "true"}  # the anonymous whole map: read from the rollup

    def public_counts() -> dict:
        points = report_call("GET", "/api/v1/heatmap-data", query=whole).json()["data"]
        return {p["breedingSiteType"]: p["detectionCount"] for p in points}

    assert public_counts() == {"Basura": 1, "Huecos": 1}
    verdict(expert, detection_ids(analysis)[BASURA][0], "validated_negative")
    assert public_counts() == {"Huecos": 1}
    with session_scope() as s:
        s.execute(text("SELECT map_public_rebuild()"))
    assert public_counts() == {"Huecos": 1}  # the triggers' state is what a rebuild gives


def test_the_migration_backfills_existing_verdicts(postgis):
    """Data written before 0007: model columns copied, rejections end validity, current risk recomputed."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from sentrix.db import migrate

    postgis.recreate_database("sentrix_backfill")
    url = postgis.url("sentrix_backfill")
    before = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision("0007").down_revision
    migrate.upgrade(url, before)
    engine = create_engine(url)
    future = datetime.now(UTC) + timedelta(days=10)
    rejected_at = datetime.now(UTC) - timedelta(days=1)
    with engine.begin() as c:
        c.execute(text("INSERT INTO users (id, email, role) VALUES ('00000000-0000-0000-0000-000000000001', "
                       "'a@example.org', 'user')"))  # fmt: skip
        c.execute(text(
            "INSERT INTO analyses (id, user_id, status, image_bucket, image_key, location, location_source, "
            "risk_level, risk_score, total_detections, high_risk_count, medium_risk_count, unique_types) VALUES "
            "('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000001', 'completed', 'b', "
            "'k', ST_SetSRID(ST_MakePoint(-65.2, -26.8), 4326), 'MANUAL', 'ALTO', 0.97, 4, 4, 0, 1)"))  # fmt: skip
        for index in range(4):
            status = "validated_negative" if index < 3 else "pending"
            c.execute(text(
                "INSERT INTO detections (id, analysis_id, class_id, class_name, breeding_site_type, confidence, "
                "risk_level, polygon, bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, validation_status, "
                "validated_at, persistence_type, validity_days, expires_at, location) VALUES (gen_random_uuid(), "
                "'00000000-0000-0000-0000-00000000000a', 0, 'Basura', 'Basura', 0.9, 'ALTO', '[]', 0, 0, 1, 1, "
                "CAST(:s AS validation_status), :v, 'SHORT_TERM', 7, :e, ST_SetSRID(ST_MakePoint(-65.2, -26.8), 4326))"
            ), {"s": status, "v": rejected_at if index < 3 else None, "e": future})  # fmt: skip
    migrate.upgrade(url)
    with engine.connect() as c:
        analysis = c.execute(text(
            "SELECT risk_level::text, risk_score, assessed_detections, high_risk_count, model_risk_level::text, "
            "model_risk_score, model_high_risk_count FROM analyses"
        )).one()  # fmt: skip
        detections = c.execute(text(
            "SELECT validation_status::text, expires_at, unrejected_expires_at FROM detections ORDER BY 1"
        )).all()  # fmt: skip
        public = c.execute(text("SELECT n FROM map_public_points")).scalars().all()
    engine.dispose()
    # One Basura left: high 1 -> rule 5, MEDIO 0.5 + 0.1 = 0.6; the model's ALTO 0.97 kept
    assert tuple(analysis) == ("MEDIO", 0.6, 1, 1, "ALTO", 0.97, 4)
    pending = [d for d in detections if d[0] == "pending"]
    rejected = [d for d in detections if d[0] == "validated_negative"]
    assert [(d[1], d[2]) for d in pending] == [(future, None)]
    assert all(d[1] == rejected_at and d[2] == future for d in rejected) and len(rejected) == 3
    assert public == [1]  # the public map counts the one detection left


def test_two_experts_judging_one_photo_at_once_leave_the_risk_of_both_verdicts(upload_env):
    """The analysis row is locked before its risk is recomputed: a second verdict's recomputation waits for the
    first transaction and then reads its committed rejection. (Without the lock it would read the detections
    before the first commit and overwrite the analysis with a risk that misses one rejection.)"""
    import os
    import threading
    import time

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from sentrix.db.engine import build_engine
    from sentrix.db.models import Detection
    from sentrix.repositories.verdicts import refresh_current_risk

    owner = make_user()
    analysis = seed_analysis(owner, classes=(BASURA, CHARCOS, HUECOS), risk_level="ALTO")
    ids = detection_ids(analysis)
    engine = build_engine(os.environ["DATABASE_URL"], pool_size=3)

    def reject(session: Session, detection_id: str) -> None:
        session.execute(update(Detection).where(Detection.id == uuid.UUID(detection_id))
                        .values(validation_status="validated_negative"))  # fmt: skip
        refresh_current_risk(session, analysis)

    first = Session(engine)
    second_done = threading.Event()
    failures: list[BaseException] = []

    def second_expert() -> None:
        try:
            with Session(engine) as second:
                reject(second, ids[CHARCOS][0])
                second.commit()
            second_done.set()
        except BaseException as exc:  # surfaced below: a silent thread would look like a missing wait
            failures.append(exc)

    worker = threading.Thread(target=second_expert)
    try:
        reject(first, ids[BASURA][0])  # holds the analysis until it commits
        worker.start()
        waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")  # someone waits for a lock
        deadline = time.monotonic() + 60
        with engine.connect() as probe:
            while probe.execute(waiting).scalar() < 1:  # the second transaction waits for the first
                assert not failures, failures
                assert worker.is_alive() and time.monotonic() < deadline, "the second verdict should wait"
                time.sleep(0.05)
        assert not second_done.is_set()
        first.commit()
    finally:
        first.close()  # never leave the analysis locked for the tests after this one
        worker.join(timeout=60)
        engine.dispose()
    assert not failures and second_done.is_set(), failures
    # Only Huecos is left: medium 1 -> rule 6, BAJO 0.25 + 0.02 x 1 = 0.27
    assert current(detail(owner, analysis)) == ("BAJO", "BAJO", 0.27, 1, 0)
