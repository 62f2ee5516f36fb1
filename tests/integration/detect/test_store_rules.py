"""SqlAnalysisStore's rules on real PostgreSQL, one by one (dal/store.py's docstrings, docs/detect.md).

What a claim takes and answers, what the ETag and size describe, how duplicates are found, what the writes
after the claim store (reasons cut at 1,000 characters, model names at 200, busy claims counted). Expected
values are written out here, never read back from the store's own answers.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sentrix.db.engine import session_scope
from sentrix.domain.classes import BreedingSiteType, PersistenceType, RiskLevel
from sentrix.domain.location import NO_LOCATION
from sentrix.domain.risk import RiskAssessment
from sentrix.domain.status import AnalysisStatus
from sentrix_detect.dal.store import SqlAnalysisStore
from sentrix_detect.logic.model import AnalysisResult, ClaimedAnalysis, ClaimOutcome, DetectionRecord, ImageFacts
from tests.integration.detect.helpers import analysis_row, sql
from tests.support.seed import make_analysis, make_user

pytestmark = pytest.mark.integration

BUCKET = "rules-bucket"
TTL_S = 120
WHEN = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(clean_db) -> SqlAnalysisStore:
    return SqlAnalysisStore()


def add(status: AnalysisStatus | str = AnalysisStatus.QUEUED, *, user=None, settings=None, **fields) -> tuple:
    """An analysis row in BUCKET (and its user, with `settings` when given): (id, image key, user id)."""
    from sentrix.db.models import UserSettings

    with session_scope() as session:
        if user is None:
            user = make_user(session).id
            if settings is not None:
                session.add(UserSettings(user_id=user, settings=settings))
        row = make_analysis(session, user=user, status=status, **fields)
        row.image_bucket = BUCKET
        session.flush()
        return row.id, row.image_key, user


def claim(store, key: str, **kwargs):
    options = {"etag": None, "size": None, "claim_ttl_s": TTL_S, "allow_gave_up": False} | kwargs
    return store.claim(BUCKET, key, **options)


def facts(sha: str, perceptual_hash: int = 0) -> ImageFacts:
    return ImageFacts("image/jpeg", "JPEG", 1000, 320, 240, sha, perceptual_hash, None, None, None, NO_LOCATION)


def result(model_name: str = "model") -> AnalysisResult:
    nothing = RiskAssessment(RiskLevel.MINIMO, 0.0, 0, 0, 0, 0, 0.0, {}, ())
    return AnalysisResult(
        facts=facts("c" * 64),
        detections=(),
        risk=nothing,
        processed_image_key="processed/x.jpg",
        standardized_filename="x.jpg",
        model_name=model_name,
        yolo_time_ms=1,
        pipeline_time_ms=2,
        completed_at=WHEN,
    )


# --- claim -----------------------------------------------------------------------------------------------------


def test_a_claim_takes_a_queued_analysis_and_answers_what_the_pipeline_needs(store):
    analysis_id, key, user = add(
        confidence_threshold=0.7,
        include_gps=False,
        manual_latitude=-26.8,
        manual_longitude=-65.2,
        original_filename="foto.jpg",
    )

    taken = claim(store, key)

    assert taken.outcome is ClaimOutcome.CLAIMED
    a = taken.analysis
    assert (a.id, a.user_id, a.bucket, a.key, a.attempt) == (analysis_id, user, BUCKET, key, 1)
    assert (a.confidence_threshold, a.include_gps, a.manual_latitude, a.manual_longitude) == (0.7, False, -26.8, -65.2)
    assert a.original_filename == "foto.jpg"
    # No settings row: Spanish and no zone; not secured yet: nothing received is known
    assert (a.language, a.time_zone, a.received_sha256, a.received_size) == ("es", None, None, None)
    row = analysis_row(analysis_id)
    assert (row.status, row.attempts, row.failure_reason) == ("processing", 1, None)
    assert row.processing_started_at is not None


def test_a_claim_reads_the_uploaders_language_and_time_zone(store):
    _id, key, _user = add(settings={"language": "pt", "timezone": "America/Sao_Paulo"})

    a = claim(store, key).analysis

    assert (a.language, a.time_zone) == ("pt", "America/Sao_Paulo")


def test_a_pending_upload_is_claimable_too_and_its_etag_and_size_are_recorded(store):
    analysis_id, key, _user = add(AnalysisStatus.PENDING_UPLOAD)

    taken = claim(store, key, etag="abc123", size=4321)

    assert taken.outcome is ClaimOutcome.CLAIMED
    row = analysis_row(analysis_id)
    assert (row.image_etag, row.size_bytes) == ("abc123", 4321)


def test_once_secured_a_claim_keeps_the_etag_and_size_of_what_was_received(store):
    analysis_id, key, _user = add()
    first = claim(store, key, etag="first", size=1000)
    original = f"originals/{key.split('/', 1)[1]}"
    assert store.secure(first.analysis, original, sha256="a" * 64, size=1000) is True
    assert store.requeue(first.analysis, "again") is True

    again = claim(store, key, etag="second", size=2000, original_key=original)

    a = again.analysis
    assert (a.key, a.attempt, a.received_sha256, a.received_size) == (original, 2, "a" * 64, 1000)
    row = analysis_row(analysis_id)
    assert (row.image_key, row.image_etag, row.size_bytes, row.sha256) == (original, "first", 1000, "a" * 64)


def test_a_claim_with_size_zero_records_zero(store):
    analysis_id, key, _user = add(AnalysisStatus.PENDING_UPLOAD)

    claim(store, key, size=0)

    assert analysis_row(analysis_id).size_bytes == 0


def test_a_processing_analysis_is_busy_until_its_claim_is_stale(store):
    analysis_id, key, _user = add()
    claim(store, key)

    busy = claim(store, key)
    assert (busy.outcome, busy.status, busy.image_key, busy.gave_up) == (ClaimOutcome.BUSY, "processing", key, False)

    sql(
        "UPDATE analyses SET processing_started_at = now() - make_interval(secs => :age) WHERE id = :id",
        age=TTL_S + 30,
        id=analysis_id,
    )
    taken = claim(store, key)
    assert (taken.outcome, taken.analysis.attempt) == (ClaimOutcome.CLAIMED, 2)


def test_a_claim_inside_the_ttl_is_not_stale(store):
    analysis_id, key, _user = add()
    claim(store, key)
    sql(
        "UPDATE analyses SET processing_started_at = now() - make_interval(secs => :age) WHERE id = :id",
        age=TTL_S - 30,
        id=analysis_id,
    )

    assert claim(store, key).outcome is ClaimOutcome.BUSY


def test_a_processing_row_without_a_start_is_claimable(store):
    analysis_id, key, _user = add(AnalysisStatus.PROCESSING)
    sql("UPDATE analyses SET processing_started_at = NULL WHERE id = :id", id=analysis_id)

    assert claim(store, key).outcome is ClaimOutcome.CLAIMED


@pytest.mark.parametrize("status", ["completed", "duplicate", "failed"])
def test_a_finished_analysis_is_not_claimed(store, status):
    analysis_id, key, _user = add(status, failure_reason="bad file" if status == "failed" else None)

    found = claim(store, key)

    assert (found.outcome, found.status, found.image_key, found.gave_up) == (
        ClaimOutcome.FINISHED,
        status,
        key,
        False,
    )
    assert analysis_row(analysis_id).attempts == 0


def test_a_give_up_is_finished_unless_the_message_was_redriven(store):
    analysis_id, key, _user = add("failed", failure_reason="gave up after 5 attempts: YOLO down")

    found = claim(store, key)
    assert (found.outcome, found.gave_up) == (ClaimOutcome.FINISHED, True)

    revived = claim(store, key, allow_gave_up=True)
    assert revived.outcome is ClaimOutcome.CLAIMED
    row = analysis_row(analysis_id)
    assert (row.status, row.failure_reason) == ("processing", None)


def test_a_redriven_message_does_not_revive_a_permanent_failure(store):
    _id, key, _user = add("failed", failure_reason="The file is not a supported image")

    found = claim(store, key, allow_gave_up=True)

    assert (found.outcome, found.gave_up) == (ClaimOutcome.FINISHED, False)


def test_an_unknown_object_or_another_bucket_is_unknown(store):
    _id, key, _user = add()

    assert claim(store, f"incoming/{uuid.uuid4()}/{uuid.uuid4()}/x.jpg").outcome is ClaimOutcome.UNKNOWN
    assert store.claim("other-bucket", key, etag=None, size=None, claim_ttl_s=TTL_S, allow_gave_up=False).outcome is (
        ClaimOutcome.UNKNOWN
    )


# --- writes after the claim -------------------------------------------------------------------------------------


def test_a_failure_reason_is_cut_at_1000_characters(store):
    analysis_id, key, _user = add()
    a = claim(store, key).analysis

    assert store.fail(a, "x" * 1500) is True

    row = analysis_row(analysis_id)
    assert (row.status, len(row.failure_reason)) == ("failed", 1000)


def test_requeue_keeps_why_and_postpone_counts_the_busy_claims(store):
    analysis_id, key, _user = add()
    assert store.requeue(claim(store, key).analysis, "YOLO down") is True
    row = analysis_row(analysis_id)
    assert (row.status, row.failure_reason, row.backpressure_delays) == ("queued", "YOLO down", 0)

    assert store.postpone(claim(store, key).analysis, "busy") is True
    assert store.postpone(claim(store, key).analysis, "busy again") is True

    row = analysis_row(analysis_id)
    assert (row.status, row.failure_reason, row.attempts, row.backpressure_delays) == ("queued", "busy again", 3, 2)
    assert claim(store, key).analysis.backpressure_delays == 2


def test_complete_stores_the_result_and_cuts_the_model_name_at_200_characters(store):
    analysis_id, key, _user = add()
    a = claim(store, key).analysis

    assert store.complete(a, result("m" * 250)) is True

    row = analysis_row(analysis_id)
    assert (row.status, row.model_name, row.failure_reason) == ("completed", "m" * 200, None)
    assert (row.processed_image_key, row.standardized_filename, row.yolo_time_ms, row.pipeline_time_ms) == (
        "processed/x.jpg",
        "x.jpg",
        1,
        2,
    )
    assert (row.risk_level, row.model_risk_level, row.total_detections) == ("MINIMO", "MINIMO", 0)
    assert row.completed_at == WHEN


def detection(site_type, risk: RiskLevel, confidence: float) -> DetectionRecord:
    return DetectionRecord(
        class_id=0,
        class_name=str(site_type),
        breeding_site_type=site_type,
        confidence=confidence,
        risk_level=risk,
        polygon=[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]],
        bbox=(0.0, 0.0, 10.0, 10.0),
        mask_area=100.0,
        shape_wkt="MULTIPOLYGON(((0 0,10 0,10 10,0 10,0 0)))",
        mask_area_model_px=None,
        persistence_type=PersistenceType.SHORT_TERM,
        is_weather_dependent=True,
        validity_days=7,
        expires_at=WHEN + timedelta(days=7),
    )


def test_complete_keeps_the_models_assessment_apart_and_clears_what_an_earlier_attempt_left(store):
    """docs/detect.md (the final transaction): the current assessment and the model's own copy (for audit, before
    any verdict) are both written; a reason left by an earlier attempt and a duplicate link from an earlier run are
    cleared; `assessed_detections` counts the stored detections."""
    earlier, _k, user = add("completed")
    analysis_id, key, _u = add(user=user, failure_reason="YOLO timed out (attempt 1)", duplicate_of=earlier)
    a = claim(store, key).analysis
    risk = RiskAssessment(RiskLevel.ALTO, 0.82, 3, 2, 1, 2, 0.67, {"Huecos": 2, "Basura": 1}, ("x",))
    found = (
        detection(BreedingSiteType.HUECOS, RiskLevel.ALTO, 0.9),
        detection(BreedingSiteType.HUECOS, RiskLevel.ALTO, 0.8),
        detection(BreedingSiteType.BASURA, RiskLevel.MEDIO, 0.7),
    )
    done = dataclasses.replace(result(), detections=found, risk=risk)

    assert store.complete(a, done) is True

    row = analysis_row(analysis_id)
    assert (row.failure_reason, row.duplicate_of) == (None, None)
    assert (row.total_detections, row.assessed_detections) == (3, 3)
    assert (row.risk_level, row.risk_score, row.high_risk_count, row.medium_risk_count, row.unique_types) == (
        "ALTO",
        0.82,
        2,
        1,
        2,
    )
    assert (
        row.model_risk_level,
        row.model_risk_score,
        row.model_high_risk_count,
        row.model_medium_risk_count,
        row.model_unique_types,
    ) == ("ALTO", 0.82, 2, 1, 2)
    assert sql("SELECT count(*) FROM detections WHERE analysis_id = :id", id=analysis_id)[0][0] == 3


def test_mark_duplicate_names_the_original(store):
    analysis_id, key, user = add()
    original, _k, _u = add("completed", user=user, sha256="d" * 64)
    a = claim(store, key).analysis

    assert store.mark_duplicate(a, facts("d" * 64), original, 7) is True

    row = analysis_row(analysis_id)
    assert (row.status, row.duplicate_of, row.pipeline_time_ms, row.sha256) == ("duplicate", original, 7, "d" * 64)
    assert row.completed_at is not None


# --- duplicates -------------------------------------------------------------------------------------------------


def claimed_for(user: uuid.UUID) -> ClaimedAnalysis:
    return ClaimedAnalysis(uuid.uuid4(), user, BUCKET, "k", 1, 0.5, True, None, None, None, WHEN)


def test_a_duplicate_is_the_users_earliest_completed_analysis_of_the_same_bytes(store):
    _a, _k, user = add("completed", sha256="s" * 64, created_at=WHEN)
    earliest, _k, _u = add("completed", user=user, sha256="s" * 64, created_at=WHEN - timedelta(days=1))
    add("failed", user=user, sha256="s" * 64, created_at=WHEN - timedelta(days=2))  # not completed
    add("completed", sha256="s" * 64, created_at=WHEN - timedelta(days=3))  # another user's

    assert store.find_duplicate(claimed_for(user), "s" * 64, None, 6) == earliest
    assert store.find_duplicate(claimed_for(user), "t" * 64, None, 6) is None


def test_an_analysis_is_not_its_own_duplicate(store):
    analysis_id, _k, user = add("completed", sha256="s" * 64)
    own = ClaimedAnalysis(analysis_id, user, BUCKET, "k", 1, 0.5, True, None, None, None, WHEN)

    assert store.find_duplicate(own, "s" * 64, None, 6) is None


def test_a_duplicate_by_dhash_is_within_the_distance_and_the_same_bytes_come_first(store):
    # 0b111 differs from 0 in 3 bits, 0b1111111 in 7
    near, _k, user = add("completed", sha256="n" * 64, perceptual_hash=0b111, created_at=WHEN - timedelta(days=2))
    add("completed", user=user, sha256="f" * 64, perceptual_hash=0b1111111, created_at=WHEN - timedelta(days=3))
    far = (1 << 40) - 1  # 40 bits from 0
    same, _k, _u = add("completed", user=user, sha256="s" * 64, perceptual_hash=far, created_at=WHEN)

    assert store.find_duplicate(claimed_for(user), "q" * 64, 0, 3) == near
    assert store.find_duplicate(claimed_for(user), "q" * 64, 0, 2) is None
    assert store.find_duplicate(claimed_for(user), "q" * 64, None, 64) is None  # no hash: bytes only
    assert store.find_duplicate(claimed_for(user), "s" * 64, 0, 3) == same  # the same bytes before a near one


def test_an_analysis_without_a_user_has_no_duplicates(store):
    add("completed", sha256="s" * 64)

    assert store.find_duplicate(claimed_for(None), "s" * 64, None, 6) is None


def test_a_finished_analysis_takes_no_more_writes_even_from_the_attempt_that_finished_it(store):
    """The `processing` guard: the fence by `attempts` alone would let the same attempt write twice."""
    analysis_id, key, user = add()
    original, _k, _u = add("completed", user=user, sha256="d" * 64)
    a = claim(store, key).analysis
    assert store.complete(a, result("first")) is True

    assert store.fail(a, "late failure") is False
    assert store.requeue(a, "late retry") is False
    assert store.postpone(a, "late busy") is False
    assert store.mark_duplicate(a, facts("d" * 64), original, 7) is False
    assert store.secure(a, "originals/late.jpg", sha256="e" * 64, size=9) is False
    assert store.complete(a, result("second")) is False

    row = analysis_row(analysis_id)
    assert (row.status, row.model_name, row.failure_reason, row.backpressure_delays) == ("completed", "first", None, 0)
    assert (row.image_key, row.duplicate_of) == (key, None)


def test_an_analysis_whose_user_was_deleted_starts_sites_with_no_reporter_and_counts_for_nobody(store):
    """A user deleted while their photo was processed leaves the analysis with no user (ON DELETE SET NULL): the
    sites its detections start have one report and no reporter, as a recount from the members says, and the public
    map's people per cell (k-anonymity, migration 0022) do not count it."""
    from sentrix.domain.location import GeoPoint, LocationSource, ResolvedLocation

    analysis_id, key, _user = add()
    a = claim(store, key).analysis
    sql("UPDATE analyses SET user_id = NULL WHERE id = :a", a=analysis_id)
    a = dataclasses.replace(a, user_id=None)
    here = ResolvedLocation(GeoPoint(-26.8, -65.2), LocationSource.EXIF_GPS)
    located = dataclasses.replace(result(), facts=dataclasses.replace(facts("d" * 64), location=here))
    found = (
        detection(BreedingSiteType.BASURA, RiskLevel.ALTO, 0.9),
        detection(BreedingSiteType.HUECOS, RiskLevel.MEDIO, 0.8),
    )

    assert store.complete(a, dataclasses.replace(located, detections=found)) is True

    rows = sql("SELECT family::text, report_count, detection_count, reporter_count FROM sites ORDER BY family")
    assert [tuple(r) for r in rows] == [("refuse", 1, 1, 0), ("water", 1, 1, 0)]
    recount = sql("SELECT count(*) FROM sites_refresh(ARRAY(SELECT id FROM sites)) WHERE members = 1")[0][0]
    assert recount == 2
    after = sql("SELECT family::text, report_count, detection_count, reporter_count FROM sites ORDER BY family")
    assert [tuple(r) for r in after] == [tuple(r) for r in rows]
    assert sql("SELECT count(*) FROM map_public_people")[0][0] == 0
    assert sql("SELECT sum(n) FROM map_public_points")[0][0] == 2  # still on the map, for nobody
