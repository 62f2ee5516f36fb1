"""What `sam build` produced, read back: per function its code and its layers, their sizes, and how Lambda imports them.

Used by tests/infra/test_build.py, bench/bench_packaging.py and `make sizes`:

    python infra/build/artifacts.py sizes [--build-dir .aws-sam/build]

Lambda puts a function's code (/var/task) first on sys.path, then each layer's python/ (/opt/python), then
the runtime's own packages (/var/runtime: boto3, botocore, s3transfer). `python_path` rebuilds that order
from the build directory, with a stand-in for /var/runtime made of the current interpreter's boto3.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
# What the Lambda Python runtime provides besides the standard library (infra/build/package.py leaves
# these out of the layers).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer")
# Lambda's quota: a function and all its layers, unzipped.
MIB = 1024 * 1024
UNZIPPED_LIMIT_BYTES = 250 * MIB


@dataclass(frozen=True)
class FunctionArtifact:
    """One built function: its code directory and the python/ directories of its layers, in attach order."""

    name: str
    handler: str
    code_dir: Path
    layers: tuple[tuple[str, Path], ...]

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def layer_dirs(self) -> list[Path]:
        return [python for _, python in self.layers]

    def python_path(self, runtime_dir: Path) -> list[str]:
        """sys.path entries in Lambda's order: code, layers, runtime."""
        return [str(self.code_dir), *(str(d) for d in self.layer_dirs), str(runtime_dir)]

    def unzipped_bytes(self) -> int:
        return tree_size(self.code_dir) + sum(tree_size(d) for d in self.layer_dirs)


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def built_functions(build_dir: Path = DEFAULT_BUILD_DIR) -> dict[str, FunctionArtifact]:
    """The functions of the built template (Globals' layers first, then the function's own, as SAM merges)."""
    from sentrix_local.template import load_template

    template = load_template(build_dir / "template.yaml")
    resources = template["Resources"]
    global_layers = ((template.get("Globals") or {}).get("Function") or {}).get("Layers") or []
    found = {}
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        p = resource["Properties"]
        layers = []
        for layer in [*global_layers, *(p.get("Layers") or [])]:
            layer_id = layer["Ref"]
            layers.append((layer_id, build_dir / resources[layer_id]["Properties"]["ContentUri"] / "python"))
        found[name] = FunctionArtifact(name, p["Handler"], build_dir / p["CodeUri"], tuple(layers))
    return found


def lambda_runtime_dir(target: Path) -> Path:
    """A stand-in for /var/runtime: links to this interpreter's copies of the runtime's packages."""
    target.mkdir(parents=True, exist_ok=True)
    for package in RUNTIME_PACKAGES:
        link = target / package
        if not link.exists():
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise RuntimeError(f"{package} is not installed here; it stands in for the Lambda runtime's copy")
            link.symlink_to(next(iter(spec.submodule_search_locations)), target_is_directory=True)
    return target


def lambda_like_statement(artifact: FunctionArtifact, runtime_dir: Path, statement: str) -> str:
    """Python that drops the interpreter's site-packages, puts Lambda's path in place, then runs `statement`."""
    path = artifact.python_path(runtime_dir)
    return (
        "import sys; "
        "sys.path[:] = [p for p in sys.path if p and 'site-packages' not in p and 'dist-packages' not in p]; "
        f"sys.path[:0] = {path!r}; {statement}"
    )


def copy_without_bytecode(artifact: FunctionArtifact, target: Path) -> FunctionArtifact:
    """The same artifact with every __pycache__ left out, as the default python builder would ship it."""
    if target.exists():
        shutil.rmtree(target)
    ignore = shutil.ignore_patterns("__pycache__")
    code = target / "code"
    shutil.copytree(artifact.code_dir, code, ignore=ignore)
    layers = []
    for layer_id, python in artifact.layers:
        copy = target / layer_id / "python"
        if not copy.exists():
            shutil.copytree(python, copy, ignore=ignore, symlinks=True)
        layers.append((layer_id, copy))
    return FunctionArtifact(artifact.name, artifact.handler, code, tuple(layers))


def size_table(build_dir: Path = DEFAULT_BUILD_DIR) -> str:
    """Unzipped sizes of every function with its layers, and of each layer, as a Markdown table."""
    artifacts = built_functions(build_dir)
    rows = ["| Function | Code | Layers | Total unzipped | Of Lambda's 250 MiB |", "| --- | ---: | --- | ---: | ---: |"]
    for artifact in artifacts.values():
        layers = ", ".join(f"{layer_id} {tree_size(python) / MIB:.1f} MiB" for layer_id, python in artifact.layers)
        total = artifact.unzipped_bytes()
        rows.append(
            f"| {artifact.name} | {tree_size(artifact.code_dir) / MIB:.2f} MiB | {layers} | {total / MIB:.1f} MiB "
            f"| {100 * total / UNZIPPED_LIMIT_BYTES:.0f}% |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Inspect the artifacts of `sam build`.")
    parser.add_argument("command", choices=["sizes"])
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    args = parser.parse_args(argv)
    if not (args.build_dir / "template.yaml").is_file():
        print(f"artifacts.py: no build in {args.build_dir}; run `make build` first", file=sys.stderr)
        return 1
    print(size_table(args.build_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
