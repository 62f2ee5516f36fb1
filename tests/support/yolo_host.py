"""Start the inference host (`python -m yolo_host`) in a subprocess on a free port, as a deployment would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from yolo_standin.testing import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
IMPORT_ROOTS = [REPO_ROOT, REPO_ROOT / "layers" / "shared", REPO_ROOT / "functions" / "detect"]


class HostProcess:
    """The host with `YOLO_HOST_MODEL=model` plus `env`; ready once /health answers, stopped with SIGTERM."""

    def __init__(self, model: str, env: dict[str, str] | None = None) -> None:
        """Prepare (not start) a host."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {"YOLO_HOST_MODEL": model, **(env or {})}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - read after the process ends
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it."""
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join([*map(str, IMPORT_ROOTS), env.get("PYTHONPATH", "")])
        command = [sys.executable, "-m", "yolo_host", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--log-level", "warning"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self.process

    def start(self, ready_timeout_s: float = 60.0) -> HostProcess:
        """Launch and wait until GET /health answers 200."""
        process = self.launch()
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"yolo-host exited with {process.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"yolo-host did not become healthy: {self.output()}")

    def wait(self, timeout_s: float = 60.0) -> int:
        """The exit status of a process that stops by itself (a refused start)."""
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM, then kill if it does not stop in time; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        """Everything the process printed."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", errors="replace")

    def __enter__(self) -> HostProcess:
        """Start on entering a `with` block."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop on leaving a `with` block."""
        self.stop()
        self._log.close()
