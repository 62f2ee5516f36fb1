"""Every repository file README.md and docs/*.md name exists: a newcomer following them never meets a dead path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
# `code spans` and the targets of markdown links.
_NAMED = re.compile(r"`([^`\s]+)`|\]\(([^)\s]+)\)")
_PLACEHOLDER = re.compile(r"[<>{}*…$|]")
# Plain-text mentions of the conventional root documents (README.md, DESIGN.md, STYLE.md…).
_ROOT_DOCUMENT = re.compile(r"(?<![\w/.-])([A-Z][A-Z_]+\.md)\b")


def named_paths(text: str, top_level: set[str]) -> list[tuple[str, bool]]:
    """(path, is_link) for every repository path the markdown names: links always, code spans when they
    start with a top-level entry of the repository (`functions/…`, `Makefile`), never URLs or placeholders."""
    found = []
    for match in _NAMED.finditer(text):
        span, link = match.group(1), match.group(2)
        candidate = (link or span).split("#")[0].rstrip(".,:;)")
        if not candidate or re.match(r"^[a-z][a-z0-9+.-]*:", candidate) or candidate.startswith("/"):
            continue
        if _PLACEHOLDER.search(candidate):
            continue
        if span is not None and candidate.split("/")[0] not in top_level:
            continue
        found.append((candidate, link is not None))
    found += [(name, False) for name in _ROOT_DOCUMENT.findall(text) if (name, False) not in found]
    return found


def missing(document: Path, top_level: set[str], root: Path = REPO_ROOT) -> list[str]:
    """The paths `document` names that do not exist (a pytest node id also needs its test in the file)."""
    gone = []
    for path, is_link in named_paths(document.read_text(encoding="utf-8"), top_level):
        file_part, _, test_name = path.partition("::")
        target = (document.parent if is_link else root) / file_part
        if not target.exists() or (
            test_name and f"def {test_name.split('::')[-1]}(" not in target.read_text(encoding="utf-8")
        ):
            gone.append(path)
    return gone


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def top_level_entries(root: Path = REPO_ROOT) -> set[str]:
    # Dot-directories are machine state (.venv, .local, .aws-sam) except the CI entry point.
    return {p.name for p in root.iterdir() if not p.name.startswith(".")} | {".ci"}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_file_the_document_names_exists(document: Path) -> None:
    assert missing(document, top_level_entries()) == []


def test_the_check_reports_a_file_that_is_not_there(tmp_path: Path) -> None:
    # Given a document naming a real file, a missing one, a missing link, a missing test and a URL
    (tmp_path / "Makefile").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_real():\n    pass\n")
    document = tmp_path / "README.md"
    document.write_text(
        "Run `Makefile` and `tests/test_x.py::test_real`; the contract is in DESIGN.md §5,\n"
        "see [the guide](docs/guide.md), `tests/test_x.py::test_gone`, `GET /api/v1/health`,\n"
        "`https://example.org/x.md` and `functions/<name>/handler.py`.\n"
    )

    # Then exactly the missing ones are named
    assert missing(document, {"Makefile", "tests", "DESIGN.md", "functions"}, root=tmp_path) == [
        "docs/guide.md",
        "tests/test_x.py::test_gone",
        "DESIGN.md",
    ]
