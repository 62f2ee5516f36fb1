"""A child that dies before it answers: the error says why, from the end of its log."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sentrix_local.processes import free_port, wait_http


def test_a_child_that_exits_is_reported_with_the_end_of_its_log(tmp_path):
    log_file = tmp_path / "yolo.log"
    lines = [f"line {n}" for n in range(30)] + ["ERROR: [Errno 98] address already in use"]
    script = f"import sys; open({str(log_file)!r}, 'w').write({chr(10).join(lines)!r}); sys.exit(3)"
    process = subprocess.Popen([sys.executable, "-c", script])
    process.wait(timeout=30)

    with pytest.raises(RuntimeError) as raised:
        wait_http(f"http://127.0.0.1:{free_port()}/health", timeout=30, process=process, log_file=log_file)

    message = str(raised.value)
    assert "exited with 3" in message
    assert message.endswith("ERROR: [Errno 98] address already in use")
    # The last 15 lines only: the 30 lines before the error are cut to their last 14.
    assert "line 16" in message and "line 15" not in message


def test_without_a_log_the_error_names_the_exit_code_alone(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(timeout=30)

    with pytest.raises(RuntimeError, match=r"exited with 3$"):
        wait_http(f"http://127.0.0.1:{free_port()}/health", process=process, log_file=tmp_path / "missing.log")
