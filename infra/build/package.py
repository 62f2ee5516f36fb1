"""Package a layer or a function for Lambda the way `sam build` cannot: trimmed, with compiled bytecode.

`sam build` runs the Makefiles (BuildMethod: makefile) of `layers/*/` and `infra/build/` in a scratch copy of
the CodeUri directory, with ARTIFACTS_DIR set; they call this script with the Lambda runtime's interpreter
(python3.12, first on PATH through scripts/sam.sh):

    python3.12 package.py layer --requirements requirements.txt --package sentrix --out $ARTIFACTS_DIR/python
    python3.12 package.py function --package sentrix_auth --out $ARTIFACTS_DIR

What it does, and why:
- installs the requirements as Lambda's platform wheels (manylinux, CPython 3.12, x86_64), never sdists, so the
  build machine's OS and compilers do not matter and no container is needed;
- drops what the Lambda runtime already provides (boto3, botocore, s3transfer: aws-xray-sdk pulls botocore in)
  and what nothing imports at run time (console scripts, tests, C sources, type stubs, other bytecode);
- copies the project's own package(s) without their local `__pycache__`;
- compiles every module with `--invalidation-mode unchecked-hash`: Lambda's /opt and /var/task are read-only,
  so without shipped bytecode every cold start compiles every module it imports; unchecked-hash .pyc files
  are used as they are (no source stat or hash per import), and their recorded paths are the runtime's.

With SENTRIX_DEPS_CACHE set (scripts/sam.sh sets it), the trimmed and compiled dependencies of a requirements
file are kept there, keyed by the file's content and this script's, so rebuilding a layer after a change to
its own code copies them instead of reinstalling.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PYTHON_VERSION = "3.12"
# x86_64, as the template's Architectures/BuildArchitecture. manylinux_2_28 for wheels that dropped 2014
# (Pillow 13); Lambda's python3.12 runtime (Amazon Linux 2023, glibc 2.34) runs both.
PIP_PLATFORM_FLAGS = (
    "--platform",
    "manylinux2014_x86_64",
    "--platform",
    "manylinux_2_28_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
)
# Provided by the Lambda Python runtime (/var/runtime). Shipping them would add ~30 MB to the shared layer and
# shadow the runtime's copies.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Directory names that no code imports at run time (package test suites, console-script wrappers).
TRIM_DIRS = ("__pycache__", "tests")
TRIM_SUFFIXES = (".pyc", ".pyo", ".pyi", ".c", ".h", ".pyx", ".pxd")
# Where Lambda mounts a layer's python/ directory and a function's code: the paths recorded in the bytecode.
RUNTIME_ROOTS = {"layer": "/opt/python", "function": "/var/task"}


def requirement_lines(path: Path | None) -> list[str]:
    """The requirement specifiers of a requirements file (comments and blank lines dropped)."""
    if path is None or not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def pip_install(requirements: Path, target: Path) -> None:
    """Install Lambda-platform wheels of `requirements` into `target` (no bytecode: compiled later)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--no-warn-script-location",
        *PIP_PLATFORM_FLAGS,
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]
    subprocess.run(command, check=True)  # noqa: S603 - our interpreter, our arguments


def _distribution_name(dist_info: Path) -> str:
    return dist_info.name.split("-", 1)[0].lower().replace("_", "-")


def remove_runtime_provided(root: Path, names: tuple[str, ...] = RUNTIME_PROVIDED) -> list[str]:
    """Delete the packages (and their metadata) that the Lambda runtime provides; returns what was removed."""
    removed = []
    for name in names:
        package = root / name
        if package.is_dir():
            shutil.rmtree(package)
            removed.append(name)
    for dist_info in root.glob("*.dist-info"):
        if _distribution_name(dist_info) in names:
            shutil.rmtree(dist_info)
    return removed


def trim(root: Path) -> int:
    """Delete what is never imported on Lambda; returns the bytes freed."""
    freed = 0
    scripts = root / "bin"
    if scripts.is_dir():
        freed += tree_size(scripts)
        shutil.rmtree(scripts)
    for directory in sorted(root.rglob("*"), reverse=True):
        if directory.is_dir() and directory.name in TRIM_DIRS and directory.exists():
            freed += tree_size(directory)
            shutil.rmtree(directory)
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in TRIM_SUFFIXES:
            freed += path.stat().st_size
            path.unlink()
    return freed


def copy_package(source: Path, destination: Path) -> None:
    """Copy a source package without local bytecode (built for another interpreter, or with timestamps)."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))


def compile_tree(root: Path, runtime_root: str) -> None:
    """Compile every module under `root` to unchecked-hash bytecode recorded at `runtime_root`; fail loudly."""
    ok = compileall.compile_dir(
        str(root),
        ddir=runtime_root,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise SystemExit(f"package.py: some modules under {root} do not compile (see above)")


def tree_size(root: Path) -> int:
    """Bytes of the files under `root` (what Lambda counts against the 250 MB unzipped limit)."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _cache_key(requirements: Path) -> str:
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()[:24]


def _build_dependencies(requirements: Path, target: Path, runtime_root: str) -> None:
    pip_install(requirements, target)
    remove_runtime_provided(target)
    trim(target)
    compile_tree(target, runtime_root)


def install_dependencies(requirements: Path, out: Path, runtime_root: str) -> None:
    """Trimmed, compiled dependencies into `out`, through SENTRIX_DEPS_CACHE when it is set."""
    cache_root = os.environ.get("SENTRIX_DEPS_CACHE")
    if not cache_root:
        _build_dependencies(requirements, out, runtime_root)
        return
    cached = Path(cache_root) / _cache_key(requirements)
    if not cached.is_dir():
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{cached.name}.", dir=cached.parent))
        try:
            _build_dependencies(requirements, staging, runtime_root)
            # Atomic publish: two concurrent builds may race here; the loser drops its copy.
            staging.rename(cached)
        except OSError:
            if not cached.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(cached, out, dirs_exist_ok=True, symlinks=True)


def package(kind: str, *, packages: list[str], out: Path, requirements: Path | None, source_dir: Path) -> int:
    """Build one artifact directory; returns its size in bytes."""
    if sys.version_info[:2] != (3, 12):
        raise SystemExit(f"package.py: run me with python{PYTHON_VERSION} (the Lambda runtime), not {sys.version}")
    runtime_root = RUNTIME_ROOTS[kind]
    out.mkdir(parents=True, exist_ok=True)
    if requirement_lines(requirements):
        install_dependencies(requirements, out, runtime_root)
    for name in packages:
        destination = out / name
        if destination.exists():
            shutil.rmtree(destination)
        copy_package(source_dir / name, destination)
        compile_tree(destination, f"{runtime_root}/{name}")
    return tree_size(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(RUNTIME_ROOTS))
    parser.add_argument("--package", action="append", default=[], help="a package directory to ship (repeatable)")
    parser.add_argument("--requirements", type=Path, help="requirements file of the artifact's dependencies")
    parser.add_argument("--source-dir", type=Path, default=Path.cwd(), help="where the packages are (default: .)")
    parser.add_argument("--out", type=Path, required=True, help="the artifact directory")
    args = parser.parse_args(argv)
    size = package(
        args.kind, packages=args.package, out=args.out, requirements=args.requirements, source_dir=args.source_dir
    )
    print(f"package.py: {args.kind} {' '.join(args.package) or '(dependencies only)'}: {size / 1e6:.1f} MB unzipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
