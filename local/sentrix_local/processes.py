"""Child processes we start (moto's server, the YOLO stand-in): started, awaited, and stopped by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

LOCAL_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path | None, lines: int = 15) -> str:
    """The last lines of a child's log, for an error that says why it stopped (empty if there is no log)."""
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_http(
    url: str, timeout: float = 30, process: subprocess.Popen | None = None, log_file: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log_tail(log_file)
            detail = f"; the end of {log_file}:\n{tail}" if tail else ""
            raise RuntimeError(f"process for {url} exited with {process.returncode}{detail}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


class ManagedProcess:
    """A child process with a pid file, so `down` can stop exactly what `up` started."""

    def __init__(self, name: str, args: list[str], *, run_dir: Path, log_file: Path, env: dict | None = None):
        self.name = name
        self.args = args
        self.pid_file = run_dir / f"{name}.pid"
        self.log_file = log_file
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        env = {**os.environ, **(self.env or {})}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(LOCAL_DIR), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            self.args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        self.pid_file.write_text(str(self.process.pid))
        return self.process

    def stop(self, timeout: float = 10) -> None:
        if self.process is not None:
            stop_pid(self.process.pid, timeout)
            with contextlib.suppress(Exception):
                self.process.wait(timeout=1)
        elif self.pid_file.exists():
            stop_pid(int(self.pid_file.read_text()), timeout)
        self.pid_file.unlink(missing_ok=True)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def stop_pid(pid: int, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after `timeout`; only this pid, never a pattern."""
    if not alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
