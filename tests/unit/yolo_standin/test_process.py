"""The YOLO stand-in as a process: configuration from the environment, upload cap, clean stops."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx
import pytest

from yolo_standin.detector import encode, synthetic_image
from yolo_standin.testing import StandinProcess

SMALL = encode(synthetic_image(1, (32, 32)), "PNG")
BIG = encode(synthetic_image(2, (400, 400)), "BMP")


def test_env_configures_faults_and_upload_cap() -> None:
    env = {"YOLO_STANDIN_FAULTS": json.dumps({"error_rate": 0.5}), "YOLO_STANDIN_MAX_BYTES": "20000"}
    assert len(SMALL) < 20_000 < len(BIG)
    with StandinProcess(env=env) as standin, httpx.Client(base_url=standin.base_url) as client:
        assert client.get("/_admin/faults").json()["error_rate"] == 0.5
        codes = [client.post("/detect", files={"file": ("a.png", SMALL)}).status_code for _ in range(4)]
        assert sorted(codes) == [200, 200, 500, 500]

        client.put("/_admin/faults", json={})
        response = client.post("/detect", files={"file": ("a.bmp", BIG)})
        assert response.status_code == 413
        assert "detail" in response.json()
        assert client.post("/detect", files={"file": ("a.png", SMALL)}).status_code == 200
        # Far over the cap: refused from Content-Length alone, with the same JSON body.
        huge = client.post("/detect", files={"file": ("a.jpg", b"x" * 3_000_000)})
        assert huge.status_code == 413
        assert huge.json()["detail"].startswith("File too large")
        assert huge.headers["X-Test-Double"] == "yolo-standin"

        # Reset goes back to the configuration the process was started with.
        assert client.post("/_admin/reset").json()["faults"]["error_rate"] == 0.5


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_cleanly_on_signal(sig: int) -> None:
    standin = StandinProcess().start()
    assert standin.stop(sig, timeout_s=10) == 0


def test_stops_promptly_even_with_a_stalled_request() -> None:
    standin = StandinProcess().start()
    answers: list[int] = []
    with httpx.Client(base_url=standin.base_url, timeout=60) as client:
        client.put("/_admin/faults", json={"timeout_rate": 1.0, "timeout_sleep_s": 60})

        def stalled() -> None:
            answers.append(client.post("/detect", files={"file": ("a.png", SMALL)}).status_code)

        thread = threading.Thread(target=stalled)
        thread.start()
        deadline = time.monotonic() + 10
        while client.get("/_admin/stats").json()["outcomes"]["injected_timeout"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # Killed (not stopped) if it overruns 8 s; a clean stop exits 0 long before the 60 s stall.
        assert standin.stop(signal.SIGTERM, timeout_s=8) == 0
        thread.join(timeout=10)
    assert answers == [503]


def test_bad_fault_config_refuses_to_start() -> None:
    standin = StandinProcess(env={"YOLO_STANDIN_FAULTS": '{"error_rate": 3}'})
    with pytest.raises(RuntimeError, match="bad configuration"):
        standin.start(ready_timeout_s=15)
    assert standin.process is not None and standin.process.returncode == 2
