"""A newcomer's first commands: each failure is one sentence naming what to do, before anything starts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

NO_PYTHON = "Python 3.12 not found: install it"


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_ports(count: int) -> list[int]:
    from sentrix_local.processes import free_port

    return [free_port() for _ in range(count)]


def test_a_busy_port_is_refused_naming_the_port_and_its_variable(listening, tmp_path):
    from sentrix_local.preflight import StackError, preflight
    from sentrix_local.stack import StackConfig

    gateway, moto, pg = free_ports(3)
    config = StackConfig(state_dir=tmp_path, gateway_port=gateway, moto_port=moto, yolo_port=listening, pg_port=pg)

    with pytest.raises(StackError) as refused:
        preflight(config)

    assert str(refused.value).startswith(f"port {listening} (SENTRIX_YOLO_PORT) is in use")


def test_free_ports_pass_the_preflight(tmp_path):
    from sentrix_local.preflight import preflight
    from sentrix_local.stack import StackConfig

    gateway, moto, yolo, pg = free_ports(4)
    preflight(StackConfig(state_dir=tmp_path, gateway_port=gateway, moto_port=moto, yolo_port=yolo, pg_port=pg))


def test_up_on_a_busy_port_says_so_in_one_line_and_starts_nothing(listening, tmp_path):
    # Given the gateway's port taken by something else
    moto, yolo, pg = free_ports(3)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers/shared"), str(REPO_ROOT / "local")]),
        "SENTRIX_STATE_DIR": str(tmp_path / "state"),
        "SENTRIX_GATEWAY_PORT": str(listening),
        "SENTRIX_MOTO_PORT": str(moto),
        "SENTRIX_YOLO_PORT": str(yolo),
        "SENTRIX_PG_PORT": str(pg),
    }
    env.pop("YOLO_SERVICE_URL", None)  # the session's stand-in (or the developer's host) is not this stack's

    # When the stack is started
    result = subprocess.run(
        [sys.executable, "-m", "sentrix_local", "up"], env=env, capture_output=True, text=True, timeout=60
    )

    # Then it refuses with the port and its variable, no traceback, and nothing was started
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"sentrix_local up: port {listening} (SENTRIX_GATEWAY_PORT) is in use: stop what listens there, "
        f"or choose another port, e.g. `SENTRIX_GATEWAY_PORT={listening + 1} make dev`"
    ]
    assert not (tmp_path / "state" / "run").exists()


@pytest.fixture
def path_without_python312(tmp_path) -> str:
    """A PATH with the few tools the scripts use and no python3.12, no pyenv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "grep", "sort", "awk", "sed", "cat"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_python312_script_without_python312_prints_one_message(path_without_python312):
    result = subprocess.run(
        [str(REPO_ROOT / "scripts/python312.sh")],
        env={"PATH": path_without_python312, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"{NO_PYTHON} (pyenv install 3.12; or python3.12 and python3.12-venv from apt) or set "
        "SAM_PYTHON=/path/to/python3.12"
    ]


def test_make_venv_without_python312_stops_with_that_message_only(path_without_python312, tmp_path):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # Given no virtualenv yet (VENV elsewhere) and no Python 3.12 on PATH
    result = subprocess.run(
        [make, "--no-print-directory", "-C", str(REPO_ROOT), "venv", f"VENV={tmp_path / 'venv'}"],
        env={"PATH": path_without_python312, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
    )

    # Then make stops with the one message, and no shell tried to run an empty interpreter name
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert output.count(NO_PYTHON) == 1, output
    assert "command not found" not in output and "Error 127" not in output, output
    assert not (tmp_path / "venv").exists()


SAM_BUILD_TAIL = """Build Succeeded

Built Artifacts  : .aws-sam/build
Built Template   : .aws-sam/build/template.yaml

Commands you can use next
=========================
[*] Validate SAM template: sam validate
[*] Invoke Function: sam local invoke -t .aws-sam/build/template.yaml
[*] Test Function in the Cloud: sam sync --stack-name {{stack-name}} --watch
[*] Deploy: sam deploy --guided

"""


def test_sam_builds_next_steps_are_not_shown():
    # The filter as scripts/sam.sh defines it, fed SAM 1.x's closing lines
    script = Path(REPO_ROOT / "scripts/sam.sh").read_text()
    start = script.index("without_sam_next_steps() {")
    function = script[start : script.index("\n}\n", start) + 3]
    result = subprocess.run(
        ["/bin/bash", "-c", f"{function}\nwithout_sam_next_steps"],
        input=SAM_BUILD_TAIL,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Build Succeeded" in result.stdout and "Built Template" in result.stdout
    assert "sam local invoke" not in result.stdout
    assert "sam deploy --guided" not in result.stdout
    assert "Commands you can use next" not in result.stdout


def test_sam_build_ends_with_the_projects_next_step():
    script = Path(REPO_ROOT / "scripts/sam.sh").read_text()
    build = script[script.index("cmd_build() {") : script.index("without_sam_next_steps() {")]
    assert "make deploy ENV=dev" in build
