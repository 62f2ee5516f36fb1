"""The merged OpenAPI document of the whole API: every HTTP function's app, as API Gateway exposes it.

Each function's FastAPI app describes its own routes; infra/template.yaml says which of them API Gateway
forwards and which go through the authorizer. The merged document keeps exactly the template's routes, each
described by the app that serves it, marks the authorized ones with the bearer scheme (and the 401/403 that
the authorizer or the function answers), and merges the component schemas.

    python -m sentrix_local.openapi            # write docs/openapi.json
    python -m sentrix_local.openapi --check    # exit 1 if docs/openapi.json is stale
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from sentrix_local.template import REPO_ROOT, Route, StackSpec, stack_spec

DOCUMENT_PATH = REPO_ROOT / "docs" / "openapi.json"
BEARER = "bearerAuth"
REFUSAL = "AuthorizationRefusal"


def gateway_path_serves(gateway_path: str, app_path: str) -> bool:
    """Does a request API Gateway forwards for `gateway_path` reach the app route `app_path`?

    API Gateway takes path parameters only as whole segments ({y}), which carry a suffixed app segment
    ({y}.mvt) too.
    """
    gateway, app = gateway_path.split("/"), app_path.split("/")
    return len(gateway) == len(app) and all(
        g == a or (g.startswith("{") and g.endswith("}") and "{" in a) for g, a in zip(gateway, app, strict=True)
    )


def app_document(spec: StackSpec, function: str) -> dict[str, Any]:
    """The OpenAPI document of one function's app (imported from its handler's module, like Lambda does)."""
    code_dir = str(spec.functions[function].code_dir)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module = spec.functions[function].handler.rpartition(".")[0]
    return copy.deepcopy(importlib.import_module(module).app.openapi())


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in renames:
                node = {**node, "$ref": f"#/components/schemas/{renames[name]}"}
        return {key: _rename_refs(value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_refs(value, renames) for value in node]
    return node


def _function_prefix(function: str) -> str:
    return re.sub(r"Function$", "", function)


def _refusal_responses(existing: dict[str, Any]) -> dict[str, Any]:
    refusal = {"application/json": {"schema": {"$ref": f"#/components/schemas/{REFUSAL}"}}}
    described = {
        "401": "No valid access token (API Gateway's authorizer), or the session has ended",
        "403": "The token may not call this route, the account is deactivated, or the role is too low",
    }
    return {
        status: {"description": (existing.get(status) or {}).get("description") or text, "content": refusal}
        for status, text in described.items()
    }


def build_document(spec: StackSpec | None = None) -> dict[str, Any]:
    """One OpenAPI 3.1 document for every route of the template, described by the app that serves it."""
    spec = spec or stack_spec()
    # Preflights (OPTIONS) are CORS plumbing answered before routing, not operations of the API.
    operations = [route for route in spec.routes if route.method != "OPTIONS"]
    routes_by_function: dict[str, list[Route]] = {}
    for route in operations:
        routes_by_function.setdefault(route.function, []).append(route)

    documents = {function: app_document(spec, function) for function in routes_by_function}
    schemas: dict[str, Any] = {}
    renames: dict[str, dict[str, str]] = {}
    for function, document in documents.items():
        renames[function] = {}
        for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
            if name in schemas and schemas[name] != schema:
                renames[function][name] = f"{_function_prefix(function)}{name}"
    for function, document in documents.items():
        for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
            schemas[renames[function].get(name, name)] = _rename_refs(schema, renames[function])

    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, None] = {}
    for route in operations:
        document = documents[route.function]
        method = route.method.lower()
        matches = [
            path for path, item in document["paths"].items() if method in item and gateway_path_serves(route.path, path)
        ]
        if len(matches) != 1:
            raise ValueError(f"{route.method} {route.path}: {route.function}'s app has {len(matches)} matching routes")
        operation = _rename_refs(document["paths"][matches[0]][method], renames[route.function])
        operation["x-sentrix-function"] = route.function
        if route.authorized:
            operation["security"] = [{BEARER: []}]
            operation["responses"].update(_refusal_responses(operation["responses"]))
        operation["responses"] = dict(sorted(operation["responses"].items()))
        for tag in operation.get("tags", []):
            tags.setdefault(tag)
        paths.setdefault(matches[0], {})[method] = operation

    schemas[REFUSAL] = {
        "title": REFUSAL,
        "description": (
            "The function's error envelope, or API Gateway's own refusal: the envelope with type `gateway` in the "
            "cloud (the template's GatewayResponses), `{message}` from the local gateway emulator."
        ),
        "anyOf": [
            {"$ref": "#/components/schemas/ErrorEnvelope"},
            {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
                "additionalProperties": False,
            },
        ],
    }
    first = next(iter(documents.values()))
    return {
        "openapi": first["openapi"],
        "info": {
            "title": "Sentrix API",
            "version": first["info"]["version"],
            "description": (
                "Every route of the Sentrix API under /api/v1, merged from the auth, upload and report functions "
                "(x-sentrix-function names the one serving each route). Errors use one envelope: "
                '{"error": {id, code, message, type, timestamp, details?}}. Generated by '
                "`python -m sentrix_local.openapi` from infra/template.yaml and the functions' apps."
            ),
        },
        "paths": {path: dict(sorted(item.items())) for path, item in paths.items()},
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The access token from POST /api/v1/login, /register or /refresh",
                }
            },
        },
        "tags": [{"name": tag} for tag in tags],
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the written document is stale")
    parser.add_argument("--output", type=Path, default=DOCUMENT_PATH)
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
