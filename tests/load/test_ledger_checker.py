"""The load run's ledger checker (bench/ledger.py) shown failing: a small balanced ledger on the test database,
then one breakage at a time, each of which must unbalance it with the problem named.

A checker that cannot fail would let tests/load/test_ledger.py pass whatever the run did.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.ledger import check_ledger
from bench.load import Job

pytestmark = pytest.mark.integration

CORRUPT = "The file is not a valid image: it is corrupt or truncated"


@dataclass
class Scenario:
    """Jobs, rows and logs of a tiny run: one truncated upload that ended failed, one refused non-image."""

    tmp: Path
    jobs: list[Job] = field(default_factory=list)
    dlq: list[dict] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    user_id: uuid.UUID | None = None

    def analysis(self, job: Job | None, *, status: str = "failed", reason: str | None = CORRUPT, **columns) -> str:
        from sentrix.db.engine import session_scope
        from tests.support.seed import make_analysis

        with session_scope() as session:
            row = make_analysis(
                session,
                user=self.user_id,
                status=status,
                failure_reason=reason,
                idempotency_key=columns.pop("idempotency_key", job.idempotency_key if job else uuid.uuid4().hex),
                **columns,
            )
            return str(row.id)

    def check(self) -> dict[str, Any]:
        from sentrix.db.engine import get_engine

        log = self.tmp / "stack.log"
        log.write_text("\n".join(self.log_lines))
        return check_ledger(
            jobs=self.jobs,
            engine=get_engine(),
            stack_log=log,
            yolo_stats={"outcomes": {}},
            dlq=self.dlq,
            outage={},
            redeliver_fraction=0.0,
        )


def job(index: int, kind: str, data: bytes = b"x") -> Job:
    return Job(index, 0, kind, "multipart", f"upload-{index}.jpg", "image/jpeg", data)


@pytest.fixture
def scenario(clean_db, tmp_path) -> Scenario:
    from sentrix.db.engine import session_scope
    from tests.support.seed import make_user

    with session_scope() as session:
        user_id = make_user(session, email="load-user@example.org").id
    world = Scenario(tmp_path, user_id=user_id)
    truncated, not_image = job(0, "truncated"), job(1, "not_image")
    truncated.outcome, truncated.attempts = (
        "accepted",
        [{"status": 201, "code": None, "step": "post", "t": time.time()}],
    )
    truncated.analysis_id = world.analysis(truncated)
    not_image.outcome, not_image.refused_status, not_image.refused_code = "refused", 422, "invalid_image"
    not_image.attempts = [{"status": 422, "code": "invalid_image", "step": "post", "t": time.time()}]
    world.jobs = [truncated, not_image]
    return world


def test_the_untouched_scenario_balances(scenario):
    ledger = scenario.check()
    assert ledger["problems"] == []
    assert ledger["balanced"] is True
    assert (ledger["accepted"], ledger["refused"], ledger["analyses"]) == (1, 1, 1)


def _missing_analysis(s: Scenario) -> None:
    lost = job(2, "truncated")
    lost.outcome, lost.analysis_id = "accepted", str(uuid.uuid4())
    s.jobs.append(lost)


def _stuck(s: Scenario) -> None:
    from tests.integration.detect.helpers import sql

    sql("UPDATE analyses SET status = 'processing' WHERE id = :id", id=s.jobs[0].analysis_id)


def _orphan(s: Scenario) -> None:
    s.analysis(None)


def _gave_up_instead_of_failed(s: Scenario) -> None:
    from tests.integration.detect.helpers import sql

    sql(
        "UPDATE analyses SET failure_reason = 'gave up after 5 attempts: corrupt' WHERE id = :id",
        id=s.jobs[0].analysis_id,
    )


def _refused_with_a_500(s: Scenario) -> None:
    s.jobs[1].refused_status, s.jobs[1].refused_code = 500, "internal_error"
    s.jobs[1].attempts = [{"status": 500, "code": "internal_error", "step": "post", "t": time.time()}]


def _detections_twice_on_a_failed_analysis(s: Scenario) -> None:
    from tests.integration.detect.helpers import sql

    for _ in range(2):
        sql(
            "INSERT INTO detections (id, analysis_id, class_id, class_name, confidence, risk_level, polygon, "
            "bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, persistence_type, is_weather_dependent, "
            "validity_days, expires_at) VALUES (gen_random_uuid(), :a, 0, 'Basura', 0.9, 'ALTO', "
            "CAST('[[0,0],[1,0],[1,1]]' AS jsonb), 0, 0, 1, 1, 'SHORT_TERM', false, 7, now())",
            a=s.jobs[0].analysis_id,
        )


def _completion_logged_for_nothing(s: Scenario) -> None:
    s.log_lines.append('{"level":"INFO","message":"analysis completed","analysis_id":"x"}')


def _dlq_message_of_nobody(s: Scenario) -> None:
    s.dlq.append(
        {
            "analysis_id": str(uuid.uuid4()),
            "message_id": "m-1",
            "key": "incoming/x",
            "round": 1,
            "status_then": "queued",
        }
    )


def _refused_upload_left_a_row(s: Scenario) -> None:
    s.analysis(None, idempotency_key=s.jobs[1].idempotency_key)


def _client_gave_up(s: Scenario) -> None:
    gone = job(3, "truncated")
    gone.outcome, gone.attempts = "gave_up", [{"status": None, "error": "ConnectError", "step": "post", "t": 0.0}]
    s.jobs.append(gone)


BREAKAGES: list[tuple[Callable[[Scenario], None], str, dict[str, int]]] = [
    (_missing_analysis, "does not exist", {"lost": 1}),
    (_stuck, "stuck in processing", {"lost": 1}),
    (_orphan, "belongs to no accepted upload", {"duplicated_rows": 1}),
    (_gave_up_instead_of_failed, "truncated upload 0 (multipart) ended failed: 'gave up", {"wrong_state": 1}),
    (_refused_with_a_500, "refused with 500 internal_error", {"wrong_state": 1}),
    (_detections_twice_on_a_failed_analysis, "detection row(s) stored twice", {"duplicated_detections": 1}),
    (_completion_logged_for_nothing, "1 completions logged for 0 completed analyses", {}),
    (_dlq_message_of_nobody, "DLQ message m-1 for incoming/x belongs to no accepted upload", {}),
    (_refused_upload_left_a_row, "1 refused upload(s) left an analysis behind", {}),
    (_client_gave_up, "upload 3 (truncated) never went through", {"client_gave_up": 1}),
]


@pytest.mark.parametrize(("breakage", "problem", "counts"), BREAKAGES, ids=[b[0].__name__[1:] for b in BREAKAGES])
def test_each_breakage_unbalances_the_ledger_and_is_named(scenario, breakage, problem, counts):
    breakage(scenario)

    ledger = scenario.check()

    assert ledger["balanced"] is False
    assert any(problem in line for line in ledger["problems"]), ledger["problems"]
    assert {name: ledger[name] for name in counts} == counts


def test_the_log_reader_counts_from_the_stack_output_and_the_function_logs(tmp_path):
    """The ledger reads the poller's redeliveries from the stack's output and the functions' records from
    logs/<Function>.log beside it (sentrix_local.logs), each completion once."""
    import json

    from bench.ledger import read_log
    from sentrix_local.logs import stack_line

    # Given the stack's output (readable lines) and the detect function's JSON log
    output = tmp_path / "stack.out"
    output.write_text(
        "\n".join(
            [
                stack_line("poller", "redelivery m-1 1/2"),
                stack_line("poller", "redelivery m-1 2/2"),
                stack_line("poller", "redelivery m-2 1/2"),
                stack_line("DetectFunction", "analysis completed") + "  analysis_id=a-1 attempt=1",
            ]
        )
    )
    (tmp_path / "logs").mkdir()
    records = [
        {"level": "INFO", "message": "analysis completed", "analysis_id": "a-1"},
        {"level": "INFO", "message": "analysis completed", "analysis_id": "a-2"},
        {"level": "WARNING", "message": "could not record the analysis state", "error": "database unavailable"},
    ]
    (tmp_path / "logs" / "DetectFunction.log").write_text(
        "\n".join(json.dumps(r, separators=(",", ":")) for r in records)
    )
    (tmp_path / "logs" / "moto.log").write_text('{"level":"INFO","message":"analysis completed"}')

    # When the ledger reads them
    completed, redelivered, db_retries = read_log(output)

    # Then completions come from the function's log only, redeliveries per message from the output
    assert sum(completed.values()) == 2
    assert dict(redelivered) == {"m-1": 2, "m-2": 1}
    assert [r["message"] for r in db_retries] == ["could not record the analysis state"]
