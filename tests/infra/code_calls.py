"""The AWS calls a function's code can make, found statically: imports from its handler, then a call graph.

Starting points: the Lambda handler module's top level, the top level of every module it imports (function package
and shared layer, imports inside functions included) and, for HTTP functions, the route handlers the template
routes to that function (a router's other routes are never reached through API Gateway). From there every call
is followed by name:

- `f(...)`, or `f` passed on (`Depends(f)`, `store_for or S3ImageStore`), to the def or class it names in that
  module (its own or imported);
- `module.f(...)` to `f` of that module;
- `x.m(...)`, or `x.m` passed on, to method `m` of every class the calling module names (or the caller's own
  class), and of every class defining `m` beside a Protocol the module names (a port's real implementation).

A call `x.op(...)` where `op` is an operation of a boto3 client (botocore's service models), or one of the client
helpers and Powertools calls in `HELPERS`, is an AWS call; resolving it to IAM actions is iam_usage's job.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "layers" / "shared"
# Services whose operations count as AWS calls (a name in several is resolved by the clients the module builds).
SERVICES = (
    "s3",
    "sqs",
    "secretsmanager",
    "ssm",
    "kms",
    "sts",
    "cloudwatch",
    "logs",
    "lambda",
    "sns",
    "rds",
    "cloudformation",
)
# Calls that are not botocore operations but need IAM all the same: (service, attribute called).
HELPERS = {
    "generate_presigned_url": "s3",
    "generate_presigned_post": "s3",
    "get_secret": "secretsmanager",  # aws_lambda_powertools.utilities.parameters.get_secret → GetSecretValue
}
ROUTE_METHODS = {"get", "post", "put", "patch", "delete"}


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str  # the client method, e.g. get_object; for presigned URLs "generate_presigned_url:get_object"
    where: str  # module:line
    # False when the name is a boto3 operation's but nothing says the receiver is a client (no client of that
    # service built in the module, no service or "client" in the receiver's name): iam_usage.NOT_AWS decides.
    certain: bool = True


@dataclass
class Def:
    module: str
    qualname: str
    cls: str | None
    node: ast.AST


@functools.cache
def operations() -> dict[str, frozenset[str]]:
    """Client method name → the services (of SERVICES) that have it."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    found: dict[str, set[str]] = {}
    for service in SERVICES:
        model = session.get_service_model(service)
        for name in model.operation_names:
            found.setdefault(xform_name(name), set()).add(service)
    return {name: frozenset(services) for name, services in found.items()}


def module_path(module: str, search: Iterable[Path]) -> Path | None:
    parts = module.split(".")
    for base in search:
        for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


class Module:
    """One parsed module: its imports, classes, defs and the names it mentions."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self.tree = ast.parse(path.read_text(), str(path))
        self.is_package = path.name == "__init__.py"
        self.imported_modules: dict[str, str] = {}  # local name → module
        self.imported_names: dict[str, tuple[str, str]] = {}  # local name → (module, name)
        self.all_imports: set[str] = set()
        self.classes: dict[str, ast.ClassDef] = {}
        self.defs: dict[str, Def] = {}
        self.clients: set[str] = set()  # services of the clients it builds: client("s3"), boto3.client("sqs")
        self.names: set[str] = {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}
        self._read()

    def _absolute(self, level: int, module: str | None) -> str:
        if not level:
            return module or ""
        base = self.name.split(".")
        base = base if self.is_package else base[:-1]
        base = base[: len(base) - (level - 1)]
        return ".".join([*base, module] if module else base)

    def _read(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.all_imports.add(alias.name)
                    if alias.asname:
                        self.imported_modules[alias.asname] = alias.name
                    else:
                        self.imported_modules.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                source = self._absolute(node.level, node.module)
                self.all_imports.add(source)
                for alias in node.names:
                    self.imported_names[alias.asname or alias.name] = (source, alias.name)
                    self.all_imports.add(f"{source}.{alias.name}")  # maybe a submodule
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if callee == "client" and isinstance(node.args[0].value, str):
                    self.clients.add(node.args[0].value)
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        self.defs[f"{node.name}.{item.name}"] = Def(
                            self.name, f"{node.name}.{item.name}", node.name, item
                        )
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.defs[node.name] = Def(self.name, node.name, None, node)

    def top_level(self) -> list[ast.stmt]:
        """Statements run at import (class bodies too, but not def bodies)."""
        out: list[ast.stmt] = []
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out += node.decorator_list  # type: ignore[arg-type]
            elif isinstance(node, ast.ClassDef):
                out += [item for item in node.body if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)]
                out += node.bases  # type: ignore[arg-type]
            else:
                out.append(node)
        return out


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with parameters as {}


def _route_of(module: Module, node: ast.AST) -> Route | None:
    """The route a def is registered for by a `@router.<method>("/path")` decorator, with its router's prefix."""
    for decorator in getattr(node, "decorator_list", []):
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_METHODS
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
        ):
            prefix = _router_prefix(module, getattr(decorator.func.value, "id", ""))
            return Route(decorator.func.attr.upper(), normalise(prefix + decorator.args[0].value))
    return None


