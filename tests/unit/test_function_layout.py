"""One shape for every function (issue #22; docs/architecture.md, "One layout").

Each function's package holds, at its top, only its entry modules (those the template's `Handler:` names, and a
CLI), `settings.py` and the rooms of the shared layout; a room named for one function's own concept is allowed in
that function only. Route functions stay thin doorways: at most 30 lines from `def` to their last line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p for p in (REPO / "functions").glob("*/sentrix_*") if p.is_dir())
TEMPLATE = (REPO / "infra" / "template.yaml").read_text(encoding="utf-8")

SHARED_ROOMS = {"routes", "logic", "dal", "schemas", "adapters"}
OWN_ROOMS = {"sentrix_auth": {"providers"}, "sentrix_report": {"render"}}
CLIS = {"sentrix_auth": {"keytool"}}
MAX_ROUTE_LINES = 30
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "options", "head", "api_route"}


def _entries(package: str) -> set[str]:
    """The modules of `package` the template names as Lambda handlers."""
    return set(re.findall(rf"Handler: {package}\.(\w+)\.handler", TEMPLATE))


def _top(package: Path) -> tuple[set[str], set[str]]:
    """(modules, rooms) at the package's top; a directory counts when it holds Python source."""
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    rooms = {p.name for p in package.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    return modules, rooms


@pytest.mark.parametrize("package", FUNCTIONS, ids=lambda p: p.name)
def test_a_functions_top_holds_its_entries_settings_and_the_shared_rooms(package):
    modules, rooms = _top(package)
    entries = _entries(package.name)
    assert entries, f"the template names no handler in {package.name}"
    allowed_modules = entries | {"settings"} | CLIS.get(package.name, set())
    assert modules <= allowed_modules, sorted(modules - allowed_modules)
    allowed_rooms = SHARED_ROOMS | OWN_ROOMS.get(package.name, set())
    assert rooms <= allowed_rooms, sorted(rooms - allowed_rooms)


def _route_functions(path: Path) -> list[tuple[str, int]]:
    """(name, lines from `def` to the end) of each function decorated as an HTTP route in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(call, ast.Attribute) and call.attr in HTTP_METHODS:
                found.append((node.name, node.end_lineno - node.lineno + 1))
                break
    return found


ROUTE_FILES = sorted(p for package in FUNCTIONS for p in (package / "routes").glob("*.py"))


@pytest.mark.parametrize("path", ROUTE_FILES, ids=lambda p: str(p.relative_to(REPO / "functions")))
def test_route_functions_are_thin_doorways(path):
    long = [(name, lines) for name, lines in _route_functions(path) if lines > MAX_ROUTE_LINES]
    assert not long, f"route functions over {MAX_ROUTE_LINES} lines (move their work into logic/): {long}"


def test_the_route_checker_finds_routes_and_measures_them(tmp_path):
    # Given a routes module with a 3-line route, a 32-line route and a helper that is no route
    body = "\n".join(f"    x{i} = {i}" for i in range(30))
    source = (
        "@router.get('/a')\ndef short():\n    return 1\n\n"
        f"@router.post('/b', status_code=201)\nasync def long():\n{body}\n    return x0\n\n"
        "def helper():\n    return 2\n"
    )
    path = tmp_path / "r.py"
    path.write_text(source, encoding="utf-8")
    # Then only the two routes are found, with their lengths
    assert _route_functions(path) == [("short", 2), ("long", 32)]
