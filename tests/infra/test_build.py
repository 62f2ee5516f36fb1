"""`sam build` runs here (CI runs it through this module) and its artifacts are what Lambda should get.

The build goes into this test session's state directory, not .aws-sam, so concurrent runs do not share one;
the layers' dependencies come from the shared SENTRIX_DEPS_CACHE after the first build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import STATE_DIR
from tests.infra.conftest import REPO_ROOT

sys.path.append(str(REPO_ROOT / "infra" / "build"))
import artifacts  # infra/build is not a package

BUILD_ROOT = STATE_DIR / "aws-sam"
BUILD_DIR = BUILD_ROOT / "build"
# A first build on a fresh machine also creates .venv-sam and downloads every wheel.
BUILD_TIMEOUT_S = 1200
HEAVY_PACKAGES = {
    "reportlab": {"ReportFunction"},
    "pillow_heif": {"UploadFunction", "DetectFunction"},
    "shapely": {"UploadFunction", "DetectFunction"},
}


@pytest.fixture(scope="module")
def build() -> dict[str, artifacts.FunctionArtifact]:
    """Run `sam build` (scripts/sam.sh) once for this module; the built functions by logical id."""
    env = {**os.environ, "SAM_BUILD_ROOT": str(BUILD_ROOT)}
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "sam.sh"), "build"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Build Succeeded" in result.stdout
    return artifacts.built_functions(BUILD_DIR)


@pytest.fixture(scope="module")
def runtime_dir() -> Path:
    return artifacts.lambda_runtime_dir(STATE_DIR / "lambda-runtime")


def python_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*.py") if "__pycache__" not in path.parts]


pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S + 120)


def test_build_produces_every_function_with_its_layers(build: dict[str, artifacts.FunctionArtifact]) -> None:
    assert {"AuthFunction", "AuthorizerFunction", "UploadFunction", "DetectFunction", "ReportFunction"} <= set(build)
    for artifact in build.values():
        assert artifact.code_dir.is_dir(), artifact.name
        assert artifact.layers[0][0] == "SharedLayer"
        assert all(python.is_dir() for python in artifact.layer_dirs), artifact.name


def test_every_module_ships_unchecked_hash_bytecode(build: dict[str, artifacts.FunctionArtifact]) -> None:
    # Given every Python source of every function and layer
    roots = {artifact.code_dir for artifact in build.values()} | {
        python for artifact in build.values() for python in artifact.layer_dirs
    }
    missing, checked = [], []
    for root in sorted(roots):
        for source in python_files(root):
            cached = Path(__import__("importlib.util").util.cache_from_source(str(source)))
            # PEP 552 header: magic, then flags; 0b01 = hash-based, source not checked at import.
            if not cached.is_file() or int.from_bytes(cached.read_bytes()[4:8], "little") != 0b01:
                missing.append(str(source.relative_to(BUILD_DIR)))
            checked.append(cached)

    # Then each has its cpython-312 .pyc, hash-based and unchecked
    assert missing == []
    assert len(checked) > 1000


def test_runtime_packages_and_build_leftovers_are_not_shipped(build: dict[str, artifacts.FunctionArtifact]) -> None:
    layer_dirs = {python for artifact in build.values() for python in artifact.layer_dirs}
    shipped = {entry.name for python in layer_dirs for entry in python.iterdir()}
    # boto3/botocore come from the Lambda runtime; console scripts and test suites are never imported.
    assert shipped & {"boto3", "botocore", "s3transfer", "bin"} == set()
    assert [str(p) for python in layer_dirs for p in python.rglob("tests") if p.is_dir()] == []
    assert [str(p) for python in layer_dirs for p in python.rglob("*.c")] == []


def test_heavy_libraries_ship_only_with_the_functions_that_use_them(
    build: dict[str, artifacts.FunctionArtifact],
) -> None:
    carriers = {
        package: {name for name, a in build.items() if any((d / package).is_dir() for d in a.layer_dirs)}
        for package in HEAVY_PACKAGES
    }
    assert carriers == HEAVY_PACKAGES


def test_every_function_fits_lambdas_unzipped_limit(build: dict[str, artifacts.FunctionArtifact]) -> None:
    sizes = {name: artifact.unzipped_bytes() for name, artifact in build.items()}
    print("\n" + artifacts.size_table(BUILD_DIR))
    assert {name: size for name, size in sizes.items() if size >= artifacts.UNZIPPED_LIMIT_BYTES} == {}


@pytest.mark.parametrize(
    "function",
    ["AuthFunction", "AuthorizerFunction", "UploadFunction", "DetectFunction", "ReportFunction", "MigrateFunction"],
)
def test_handler_imports_from_the_artifact_alone_and_from_bytecode(
    build: dict[str, artifacts.FunctionArtifact], runtime_dir: Path, function: str
) -> None:
    # Given a fresh interpreter with Lambda's path: the function's code, its layers, the runtime's boto3
    artifact = build[function]
    module, attribute = artifact.handler.rsplit(".", 1)
    roots = [str(artifact.code_dir), *(str(d) for d in artifact.layer_dirs)]
    probe = (
        "import importlib, json, os; "
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r}); "
        f"roots = {roots!r}; "
        "loaded = [m for m in list(sys.modules.values()) if (getattr(m, '__file__', None) or '').endswith('.py') "
        "and any(m.__file__.startswith(r) for r in roots)]; "
        "print(json.dumps({'callable': callable(handler), 'loaded': len(loaded), "
        "'outside': sorted({(getattr(m, '__file__', None) or '') for m in sys.modules.values() "
        "if 'site-packages' in (getattr(m, '__file__', None) or '')}), "
        "'from_source': sorted(m.__name__ for m in loaded if getattr(m, '__spec__', None) is not None "
        "and not os.path.exists(m.__spec__.cached or ''))}))"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task and /opt are read-only on Lambda
        "POWERTOOLS_TRACE_DISABLED": "true",
    }

    # When it imports the handler module
    result = subprocess.run(
        [sys.executable, "-c", artifacts.lambda_like_statement(artifact, runtime_dir, probe)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then it imports, everything from the artifact (nothing from the dev venv), every module from bytecode
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["callable"] is True
    assert report["outside"] == []
    assert report["from_source"] == []
    assert report["loaded"] > 0
