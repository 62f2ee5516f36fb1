"""The whole local stack (`python -m sentrix_local up`) as a subprocess on free ports, for e2e tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from tests.conftest import REPO_ROOT

T = TypeVar("T")
PORT_NAMES = ("GATEWAY", "MOTO", "YOLO", "PG")


def wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class RunningStack:
    process: subprocess.Popen
    ports: dict[str, int]
    state_dir: Path
    log: Path

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['GATEWAY']}"

    @property
    def moto(self) -> str:
        return f"http://127.0.0.1:{self.ports['MOTO']}"

    def up(self) -> bool:
        """True once the gateway answers its health route; StackExitedEarly if the process has ended."""
        if self.process.poll() is not None:
            raise StackExitedEarly(f"stack exited early:\n{self.log.read_text()}")
        try:
            return httpx.get(f"{self.gateway}/api/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)


# What a child server writes when the port chosen for it was taken between `free_port()` and its bind.
PORT_TAKEN = ("address already in use", "could not bind")


@contextmanager
def local_stack(
    state_dir: Path, ports: dict[str, int] | None = None, env: dict[str, str] | None = None
) -> Iterator[RunningStack]:
    """Start the stack in `state_dir` (fresh ports unless given, retries after 1 s); stop it by SIGINT at the end.

    `env` is set last, after the test session's own services are removed (YOLO_SERVICE_URL, to name another host).
    With fresh ports, a start that fails because another process took one of them before the stack bound it (other
    test sessions pick free ports too) is tried again once on new ports; any other early exit fails the test.
    """
    from sentrix_local.processes import free_port

    attempts = 1 if ports else 2
    for attempt in range(1, attempts + 1):
        chosen = ports or {name: free_port() for name in PORT_NAMES}
        stack = _start(state_dir, chosen, env)
        try:
            wait_for(stack.up, 120, "the local stack")
            break
        except StackExitedEarly as exited:
            stack.stop()
            if attempt == attempts or not any(marker in str(exited).lower() for marker in PORT_TAKEN):
                raise AssertionError(str(exited)) from None
        except BaseException:
            stack.stop()
            raise
    try:
        yield stack
    finally:
        stack.stop()


class StackExitedEarly(Exception):
    """The stack's process ended before its gateway answered (the message holds its log)."""


def _start(state_dir: Path, ports: dict[str, int], env: dict[str, str] | None) -> RunningStack:
    stack_env = {
        **os.environ,
        "SENTRIX_STATE_DIR": str(state_dir),
        "SENTRIX_RETRY_DELAY_S": "1",
        **{f"SENTRIX_{name}_PORT": str(port) for name, port in ports.items()},
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers/shared"), str(REPO_ROOT / "local")]),
        "ENVIRONMENT": "development",
    }
    # The test session's own services must not leak into the stack's configuration.
    for name in ("DATABASE_URL", "AWS_ENDPOINT_URL", "IMAGES_BUCKET", "DETECT_QUEUE_URL", "YOLO_SERVICE_URL"):
        stack_env.pop(name, None)
    stack_env.update(env or {})
    log_path = state_dir / "stack.out"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sentrix_local", "up"],
            env=stack_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    return RunningStack(process, ports, state_dir, log_path)
