"""The image, checked without Docker (no daemon here): what the Dockerfile copies is enough to import and run
the host, its entry command exists, its requirements are pinned like the rest, and `make yolo-image` builds it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "yolo_host" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            rows.append((word.upper(), rest.strip()))
    return rows


def copies() -> list[tuple[list[str], str]]:
    return [(args.split()[:-1], args.split()[-1]) for word, args in instructions() if word == "COPY"]


def assemble(root: Path) -> None:
    """The image's /app, built from the Dockerfile's COPY lines (sources relative to the repository)."""
    for sources, destination in copies():
        for source in sources:
            target = root / destination.removeprefix("/app/").removeprefix("/app")
            path = REPO / source
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
            elif destination.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.name)
            else:
                shutil.copy(path, target)


def test_every_copied_path_exists():
    for sources, _ in copies():
        for source in sources:
            assert (REPO / source).exists(), source


def test_the_copied_files_are_enough_to_run_the_entry_command(tmp_path):
    # Given /app as the image lays it out, and nothing of the repository on the import path
    app = tmp_path / "app"
    app.mkdir()
    assemble(app)
    [command] = [json.loads(args) for word, args in instructions() if word == "CMD"]
    assert command[:3] == ["python", "-m", "yolo_host"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(app)}
    imports = "import yolo_host.__main__, yolo_host.app, yolo_host.service, yolo_host.model, yolo_host.exif"

    # When the entry module is imported and asked for its help from there
    imported = subprocess.run([sys.executable, "-c", imports], cwd=tmp_path, env=env, capture_output=True, text=True)
    helped = subprocess.run(
        [sys.executable, *command[1:3], "--help"], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    # Then both work: nothing the host needs was left out of the image
    assert imported.returncode == 0, imported.stderr
    assert helped.returncode == 0 and "--port" in helped.stdout, helped.stderr


def test_the_dockerignore_lets_every_copied_path_in():
    allowed = [
        line[1:]
        for line in (REPO / "yolo_host" / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for sources, _ in copies():
        for source in sources:
            assert any(source == a or source.startswith(a + "/") for a in allowed), source


def pins(path: Path) -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {
        re.sub(r"\[.*\]", "", name).lower().replace("_", "-"): version
        for name, _, version in (line.partition("==") for line in lines if line)
    }


def test_the_image_requirements_are_pinned_as_the_constraints_pin_them():
    constraints = pins(REPO / "requirements" / "constraints.txt")
    cpu = pins(REPO / "yolo_host" / "requirements.txt")
    gpu = pins(REPO / "yolo_host" / "requirements-gpu.txt")

    assert all(version for version in [*cpu.values(), *gpu.values()])
    assert {k: v for k, v in cpu.items() if k != "onnxruntime"} == {
        k: v for k, v in gpu.items() if k != "onnxruntime-gpu"
    }
    for name, version in cpu.items():
        assert constraints.get(name) == version, name


@pytest.mark.parametrize(("variant", "tag"), [("cpu", "cpu"), ("gpu", "gpu")])
def test_make_yolo_image_builds_the_variant_from_the_repository_root(variant, tag):
    dry_run = subprocess.run(
        ["make", "-n", "yolo-image", f"VARIANT={variant}"], cwd=REPO, capture_output=True, text=True, check=True
    )
    command = " ".join(dry_run.stdout.replace("\\\n", " ").split())

    assert f"docker build -f yolo_host/Dockerfile --build-arg VARIANT={variant} -t sentrix-yolo-host:{tag} ." in command
    assert 'case "$VARIANT" in' in DOCKERFILE.read_text() and f"{variant})" in DOCKERFILE.read_text()
