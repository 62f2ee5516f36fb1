"""Strict query strings: a parameter the matched route does not declare is a 422, never silently ignored.

The accepted names are read from the route itself (its dependant and every sub-dependency, aliases
included), so a parameter added to a route or to a shared filter dependency is accepted without a list to
keep up to date. A name may repeat only where it is declared as a list (FastAPI reads the others' first
value and would drop the rest without a word).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import Request
from fastapi._compat import field_annotation_is_sequence
from pydantic import AliasChoices, BaseModel

from sentrix.errors import ValidationFailed

# id(route) -> (route, accepted names, names that may repeat). Routes are unhashable (dataclass equality)
# and built once per app, so this stays small; holding the route keeps its id from being reused.
_DECLARED: dict[int, tuple[Any, frozenset[str], frozenset[str]]] = {}


def _names(alias: str, validation_alias: Any) -> list[str]:
    names = [alias]
    if isinstance(validation_alias, str):
        names.append(validation_alias)
    elif isinstance(validation_alias, AliasChoices):
        names.extend(c for c in validation_alias.choices if isinstance(c, str))
    return names


def declared_query_params(dependant: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(names, names that may repeat) of the query parameters a dependant and its sub-dependencies declare."""
    names: set[str] = set()
    repeatable: set[str] = set()
    stack, seen = [dependant], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for field in current.query_params:
            annotation = field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query-parameter model
                entries = [
                    (info.alias or name, info.validation_alias, info.annotation)
                    for name, info in annotation.model_fields.items()
                ]
            else:
                entries = [(field.alias, field.field_info.validation_alias, annotation)]
            for alias, validation_alias, field_annotation in entries:
                found = _names(alias, validation_alias)
                names.update(found)
                # The test FastAPI itself uses to read a parameter with getlist().
                if field_annotation_is_sequence(field_annotation):
                    repeatable.update(found)
        stack.extend(current.dependencies)
    return frozenset(names), frozenset(repeatable)


def _declared(route: Any) -> tuple[frozenset[str], frozenset[str]]:
    found = _DECLARED.get(id(route))
    if found is None or found[0] is not route:
        found = _DECLARED[id(route)] = (route, *declared_query_params(route.dependant))
    return found[1], found[2]


def reject_unknown_query_params(request: Request) -> None:
    """A dependency refusing (422) query parameters the matched route does not declare, and repeats of
    parameters that are not lists: a typo must not silently widen a filter."""
    route = request.scope.get("route")
    if route is None or not request.query_params or not hasattr(route, "dependant"):
        return
    allowed, repeatable = _declared(route)
    counts = Counter(key for key, _ in request.query_params.multi_items())
    unknown = sorted(set(counts) - allowed)
    repeated = sorted(k for k, n in counts.items() if n > 1 and k in allowed and k not in repeatable)
    if not unknown and not repeated:
        return
    problems = []
    if unknown:
        problems.append(f"Unknown query parameter(s): {', '.join(unknown)}")
    if repeated:
        problems.append(f"Given more than once but not a list: {', '.join(repeated)}")
    details: dict[str, Any] = {"unknown": unknown, "allowed": sorted(allowed)}
    if repeated:
        details["repeated"] = repeated
    key = "err.unknown_params" if unknown else "err.repeated_params"
    names = ", ".join(unknown or repeated)
    raise ValidationFailed("; ".join(problems), details=details, key=key, names=names)