def _router_prefix(module: Module, router: str) -> str:
    for node in module.tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", None) == router for t in node.targets)
            and isinstance(node.value, ast.Call)
        ):
            for keyword in node.value.keywords:
                if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant):
                    return keyword.value.value
    return ""


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


class Program:
    """The modules one handler imports (package and shared layer) and the AWS calls reachable from it."""

    def __init__(self, code_dir: Path, handler: str, routes: set[Route] | None, extra: Iterable[Path] = ()) -> None:
        self.search = [code_dir, SHARED, *extra]
        self.modules: dict[str, Module] = {}
        self.routes = routes
        module_name, _, self.handler = handler.rpartition(".")
        self._load(module_name)
        self.entry = module_name

    def _load(self, name: str) -> None:
        pending = [name]
        while pending:
            current = pending.pop()
            if current in self.modules:
                continue
            path = module_path(current, self.search)
            if path is None:
                continue  # a third-party or stdlib module: not ours to scan
            module = Module(current, path)
            self.modules[current] = module
            parts = current.split(".")
            pending += [".".join(parts[:i]) for i in range(1, len(parts))]  # packages run their __init__
            pending += sorted(module.all_imports)

    # --- the graph ---------------------------------------------------------------------------------------
    def _lookup(self, module: Module, name: str, hops: int = 0) -> list[Def]:
        """What a bare name means in `module`: its own def or class, or the one it imports (re-exports followed)."""
        if name in module.defs:
            return [module.defs[name]]
        if name in module.classes:
            return self._class_defs(module, name)
        if name in module.imported_names and hops < 10:
            source, original = module.imported_names[name]
            target = self.modules.get(source)
            if target is not None and (target, original) != (module, name):
                return self._lookup(target, original, hops + 1)
        return []

    def _class_defs(self, module: Module, cls: str) -> list[Def]:
        init = module.defs.get(f"{cls}.__init__")
        return [init] if init else []

    def _classes_known_to(self, refs: Iterable[tuple[Module, str]]) -> list[tuple[Module, str]]:
        """Classes named by `refs` ((module, name) pairs); a Protocol brings every class that implements it."""
        known: list[tuple[Module, str]] = []
        for module, name in refs:
            found = self._class_named(module, name)
            if found is None:
                continue
            known.append(found)
            target, cls = found
            if any(getattr(b, "id", None) == "Protocol" for b in target.classes[cls].bases):
                known += self._implementations(target, cls)
        return known

    def _implementations(self, module: Module, protocol: str) -> list[tuple[Module, str]]:
        """Classes of the program that define every method the Protocol declares (structural typing)."""
        wanted = {key.split(".", 1)[1] for key in module.defs if key.startswith(f"{protocol}.")}
        found = []
        for other in self.modules.values():
            for cls in other.classes:
                if (other, cls) != (module, protocol) and wanted <= {
                    key.split(".", 1)[1] for key in other.defs if key.startswith(f"{cls}.")
                }:
                    found.append((other, cls))
        return found

    def _class_named(self, module: Module, name: str, hops: int = 0) -> tuple[Module, str] | None:
        if name in module.classes:
            return module, name
        if name in module.imported_names and hops < 10:  # re-exports, never a cycle
            source, original = module.imported_names[name]
            target = self.modules.get(source)
            if target is not None and (target, original) != (module, name):
                return self._class_named(target, original, hops + 1)
        return None

    def _edges(
        self, module: Module, nodes: Iterable[ast.AST], scope: Iterable[ast.AST], own: str | None
    ) -> Iterator[Def]:
        """Defs that `nodes` call or pass on. `x.m` resolves among the classes named in `scope` (the def with its
        annotations, and a method's whole class); `self.m` and `cls.m` among the caller's own class."""
        attributes: set[str] = set()
        own_attributes: set[str] = set()
        for root in nodes:
            for node in ast.walk(root):
                if isinstance(node, ast.Name):
                    yield from self._lookup(module, node.id)
                elif isinstance(node, ast.Attribute):
                    base = node.value
                    if isinstance(base, ast.Name) and base.id in module.imported_modules:
                        target = self.modules.get(module.imported_modules[base.id])
                        if target is not None:
                            yield from self._lookup(target, node.attr)
                        continue
                    if isinstance(base, ast.Name) and base.id in module.imported_names:
                        source, original = module.imported_names[base.id]
                        target = self.modules.get(f"{source}.{original}")
                        if target is not None:  # `from pkg import module` then module.f
                            yield from self._lookup(target, node.attr)
                            continue
                    if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                        own_attributes.add(node.attr)
                    else:
                        attributes.add(node.attr)
        refs = {(module, n.id) for root in scope for n in ast.walk(root) if isinstance(n, ast.Name)}
        for _, name in list(refs):
            # what a called function returns is known too: `get_provider().login(...)`
            for called in self._lookup(module, name):
                returns = getattr(called.node, "returns", None)
                if returns is not None:
                    owner = self.modules[called.module]
                    refs |= {(owner, n.id) for n in ast.walk(returns) if isinstance(n, ast.Name)}
                    refs |= {
                        (owner, n.value)
                        for n in ast.walk(returns)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    }
        targets = [(c, attributes) for c in self._classes_known_to(refs)]
        if own is not None:
            targets.append(((module, own), own_attributes | attributes))
        for (target, cls), wanted in targets:
            for attribute in wanted:
                found = target.defs.get(f"{cls}.{attribute}")
                if found is not None:
                    yield found
                for base in target.classes[cls].bases:  # one level of inheritance within our code
                    parent = self._class_named(target, getattr(base, "id", ""))
                    if parent is not None and f"{parent[1]}.{attribute}" in parent[0].defs:
                        yield parent[0].defs[f"{parent[1]}.{attribute}"]

    def _aws_calls(self, module: Module, nodes: Iterable[ast.AST]) -> Iterator[AwsCall]:
        known = operations()
        for root in nodes:
            for node in ast.walk(root):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                name = node.func.attr
                where = f"{module.name}:{node.lineno}"
                if name in HELPERS:
                    operation = name
                    if name == "generate_presigned_url" and node.args and isinstance(node.args[0], ast.Constant):
                        operation = f"{name}:{node.args[0].value}"
                    yield AwsCall(HELPERS[name], operation, where)
                elif name in known:
                    services = known[name]
                    if len(services) > 1:
                        services = services & module.clients or services
                    receiver = ast.unparse(node.func.value).lower()
                    certain = bool(services & module.clients) or any(hint in receiver for hint in ("client", *services))
                    yield AwsCall("|".join(sorted(services)), name, where, certain)

    def reachable_calls(self) -> list[AwsCall]:
        """Every AWS call reachable from the handler module's import (and the routes the template gives it)."""
        seen: set[tuple[str, str]] = set()
        pending: list[Def] = []
        calls: list[AwsCall] = []
        entry = self.modules[self.entry]
        if self.handler in entry.defs:
            pending.append(entry.defs[self.handler])
        for module in self.modules.values():
            calls += self._aws_calls(module, module.top_level())
            pending += self._edges(module, module.top_level(), module.top_level(), None)
            for definition in module.defs.values():
                route = _route_of(module, definition.node)
                if route is not None and (self.routes is None or route in self.routes):
                    pending.append(definition)
        while pending:
            definition = pending.pop()
            key = (definition.module, definition.qualname)
            if key in seen:
                continue
            seen.add(key)
            module = self.modules[definition.module]
            node = definition.node
            # Defaults are run too: FastAPI calls the dependencies a route names there (Depends(...)).
            body = [*getattr(node, "body", []), *node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            calls += self._aws_calls(module, body)
            scope = [node, *([module.classes[definition.cls]] if definition.cls else [])]
            pending += self._edges(module, body, scope, definition.cls)
        return calls
