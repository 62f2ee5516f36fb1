"""Issue 8 at CI size: 150 uploads through the whole local stack under the fault mix, PostgreSQL stopped for
30 s mid-run, and the ledger balanced at the end. Full size (1,000 uploads): `python -m bench.load`."""

from __future__ import annotations

import pytest

from bench.load import HOSTILE_KINDS, LoadConfig, markdown, run_load, write_results

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(540)]

CI_UPLOADS = 150


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("load")
    outcome = run_load(LoadConfig(uploads=CI_UPLOADS, state_dir=state_dir, drain_timeout_s=300))
    write_results(outcome, state_dir / "results.json", state_dir / "results.md", state_dir / "jobs.json")
    print(markdown(outcome))
    return outcome


def test_the_workload_has_the_mix_the_issue_asks_for(results):
    workload = results["workload"]
    assert workload["uploads"] == CI_UPLOADS
    assert workload["duplicate_share"] >= 0.10
    assert workload["hostile_share"] >= 0.05
    assert set(workload["by_kind"]) == {"photo", "duplicate", *HOSTILE_KINDS}
    assert min(workload["by_flow"].values()) >= CI_UPLOADS // 4  # presigned and multipart both well used


def test_the_faults_really_happened(results):
    faults, ledger = results["faults"], results["ledger"]
    assert faults["yolo_fault_share"] >= 0.20
    assert {"error", "timeout", "rate_limit"} <= set(faults["yolo_injected"])
    assert ledger["redeliveries"]["share"] >= 0.10
    assert ledger["redeliveries"]["done"] >= ledger["redeliveries"]["messages"]
    assert faults["database_outage"]["measured_down_s"] >= 30
    # The clients kept uploading while the database was down, and were told to come back later.
    assert ledger["api"]["status_503"] > 0


def test_the_ledger_balances(results):
    ledger = results["ledger"]
    assert ledger["problems"] == []
    assert ledger["balanced"]
    assert (ledger["lost"], ledger["duplicated_rows"], ledger["duplicated_detections"], ledger["wrong_state"]) == (
        0,
        0,
        0,
        0,
    )
    assert ledger["accepted"] + ledger["refused"] == CI_UPLOADS
    assert ledger["analyses"] == ledger["accepted"]
    assert ledger["final_states"].get("duplicate", 0) == ledger["expected_duplicates"]
    assert ledger["client_gave_up"] == 0
    assert ledger["api"]["unexpected_5xx"] == 0


def test_every_kind_ends_where_it_must(results):
    by_kind = results["ledger"]["final_states_by_kind"]
    assert set(by_kind["photo"]) <= {"completed", "duplicate"}
    assert set(by_kind["hostile_name"]) == {"completed"}
    for kind in ("truncated", "bomb"):
        assert set(by_kind[kind]) == {"failed"}
    refused = results["ledger"]["refused_by_status"]
    assert set(refused) <= {"not_image/multipart: 422", "empty/multipart: 422"}
