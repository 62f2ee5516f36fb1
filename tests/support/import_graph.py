"""The import graph of the project's own modules, read with `ast` (nothing is imported), and its circles.

What counts as an edge (docs/architecture.md, "No import circles"):
- every `import` / `from … import` statement anywhere in a module: at the top, inside functions and methods
  (a lazy import is still a dependency; it only moves the moment it runs), inside `try:` blocks;
- except the ones under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`): annotations only, never run;
- only imports of project modules (third-party and the standard library are left out);
- a submodule: `import a.b.c` and `from a.b import c` (when `a/b/c.py` or `a/b/c/` exists) point at `a.b.c`,
  and also at the packages on the way (`a`, `a.b`), because Python runs their `__init__` first. When `c` is a
  name defined in `a/b.py` or `a/b/__init__.py`, the edge points at `a.b`. Relative imports are resolved
  against the importing module's package.
A circle is a strongly connected component of more than one module, or a module importing itself.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: Path
    line: int


@dataclass
class ImportGraph:
    modules: dict[str, Path] = field(default_factory=dict)
    edges: dict[str, dict[str, Edge]] = field(default_factory=dict)  # source -> target -> the first statement

    def add(self, edge: Edge) -> None:
        if edge.source != edge.target or not _is_package(self.modules[edge.source]):
            self.edges.setdefault(edge.source, {}).setdefault(edge.target, edge)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(roots: Iterable[Path]) -> dict[str, Path]:
    """Every module under the import roots (a root is a directory on sys.path), by dotted name."""
    modules: dict[str, Path] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                continue
            modules[module_name(root, path)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements at any depth, leaving out the bodies of `if TYPE_CHECKING:` (their `else:` counts)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _package_of(name: str, path: Path) -> str:
    return name if _is_package(path) else name.rpartition(".")[0]


def _with_ancestors(target: str, modules: dict[str, Path]) -> list[str]:
    """`a.b.c` and the project packages Python runs on the way to it (`a`, `a.b`)."""
    parts = target.split(".")
    names = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [n for n in names if n in modules]


def _targets(node: ast.Import | ast.ImportFrom, name: str, path: Path, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        found: list[str] = []
        for alias in node.names:
            found.extend(_with_ancestors(alias.name, modules))
        return found
    if node.level:
        package = _package_of(name, path).split(".")
        base_parts = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    found = _with_ancestors(base, modules)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            found.append(submodule)
    return found


def build(roots: Iterable[Path]) -> ImportGraph:
    """The graph of imports between the modules under `roots`."""
    graph = ImportGraph(modules=discover(roots))
    for name, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _import_nodes(tree):
            for target in _targets(node, name, path, graph.modules):
                graph.add(Edge(name, target, path, node.lineno))
    return graph


def strongly_connected(graph: ImportGraph) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative: the graph may be deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.edges.get(start, {}))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.edges.get(succ, {})))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _shortest_cycle(graph: ImportGraph, members: set[str]) -> list[str]:
    """One circle through the component's first module, shortest first: [a, b, …, a]."""
    start = min(members)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph.edges.get(node, {})):
                if succ not in members:
                    continue
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if succ not in previous:
                    previous[succ] = node
                    following.append(succ)
        frontier = following
    return [start, start]


def cycles(graph: ImportGraph) -> list[list[str]]:
    """One circle per strongly connected component that has one (a self-import counts)."""
    found = []
    for component in strongly_connected(graph):
        members = set(component)
        if len(component) > 1 or component[0] in graph.edges.get(component[0], {}):
            found.append(_shortest_cycle(graph, members))
    return found


def describe(graph: ImportGraph, cycle: list[str], base: Path | None = None) -> str:
    """`a -> b -> a` with where each import is written."""
    steps = []
    for source, target in itertools.pairwise(cycle):
        edge = graph.edges[source][target]
        where = edge.path.relative_to(base) if base else edge.path
        steps.append(f"    {source} -> {target}  ({where}:{edge.line})")
    return " -> ".join(cycle) + "\n" + "\n".join(steps)
