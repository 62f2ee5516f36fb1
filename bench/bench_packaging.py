"""Cold import of each built function, with the shipped bytecode vs without it, and its unzipped size.

What a cold start pays for imports: a fresh interpreter imports the handler module of the artifact `sam build`
produced, with Lambda's sys.path (the function's code, its layers' python/, the runtime's boto3) and nothing
from the development venv. The baseline is the same artifact with every __pycache__ removed and `-B`, which is
what the default python builder ships: Lambda's code directories are read-only, so every cold start compiles
every module it imports. The size is the function plus its layers, unzipped, against Lambda's 250 MiB quota.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import REPO_ROOT, Result, cold_import_ms

sys.path.append(str(REPO_ROOT / "infra" / "build"))
import artifacts  # infra/build is not a package

BUILD_ROOT = REPO_ROOT / ".aws-sam"
SUITE = "packaging"
# The expectation: cold imports roughly halve with bytecode; hold them to at most 70% of the baseline.
TARGET_RATIO = 0.7
# Quick runs measure one function per distinct set of layers.
QUICK_FUNCTIONS = ("AuthFunction", "UploadFunction", "ReportFunction")
MIB = 1024 * 1024
ENV = {
    "PYTHONPATH": "",  # only the artifact's path (set inside the statement), never the repository's
    "PYTHONDONTWRITEBYTECODE": "1",  # /var/task and /opt are read-only on Lambda
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def _build() -> dict[str, artifacts.FunctionArtifact]:
    """The current artifacts: `sam build` is cached, so this costs seconds when nothing changed."""
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "sam.sh"), "build"], cwd=REPO_ROOT, check=True)
    return artifacts.built_functions(BUILD_ROOT / "build")


def run(quick: bool) -> list[Result]:
    built = _build()
    repeat = 3 if quick else 9
    results = []
    with tempfile.TemporaryDirectory(prefix="sentrix-bench-packaging-") as scratch:
        runtime_dir = artifacts.lambda_runtime_dir(Path(scratch) / "runtime")
        for name, artifact in built.items():
            if quick and name not in QUICK_FUNCTIONS:
                continue
            statement = f"import {artifact.module}"
            with_bytecode = cold_import_ms(
                artifacts.lambda_like_statement(artifact, runtime_dir, statement), env=ENV, repeat=repeat
            )
            bare = artifacts.copy_without_bytecode(artifact, Path(scratch) / name)
            without_bytecode = cold_import_ms(
                artifacts.lambda_like_statement(bare, runtime_dir, statement),
                env=ENV,
                repeat=repeat,
                no_bytecode=True,
            )
            results.append(
                Result(
                    suite=SUITE,
                    name=f"{name} cold import, shipped bytecode",
                    value=with_bytecode,
                    unit="ms",
                    baseline_name="same artifact without bytecode",
                    baseline_value=without_bytecode,
                    target_ratio=TARGET_RATIO,
                    notes=f"import {artifact.module}; median of {repeat} fresh interpreters",
                )
            )
            results.append(
                Result(
                    suite=SUITE,
                    name=f"{name} unzipped size",
                    value=artifact.unzipped_bytes() / MIB,
                    unit="MiB",
                    baseline_name="Lambda's unzipped limit",
                    baseline_value=artifacts.UNZIPPED_LIMIT_BYTES / MIB,
                    target_ratio=1.0,
                    notes=", ".join(
                        f"{layer} {artifacts.tree_size(python) / MIB:.1f} MiB" for layer, python in artifact.layers
                    ),
                )
            )
    return results
