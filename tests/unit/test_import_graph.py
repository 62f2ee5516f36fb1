"""No import circles between the project's modules (issue #22; docs/architecture.md, "No import circles").

The graph is read from the source with `ast` (tests/support/import_graph.py says what counts as an edge):
every function under functions/*/ and the shared layer. Nothing is allowed: a circle found names its modules
and the lines of the imports that close it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support import import_graph

REPO = Path(__file__).resolve().parents[2]
ROOTS = [*sorted((REPO / "functions").glob("*/")), REPO / "layers" / "shared"]


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "src"
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def test_the_project_has_no_import_circles():
    # Given every function's package and the shared layer
    graph = import_graph.build(ROOTS)
    assert "sentrix_auth.api" in graph.modules and "sentrix.errors" in graph.modules  # the roots were read

    # When the strongly connected components are found
    found = import_graph.cycles(graph)

    # Then there are none
    components = [c for c in import_graph.strongly_connected(graph) if len(c) > 1]
    described = "\n".join(import_graph.describe(graph, cycle, REPO) for cycle in found)
    assert not found, f"import circles:\n{described}\nmodules in circles: {components}"


def test_a_circle_through_a_lazy_import_is_found_and_named(tmp_path):
    # Given a package whose port builds its implementations inside a function (the old providers/base.py)
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": '"""A package."""\n',
            "pkg/base.py": """
                def make():
                    from pkg.impl import Impl

                    return Impl()
            """,
            "pkg/impl.py": "from pkg.base import make\n\nclass Impl:\n    pass\n",
            "pkg/other.py": "from pkg import impl\n",
        },
    )

    # When its graph is checked
    graph = import_graph.build([root])
    found = import_graph.cycles(graph)

    # Then exactly that circle is reported, with the lines of both imports
    assert found == [["pkg.base", "pkg.impl", "pkg.base"]]
    assert import_graph.describe(graph, found[0], root) == (
        "pkg.base -> pkg.impl -> pkg.base\n"
        "    pkg.base -> pkg.impl  (pkg/base.py:3)\n"
        "    pkg.impl -> pkg.base  (pkg/impl.py:1)"
    )


def test_a_circle_through_relative_imports_and_a_package_init_is_found(tmp_path):
    # Given a.b imports a.c (relatively), and a.c reaches back through the package a.b's __init__
    root = _package(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/b/__init__.py": "from . import helper\n",
            "a/b/helper.py": "from ..c import thing\n",
            "a/c.py": "import a.b\n\nthing = 1\n",
        },
    )

    # When its graph is checked
    found = import_graph.cycles(import_graph.build([root]))

    # Then the three modules form one circle
    assert found == [["a.b", "a.b.helper", "a.c", "a.b"]]


def test_imports_for_type_checking_only_and_one_way_imports_are_no_circle(tmp_path):
    # Given a one-way chain, and the way back only under `if TYPE_CHECKING:`
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/routes.py": "from pkg.logic import run\n",
            "pkg/logic.py": """
                from typing import TYPE_CHECKING

                from pkg import dal

                if TYPE_CHECKING:
                    from pkg.routes import router

                def run():
                    from pkg.dal import read  # lazy, but one way

                    return read()
            """,
            "pkg/dal.py": "import json\n\ndef read():\n    return json.dumps({})\n",
        },
    )

    # When its graph is checked
    graph = import_graph.build([root])

    # Then the edges are there (the lazy one included, the TYPE_CHECKING one not) and no circle is found
    assert set(graph.edges["pkg.logic"]) == {"pkg", "pkg.dal"}
    assert set(graph.edges["pkg.routes"]) == {"pkg", "pkg.logic"}
    assert import_graph.cycles(graph) == []
