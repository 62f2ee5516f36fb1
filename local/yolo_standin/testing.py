"""Start the YOLO stand-in (a TEST DOUBLE) in a subprocess for tests and local stacks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

LOCAL_DIR = Path(__file__).resolve().parent.parent
CONTRACT_SCHEMA_PATH = Path(__file__).resolve().parent / "contract.schema.json"


def contract_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a 200 /detect answer."""
    return json.loads(CONTRACT_SCHEMA_PATH.read_text(encoding="utf-8"))


def contract_validator() -> Any:
    """A jsonschema validator for a 200 /detect answer (jsonschema is a dev dependency)."""
    import jsonschema

    schema = contract_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServedProcess:
    """`python -m <module>` serving HTTP on a free port of 127.0.0.1; ready once GET /health answers 200,
    stopped with SIGTERM. Subclasses name the module, its import roots and its name in messages."""

    module = ""
    label = ""
    ready_timeout_s = 30.0

    def __init__(self, env: dict[str, str] | None = None, port: int | None = None) -> None:
        """Prepare (not start) the process; `env` is added to this process's environment."""
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env or {})
        # Outlives any one call: the server writes to it until stopped, and output() reads it after.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def import_roots(self) -> list[Path]:
        """What goes first on the process's PYTHONPATH."""
        return []

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it."""
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (*map(str, self.import_roots()), env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", self.module, "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--log-level", "warning"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self.process

    def start(self, ready_timeout_s: float | None = None) -> Self:
        """Launch and wait until GET /health answers 200."""
        process = self.launch()
        deadline = time.monotonic() + (ready_timeout_s or self.ready_timeout_s)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {process.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.label} did not become healthy: {self.output()}")

    def wait(self, timeout_s: float = 60.0) -> int:
        """The exit status of a process that stops by itself (a refused start)."""
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15.0) -> int | None:
        """Send `sig` and wait for the exit; kill it if it does not stop in time. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        """Everything the process has printed so far."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", errors="replace")

    def __enter__(self) -> Self:
        """Start on entering a `with` block."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop on leaving a `with` block."""
        self.stop()
        self._log.close()


class StandinProcess(ServedProcess):
    """`python -m yolo_standin` on a free port; ready once /health answers, stopped with SIGTERM."""

    module = "yolo_standin"
    label = "yolo-standin"

    def import_roots(self) -> list[Path]:
        return [LOCAL_DIR]
