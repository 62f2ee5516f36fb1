"""infra/build/package.py, the build step behind every Makefile of `sam build`, on small trees in tmp_path.

The real pip install is exercised by test_build.py (through sam build); here pip is faked where only the
deps cache's behaviour is under test.
"""

from __future__ import annotations

import marshal
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import REPO_ROOT

sys.path.append(str(REPO_ROOT / "infra" / "build"))
import package  # infra/build is not a package


def write(path: Path, content: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def test_requirement_lines_drop_comments_and_blanks(tmp_path: Path) -> None:
    requirements = write(tmp_path / "requirements.txt", "# layer deps\nfastapi==0.1  # web\n\n  pg8000==1.0\n")

    assert package.requirement_lines(requirements) == ["fastapi==0.1", "pg8000==1.0"]
    assert package.requirement_lines(tmp_path / "absent.txt") == []


def test_runtime_provided_packages_and_their_metadata_are_removed(tmp_path: Path) -> None:
    # Given an install with botocore (pulled in by aws-xray-sdk) next to a package that needs to stay
    for name in ("botocore", "boto3", "jmespath"):
        write(tmp_path / name / "__init__.py")
    for dist in ("botocore-1.44.8.dist-info", "boto3-1.44.8.dist-info", "jmespath-1.1.0.dist-info"):
        write(tmp_path / dist / "METADATA")

    # When the runtime's packages are removed
    removed = package.remove_runtime_provided(tmp_path)

    # Then exactly those went, metadata included
    assert sorted(removed) == ["boto3", "botocore"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jmespath", "jmespath-1.1.0.dist-info"]


def test_trim_keeps_importable_code_only(tmp_path: Path) -> None:
    # Given an install with scripts, a test suite, sources, stubs and stale bytecode
    keep = [write(tmp_path / "lib" / "__init__.py"), write(tmp_path / "lib" / "testing" / "__init__.py")]
    keep.append(write(tmp_path / "lib" / "_speedups.cpython-312-x86_64-linux-gnu.so", "binary"))
    drop = [
        write(tmp_path / "bin" / "alembic", "#!/usr/bin/env python"),
        write(tmp_path / "lib" / "tests" / "test_lib.py", "x" * 100),
        write(tmp_path / "lib" / "_speedups.c", "int x;"),
        write(tmp_path / "lib" / "__init__.pyi"),
        write(tmp_path / "lib" / "__pycache__" / "__init__.cpython-311.pyc", "old"),
    ]

    # When it is trimmed
    freed = package.trim(tmp_path)

    # Then what Lambda imports stays (even a package's `testing` module) and the rest is gone
    assert all(path.exists() for path in keep)
    assert not any(path.exists() for path in drop)
    assert freed >= 100


def test_compiled_tree_is_unchecked_hash_bytecode_recorded_at_the_runtime_path(tmp_path: Path) -> None:
    # Given a package
    write(tmp_path / "pkg" / "__init__.py", "VALUE = 1\n")
    write(tmp_path / "pkg" / "mod.py", "def f():\n    return 2\n")

    # When it is compiled for a layer
    package.compile_tree(tmp_path, "/opt/python")

    # Then each module has a cpython-312 .pyc, hash-based and never checked, naming its path on Lambda
    pyc = tmp_path / "pkg" / "__pycache__" / "mod.cpython-312.pyc"
    data = pyc.read_bytes()
    assert int.from_bytes(data[4:8], "little") == 0b01
    assert marshal.loads(data[16:]).co_filename == "/opt/python/pkg/mod.py"  # noqa: S302 - our own build output
    assert (tmp_path / "pkg" / "__pycache__" / "__init__.cpython-312.pyc").is_file()


def test_a_module_that_does_not_compile_fails_the_build(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "broken.py", "def f(:\n")

    with pytest.raises(SystemExit, match="do not compile"):
        package.compile_tree(tmp_path, "/opt/python")


def test_function_package_ships_sources_and_fresh_bytecode_only(tmp_path: Path) -> None:
    # Given a function folder with local bytecode from another interpreter and no real requirements
    source = tmp_path / "src"
    write(source / "requirements.txt", "# dependencies come from the layers\n")
    write(source / "fn" / "handler.py", "def handler(event, context):\n    return event\n")
    write(source / "fn" / "__pycache__" / "handler.cpython-311.pyc", "stale")
    out = tmp_path / "artifact"

    # When it is packaged
    size = package.package(
        "function", packages=["fn"], out=out, requirements=source / "requirements.txt", source_dir=source
    )

    # Then the artifact holds the module and its 3.12 bytecode (recorded under /var/task), nothing else
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["fn/__pycache__/handler.cpython-312.pyc", "fn/handler.py"]
    pyc = (out / "fn" / "__pycache__" / "handler.cpython-312.pyc").read_bytes()
    assert marshal.loads(pyc[16:]).co_filename == "/var/task/fn/handler.py"  # noqa: S302 - our own build output
    assert size == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def test_dependencies_are_installed_once_per_requirements_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deps cache and a pip that records its calls (the real one runs in test_build.py)
    installs: list[Path] = []

    def fake_pip(requirements: Path, target: Path) -> None:
        installs.append(requirements)
        write(target / "dep" / "__init__.py", "X = 1\n")
        write(target / "botocore" / "__init__.py")

    monkeypatch.setattr(package, "pip_install", fake_pip)
    monkeypatch.setenv("SENTRIX_DEPS_CACHE", str(tmp_path / "cache"))
    requirements = write(tmp_path / "requirements.txt", "dep==1.0\n")

    # When two layers are built from the same requirements, then the requirements change
    package.install_dependencies(requirements, tmp_path / "first", "/opt/python")
    package.install_dependencies(requirements, tmp_path / "second", "/opt/python")
    write(requirements, "dep==2.0\n")
    package.install_dependencies(requirements, tmp_path / "third", "/opt/python")

    # Then pip ran once per distinct file, and every artifact got the trimmed, compiled dependencies
    assert len(installs) == 2
    for name in ("first", "second", "third"):
        assert (tmp_path / name / "dep" / "__pycache__" / "__init__.cpython-312.pyc").is_file()
        assert not (tmp_path / name / "botocore").exists()
    assert len(list((tmp_path / "cache").iterdir())) == 2
