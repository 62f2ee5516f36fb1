"""A worker whose claim was taken over cannot overwrite the newer attempt (docs/detect.md, "fenced by attempts").

The same story runs against the in-memory FakeStore and the real SqlAnalysisStore on PostGIS, side by side:
worker A claims, its claim goes stale (it ran past the claim TTL) and worker B claims again (`attempts` 2);
A then finishes — complete, fail, requeue, mark duplicate or secure — while B is still processing. None of A's
writes may land; B's result is the one stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sentrix.domain.classes import RiskLevel
from sentrix.domain.location import NO_LOCATION
from sentrix.domain.risk import RiskAssessment
from sentrix_detect.logic.model import AnalysisResult, ClaimedAnalysis, ClaimOutcome, ImageFacts
from tests.support.detect import FakeRow, FakeStore, upload_key

pytestmark = pytest.mark.integration

BUCKET = "takeover-bucket"
CLAIM_TTL_S = 120  # docs/detect.md: longer than the function's timeout
WHEN = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def facts(sha: str) -> ImageFacts:
    return ImageFacts("image/jpeg", "JPEG", 1000, 320, 240, sha, 0, None, None, None, NO_LOCATION)


def result(worker: str) -> AnalysisResult:
    """A result that says which worker wrote it (in `model_name` and `processed_image_key`)."""
    nothing = RiskAssessment(RiskLevel.MINIMO, 0.0, 0, 0, 0, 0, 0.0, {}, ())
    return AnalysisResult(
        facts=facts(worker * 64),
        detections=(),
        risk=nothing,
        processed_image_key=f"processed/{worker}.jpg",
        standardized_filename=f"{worker}.jpg",
        model_name=f"model-of-{worker}",
        yolo_time_ms=1,
        pipeline_time_ms=2,
        completed_at=WHEN,
    )


class FakeAdapter:
    """The FakeStore (tests/support/detect.py), which re-implements the guard in Python."""

    def __init__(self) -> None:
        self.store = FakeStore()

    def add_queued(self) -> tuple[uuid.UUID, str]:
        user, analysis = uuid.uuid4(), uuid.uuid4()
        key = upload_key(user, analysis)
        self.store.add(FakeRow(analysis, user, BUCKET, key, status="queued"))
        return analysis, key

    def let_the_claim_go_stale(self, analysis_id: uuid.UUID) -> None:
        self.store.now += CLAIM_TTL_S + 1

    def state(self, analysis_id: uuid.UUID) -> dict[str, Any]:
        row = self.store.rows[analysis_id]
        return {
            "status": row.status,
            "attempts": row.attempts,
            "failure_reason": row.failure_reason,
            "model_name": row.result.model_name if row.result else None,
            "sha256": row.facts.sha256 if row.facts else None,
            "image_key": row.key,
        }


class SqlAdapter:
    """The real SqlAnalysisStore on the fixture database."""

    def __init__(self) -> None:
        from sentrix_detect.dal.store import SqlAnalysisStore

        self.store = SqlAnalysisStore()

    def add_queued(self) -> tuple[uuid.UUID, str]:
        from sentrix.db.engine import session_scope
        from sentrix.domain.status import AnalysisStatus
        from tests.support.seed import make_analysis, make_user

        with session_scope() as session:
            user = make_user(session)
            row = make_analysis(session, user=user, status=AnalysisStatus.QUEUED)
            row.image_bucket = BUCKET
            session.flush()
            return row.id, row.image_key

    def let_the_claim_go_stale(self, analysis_id: uuid.UUID) -> None:
        # What the passing of the claim TTL looks like in the row: the claim started longer ago than the TTL.
        from tests.integration.detect.helpers import sql

        sql(
            "UPDATE analyses SET processing_started_at = now() - make_interval(secs => :age) WHERE id = :id",
            age=CLAIM_TTL_S + 60,
            id=analysis_id,
        )

    def state(self, analysis_id: uuid.UUID) -> dict[str, Any]:
        from tests.integration.detect.helpers import analysis_row

        row = analysis_row(analysis_id)
        return {
            "status": row.status,
            "attempts": row.attempts,
            "failure_reason": row.failure_reason,
            "model_name": row.model_name if row.status == "completed" else None,
            "sha256": row.sha256,
            "image_key": row.image_key,
        }


@pytest.fixture(params=["fake", "sql"])
def adapter(request) -> Iterator[Any]:
    if request.param == "sql":
        request.getfixturevalue("clean_db")
        yield SqlAdapter()
    else:
        yield FakeAdapter()


def claim(adapter: Any, key: str) -> ClaimedAnalysis:
    taken = adapter.store.claim(BUCKET, key, etag=None, size=None, claim_ttl_s=CLAIM_TTL_S, allow_gave_up=False)
    assert taken.outcome is ClaimOutcome.CLAIMED, taken
    return taken.analysis


def taken_over(adapter: Any) -> tuple[uuid.UUID, ClaimedAnalysis, ClaimedAnalysis]:
    """Worker A claims; its claim goes stale; worker B claims the same analysis. Both are now 'processing'."""
    analysis_id, key = adapter.add_queued()
    worker_a = claim(adapter, key)
    adapter.let_the_claim_go_stale(analysis_id)
    worker_b = claim(adapter, key)
    assert (worker_a.attempt, worker_b.attempt) == (1, 2)
    assert adapter.state(analysis_id)["status"] == "processing"
    return analysis_id, worker_a, worker_b


STALE_WRITES: dict[str, Callable[[Any, ClaimedAnalysis], bool]] = {
    "complete": lambda store, a: store.complete(a, result("a")),
    "fail": lambda store, a: store.fail(a, "worker a gave up"),
    "requeue": lambda store, a: store.requeue(a, "worker a wants a retry"),
    "mark_duplicate": lambda store, a: store.mark_duplicate(a, facts("d" * 64), uuid.uuid4(), 5),
    "secure": lambda store, a: store.secure(a, "originals/by-worker-a.jpg", sha256="e" * 64, size=9),
}


@pytest.mark.parametrize("write", list(STALE_WRITES))
def test_the_superseded_worker_cannot_write_while_the_new_one_is_processing(adapter, write):
    analysis_id, worker_a, _worker_b = taken_over(adapter)
    before = adapter.state(analysis_id)

    assert STALE_WRITES[write](adapter.store, worker_a) is False

    assert adapter.state(analysis_id) == before
    assert before["status"] == "processing" and before["attempts"] == 2


def test_the_new_worker_completes_and_its_result_is_the_one_kept(adapter):
    analysis_id, worker_a, worker_b = taken_over(adapter)

    assert adapter.store.complete(worker_a, result("a")) is False
    assert adapter.store.fail(worker_a, "worker a gave up") is False
    assert adapter.store.complete(worker_b, result("b")) is True

    state = adapter.state(analysis_id)
    assert (state["status"], state["attempts"], state["failure_reason"]) == ("completed", 2, None)
    assert (state["model_name"], state["sha256"]) == ("model-of-b", "b" * 64)
    # And once B is done, A's late writes still change nothing.
    assert adapter.store.fail(worker_a, "worker a gave up") is False
    assert adapter.state(analysis_id) == state
