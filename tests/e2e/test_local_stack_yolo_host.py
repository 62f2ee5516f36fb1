"""`YOLO_SERVICE_URL=… make dev`: the local stack uses that host and starts no stand-in of its own.

The "GPU host" is a stand-in started here, on its own port, behind a URL with credentials in it. One stack start
carries the whole journey — readiness, an upload analysed by that host, the output and logs — then stops, and
`make down` and `make reset` run after it; the host must outlive all three.
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
from tests.support.stack import local_stack, wait_for

pytestmark = pytest.mark.e2e

SECRET = "tok-3f9a1c-never-shown"  # the password part of the host's URL
PASSWORD = "correct horse battery staple 42"


@dataclass
class Journey:
    host: str  # the host's URL without credentials, as the test writes it
    host_health: dict  # what the host's /health said, asked by the test directly
    run_files: set[str]  # names in the stack's run dir while it ran
    children: list[str]  # command lines of the stack's child processes while it ran
    yolo_port_listened: bool  # whether anything listened on the stand-in's port (SENTRIX_YOLO_PORT)
    ready: httpx.Response
    analysis: dict
    host_stats: tuple[dict, dict]  # the host's /_admin/stats before and after the upload
    output: str  # everything the stack printed
    logs: dict[str, str]  # the state dir's log files, by name
    host_after_stop: int  # the host's /health status after the stack stopped
    down_reset: list[subprocess.CompletedProcess]
    host_after_down_reset: int


def children_of(pid: int) -> list[str]:
    """Command lines of the processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


def upload(gateway: str) -> dict:
    api = f"{gateway}/api/v1"
    email = f"gpu-{uuid.uuid4().hex[:8]}@example.org"
    registered = httpx.post(f"{api}/register", json={"email": email, "password": PASSWORD}, timeout=30)
    assert registered.status_code in (200, 201), registered.text
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    created = httpx.post(
        f"{api}/analyses",
        headers=headers,
        files={"file": ("patio.jpg", photo("JPEG", gps=TUCUMAN), "image/jpeg")},
        timeout=60,
    )
    assert created.status_code in (200, 201, 202), created.text
    analysis_id = created.json().get("analysis_id") or created.json()["id"]

    def finished():
        got = httpx.get(f"{api}/analyses/{analysis_id}", headers=headers, timeout=30).json()
        return got if got.get("status") in ("completed", "failed") else None

    return wait_for(finished, 90, "the analysis to finish")


def sentrix_local(command: str, state_dir: Path, ports: dict[str, int], **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers/shared"), str(REPO_ROOT / "local")]),
        "SENTRIX_STATE_DIR": str(state_dir),
        **{f"SENTRIX_{name}_PORT": str(port) for name, port in ports.items()},
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "sentrix_local", command], env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def journey(tmp_path_factory) -> Journey:
    from sentrix_local.preflight import port_in_use
    from yolo_standin.testing import StandinProcess

    state_dir = tmp_path_factory.mktemp("yolo-host-stack")
    with StandinProcess() as host:
        with_credentials = f"http://sentrix:{SECRET}@127.0.0.1:{host.port}"
        env = {
            "YOLO_SERVICE_URL": with_credentials,
            # The stand-in's own settings: meaningless with another host (a stand-in started with them anyway
            # would fail every detection).
            "YOLO_STANDIN_FAULTS": json.dumps({"error_rate": 1.0}),
        }
        host_health = httpx.get(f"{host.base_url}/health", timeout=10).json()
        with local_stack(state_dir, env=env) as stack:
            run_files = {p.name for p in (state_dir / "run").iterdir()}
            children = children_of(stack.process.pid)
            yolo_port_listened = port_in_use(stack.ports["YOLO"])
            ready = httpx.get(f"{stack.gateway}/api/v1/health/ready", timeout=20)
            before = httpx.get(f"{host.base_url}/_admin/stats", timeout=10).json()
            analysis = upload(stack.gateway)
            after = httpx.get(f"{host.base_url}/_admin/stats", timeout=10).json()
        output = stack.log.read_text()
        logs = {p.name: p.read_text(errors="replace") for p in (state_dir / "logs").glob("*") if p.is_file()}
        after_stop = httpx.get(f"{host.base_url}/health", timeout=10).status_code
        ran = [sentrix_local(c, state_dir, stack.ports, YOLO_SERVICE_URL=with_credentials) for c in ("down", "reset")]
        after_down_reset = httpx.get(f"{host.base_url}/health", timeout=10).status_code
    return Journey(
        host.base_url, host_health, run_files, children, yolo_port_listened, ready, analysis, (before, after),
        output, logs, after_stop, ran, after_down_reset,
    )  # fmt: skip


