"""`make dev` as a developer lives with it: each function's logs are its own, and a restart keeps every image.

One analysis goes the whole way through the running stack — register, multipart upload (UploadFunction),
S3 → SQS → DetectFunction, GET of the analysis (UploadFunction), PDF (ReportFunction) — then the stack
stops and starts again on the same state dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.support.detect import TUCUMAN, photo
from tests.support.stack import RunningStack, local_stack, wait_for

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"
GET_REQUEST_IDS = [f"get-analysis-{i}" for i in range(200)]
# Each function's POWERTOOLS_SERVICE_NAME in infra/template.yaml.
SERVICES = {
    "AuthFunction": "auth",
    "AuthorizerFunction": "authorizer",
    "UploadFunction": "upload",
    "DetectFunction": "detect",
    "ReportFunction": "report",
}
IMAGE_MISSING = "The annotated image is not available."  # messages_en report.image_missing


def api(stack: RunningStack) -> str:
    return f"{stack.gateway}/api/v1"


def function_log(state_dir: Path, function: str) -> list[dict]:
    path = state_dir / "logs" / f"{function}.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@dataclass
class Journey:
    logs: dict[str, list[dict]]  # function -> its JSON records, after the first run
    output: list[str]  # the stack's output lines, after the first run
    first_pdf: bytes
    after_restart: dict  # what the second run served for the analysis made in the first
    restart_output: list[str]  # the second run's output lines
    reset_left: list[Path]  # state paths that still existed after `sentrix_local reset`
    reset_had: list[Path]  # the same paths before the reset


def first_run(stack: RunningStack) -> tuple[str, str, bytes]:
    """Register, upload, wait for detect, fetch the PDF; returns (token, analysis id, PDF)."""
    registered = httpx.post(
        f"{api(stack)}/register",
        json={"email": f"dev-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD},
        timeout=30,
    )
    assert registered.status_code in (200, 201), registered.text
    token = registered.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        f"{api(stack)}/analyses",
        headers={**headers, "X-Request-ID": "upload-request-1"},
        files={"file": ("patio.jpg", photo("JPEG", gps=TUCUMAN), "image/jpeg")},
        timeout=60,
    )
    assert created.status_code in (200, 201, 202), created.text
    body = created.json()
    analysis_id = body.get("analysis_id") or body["id"]
    request_ids = iter(GET_REQUEST_IDS)

    def finished():
        got = httpx.get(
            f"{api(stack)}/analyses/{analysis_id}",
            headers={**headers, "X-Request-ID": next(request_ids)},
            timeout=30,
        ).json()
        return got if got.get("status") in ("completed", "failed") else None

    analysis = wait_for(finished, 60, f"the analysis to complete (log: {stack.log})")
    assert analysis["status"] == "completed", analysis
    report = httpx.get(
        f"{api(stack)}/analyses/{analysis_id}/report",
        headers={**headers, "Accept-Language": "en", "X-Request-ID": "report-request-1"},
        timeout=60,
    )
    assert report.status_code == 200, report.text
    return token, analysis_id, report.content


def second_run(stack: RunningStack, token: str, analysis_id: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    analysis = httpx.get(f"{api(stack)}/analyses/{analysis_id}", headers=headers, timeout=30).json()
    images = {name: httpx.get(analysis[name], timeout=30) for name in ("image_url", "processed_image_url")}
    pdf = httpx.get(
        f"{api(stack)}/analyses/{analysis_id}/report", headers={**headers, "Accept-Language": "en"}, timeout=60
    )
    return {
        "images": {name: (r.status_code, r.content) for name, r in images.items()},
        "pdf": (pdf.status_code, pdf.content),
    }


@pytest.fixture(scope="module")
def journey(tmp_path_factory) -> Journey:
    """First run with one analysis, a restart on the same state and ports, then `sentrix_local reset`."""
    from sentrix_local.postgres import LocalPostgres

    state_dir = tmp_path_factory.mktemp("dev-stack")
    with local_stack(state_dir) as stack:
        token, analysis_id, first_pdf = first_run(stack)
    logs = {f: function_log(state_dir, f) for f in SERVICES if (state_dir / "logs" / f"{f}.log").exists()}
    output = stack.log.read_text().splitlines()
    with local_stack(state_dir, ports=stack.ports) as again:
        after_restart = second_run(again, token, analysis_id)
    restart_output = again.log.read_text().splitlines()[len(output) :]
    state_paths = [LocalPostgres(state_dir / "pgdata", stack.ports["PG"]).data_dir, state_dir / "moto" / "state.json"]
    had = [p for p in state_paths if p.exists()]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers/shared"), str(REPO_ROOT / "local")]),
        "SENTRIX_STATE_DIR": str(state_dir),
        **{f"SENTRIX_{name}_PORT": str(port) for name, port in stack.ports.items()},
    }
    subprocess.run([sys.executable, "-m", "sentrix_local", "reset"], check=True, env=env, capture_output=True)
    left = [p for p in [*state_paths, state_dir / "logs", state_dir / "run", state_dir / "auth"] if p.exists()]
    return Journey(logs, output, first_pdf, after_restart, restart_output, left, had)


def test_each_function_logs_under_its_own_service(journey):
    # The report function logs nothing on success; every other one logged (or printed metrics) on the way.
    assert set(journey.logs) >= {"AuthFunction", "AuthorizerFunction", "UploadFunction", "DetectFunction"}
    for function, records in journey.logs.items():
        logged = [r for r in records if "_aws" not in r]  # metrics documents carry no service key
        assert logged, f"{function} wrote no log record"
        assert {r["service"] for r in logged} == {SERVICES[function]}, function
        assert {r.get("function_name", function) for r in logged} == {function}, function
    assert "multipart upload stored" in {r.get("message") for r in journey.logs["UploadFunction"]}
    assert "analysis completed" in {r.get("message") for r in journey.logs["DetectFunction"]}


def test_no_key_crosses_from_one_function_into_another(journey):
    upload, detect = journey.logs["UploadFunction"], journey.logs["DetectFunction"]
    # detect's per-record keys never on an upload record; an HTTP request's id never on a detect record
    assert [r for r in upload if "attempt" in r] == []
    assert {r.get("correlation_id") for r in detect} & {*GET_REQUEST_IDS, "upload-request-1"} == set()
    stored = next(r for r in upload if r.get("message") == "multipart upload stored")
    assert stored["correlation_id"] == "upload-request-1"
    completed = next(r for r in detect if r.get("message") == "analysis completed")
    assert completed["attempt"] == 1


def test_the_stack_output_is_one_readable_line_per_record(journey):
    stored = [ln for ln in journey.output if "multipart upload stored" in ln]
    completed = [ln for ln in journey.output if " analysis completed" in ln]
    assert len(stored) == 1 and len(completed) == 1
    assert " UploadFunction " in stored[0] and " INFO " in stored[0] and "correlation_id=upload-request-1" in stored[0]
    assert " DetectFunction " in completed[0] and "attempt=1" in completed[0]
    assert [ln for ln in journey.output if ln.lstrip().startswith("{")] == [], "a raw JSON record reached the output"
    metrics = [ln for ln in journey.output if " METRIC " in ln and "AnalysesCompleted=1" in ln]
    assert len(metrics) == 1 and " DetectFunction " in metrics[0]


def test_a_restart_keeps_the_images_of_analyses_made_before_it(journey, tmp_path):
    assert "/Subtype /Image" in journey.first_pdf.decode("latin-1")  # the image was there before the restart
    for name, (status, content) in journey.after_restart["images"].items():
        assert status == 200, f"{name}: {content[:200]!r}"
        assert content.startswith(b"\xff\xd8\xff"), name
    status, pdf = journey.after_restart["pdf"]
    assert status == 200
    assert "/Subtype /Image" in pdf.decode("latin-1")
    assert IMAGE_MISSING not in pdf_text(pdf, tmp_path)


def test_a_clean_stop_saves_and_the_next_start_restores_without_a_warning(journey):
    # Two objects: the upload and its annotated copy; the detect queue was empty
    assert [ln for ln in journey.output if "saved 2 object(s) and 0 queued message(s)" in ln] != []
    assert [ln for ln in journey.restart_output if "restored 2 object(s)" in ln] != []
    assert [ln for ln in journey.output + journey.restart_output if " WARNING " in ln] == []


def test_reset_removes_the_database_and_the_saved_objects(journey):
    assert len(journey.reset_had) == 2  # there was state to remove
    assert journey.reset_left == []
