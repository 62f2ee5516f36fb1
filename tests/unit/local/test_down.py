"""`make down` stops what the stack recorded and nothing else: a pid that no longer runs the stand-in is left alone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen]:
    """A process that is not the stand-in (a stale pid file's number, reused after a reboot)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def config_in(tmp_path):
    from sentrix_local.stack import StackConfig

    return StackConfig(state_dir=tmp_path, keep_state=False)


def test_a_recorded_pid_that_runs_something_else_is_not_stopped(tmp_path, stranger):
    from sentrix_local.stack import down

    # Given run/yolo.pid naming a process that is not the stand-in
    config = config_in(tmp_path)
    config.run_dir.mkdir(parents=True)
    (config.run_dir / "yolo.pid").write_text(str(stranger.pid))

    # When `down` runs
    down(config)

    # Then that process still runs, and the stale pid file is gone
    assert stranger.poll() is None
    assert not (config.run_dir / "yolo.pid").exists()


def test_a_recorded_stand_in_is_stopped(tmp_path):
    from sentrix_local.processes import ManagedProcess, free_port, python_module, wait_http
    from sentrix_local.stack import down

    # Given a stand-in started the way the stack starts it (its pid recorded in run/yolo.pid)
    config = config_in(tmp_path)
    port = free_port()
    standin = ManagedProcess(
        "yolo",
        python_module("yolo_standin", "--host", "127.0.0.1", "--port", str(port)),
        run_dir=config.run_dir,
        log_file=config.log_dir / "yolo.log",
    )
    process = standin.start()
    try:
        # … and serving (a signal during its start-up is a different case from the one `down` meets)
        wait_http(f"http://127.0.0.1:{port}/health", timeout=60, process=process)
        # When `down` runs
        down(config)
        # Then it is stopped
        process.wait(timeout=30)
        assert process.poll() is not None
    finally:
        if process.poll() is None:
            process.kill()
    assert not (config.run_dir / "yolo.pid").exists()