def test_the_stack_starts_no_stand_in_of_its_own(journey):
    assert "yolo.pid" not in journey.run_files
    assert {"stack.pid", "moto.pid"} <= journey.run_files
    assert not [c for c in journey.children if "yolo_standin" in c], journey.children
    assert not journey.yolo_port_listened
    assert "yolo.log" not in journey.logs


def test_an_upload_is_analysed_by_that_host(journey):
    before, after = journey.host_stats
    assert journey.analysis["status"] == "completed", journey.analysis
    assert after["requests"]["detect"] - before["requests"]["detect"] == 1
    assert after["outcomes"]["ok"] - before["outcomes"]["ok"] == 1


def test_readiness_names_the_host_without_its_credentials(journey):
    assert journey.ready.status_code == 200, journey.ready.text
    yolo = journey.ready.json()["checks"]["yolo_service"]
    assert yolo["url"] == journey.host
    assert yolo["status"] == "ok"
    assert yolo["service_status"] == journey.host_health["status"]
    # What the host's /health says of itself: its version, and that it is a test double
    assert yolo["reported"]["version"] == journey.host_health["version"]
    assert yolo["reported"]["test_double"] is True
    assert SECRET not in journey.ready.text and "sentrix:" not in journey.ready.text


def test_the_output_names_the_host_and_the_ignored_stand_in_settings(journey):
    lines = journey.output.splitlines()
    assert any(f"YOLO host: {journey.host} " in line for line in lines), journey.output
    assert any("yolo (external)" in line and line.rstrip().endswith(journey.host) for line in lines)
    assert any("ignored" in line and "YOLO_STANDIN_FAULTS" in line for line in lines)
    assert any(f"YOLO host {journey.host}: /health says status healthy" in line for line in lines)


def test_no_output_or_log_shows_the_credentials(journey):
    assert journey.logs, "the stack wrote no log files"
    said = {"stack output": journey.output, **journey.logs}
    said.update({f"{r.args[-1]} output": r.stdout + r.stderr for r in journey.down_reset})
    for name, text in said.items():
        assert SECRET not in text, name


def test_stopping_down_and_reset_leave_the_host_running(journey):
    assert journey.host_after_stop == 200
    assert [r.returncode for r in journey.down_reset] == [0, 0], [r.stderr for r in journey.down_reset]
    assert journey.host_after_down_reset == 200


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://gpu.example.org", "the scheme must be http or https, not ftp"),
        ("gpu.example.org:8000", "the scheme must be http or https"),
        (f"https://user:{SECRET}@", "it names no host"),
        (f"https://user:{SECRET}@gpu.example.org:99999", "its host or port cannot be read"),
    ],
)
def test_a_malformed_url_stops_the_start_in_one_line(tmp_path, url, problem):
    from sentrix_local.processes import free_port

    ports = {name: free_port() for name in ("GATEWAY", "MOTO", "YOLO", "PG")}
    result = sentrix_local("up", tmp_path / "state", ports, YOLO_SERVICE_URL=url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sentrix_local up: YOLO_SERVICE_URL ")
    assert problem in lines[0]
    assert "unset YOLO_SERVICE_URL to run the stand-in" in lines[0]
    assert SECRET not in result.stderr + result.stdout
    assert not (tmp_path / "state" / "run").exists()  # nothing was started


def test_a_host_that_is_not_up_yet_is_a_warning_and_is_used_once_it_answers(tmp_path):
    from sentrix_local.processes import free_port
    from yolo_standin.testing import StandinProcess

    # Given a YOLO host that does not answer yet
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    with local_stack(tmp_path, env={"YOLO_SERVICE_URL": host}) as stack:
        # Then the stack started anyway, warned, and readiness reports the host as not answering
        warned = [line for line in stack.log.read_text().splitlines() if f"YOLO host {host}: no answer" in line]
        assert len(warned) == 1 and "WARNING" in warned[0], stack.log.read_text()
        before = httpx.get(f"{stack.gateway}/api/v1/health/ready", timeout=20).json()
        # When the host comes up later
        with StandinProcess(port=port):
            after = httpx.get(f"{stack.gateway}/api/v1/health/ready", timeout=20).json()
    assert (before["status"], before["checks"]["yolo_service"]["status"]) == ("degraded", "error")
    assert before["checks"]["yolo_service"]["url"] == host
    assert (after["status"], after["checks"]["yolo_service"]["status"]) == ("ready", "ok")
    assert after["checks"]["yolo_service"]["url"] == host
