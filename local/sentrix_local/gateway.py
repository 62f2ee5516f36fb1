"""An API Gateway (REST, proxy integration) emulator serving the routes declared in the template."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sentrix_local.invoke import LocalFunction
from sentrix_local.template import Route, StackSpec

STAGE = "v1"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
AUTH_CACHE_TTL_S = 300
BINARY_PREFIXES = ("multipart/form-data", "image/", "application/octet-stream", "application/pdf")


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    names: tuple[str, ...]


def compile_route(route: Route) -> CompiledRoute:
    names = tuple(re.findall(r"\{([^}/]+)\}", route.path))
    regex = re.sub(r"\\\{[^}/]+\\\}", "([^/]+)", re.escape(route.path))
    return CompiledRoute(route, re.compile(f"^{regex}$"), names)


def proxy_event(
    method: str,
    resource: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A REST API (v1) proxy event exactly as API Gateway hands it to a Lambda integration."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    binary = headers.get("content-type", "").startswith(BINARY_PREFIXES)
    try:
        text = None if binary else body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent")},
            "accountId": "000000000000",
            "apiId": "local",
        },
        "body": (base64.b64encode(body).decode() if text is None else text) if body else None,
        "isBase64Encoded": bool(body) and text is None,
    }


# The headers infra/template.yaml's GatewayResponses add to the gateway's own answers (tests/infra/invariants_http.py).
GATEWAY_RESPONSE_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _gateway_error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", **GATEWAY_RESPONSE_HEADERS}
    return status, headers, json.dumps({"message": message}).encode()


class Gateway:
    """Route matching, the REQUEST authorizer with its cache, and proxy events in and out."""

    def __init__(self, spec: StackSpec, functions: dict[str, LocalFunction]) -> None:
        self.routes = [compile_route(r) for r in spec.routes]
        self.functions = functions
        self.authorizer = functions.get(spec.authorizer_function or "")
        self._auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def match(self, method: str, path: str) -> tuple[CompiledRoute, dict[str, str]] | None:
        for compiled in self.routes:
            found = compiled.pattern.match(path)
            if found and compiled.route.method == method:
                return compiled, dict(zip(compiled.names, found.groups(), strict=True))
        return None

    def _authorize(self, event: dict[str, Any]) -> tuple[int, str] | dict[str, Any]:
        """Run the REQUEST authorizer (cached by the Authorization header like API Gateway does)."""
        token = (event["headers"] or {}).get("authorization")
        if not token:
            return 401, "Unauthorized"
        method_arn = (
            f"arn:aws:execute-api:us-east-1:000000000000:local/{STAGE}/{event['httpMethod']}{event['resource']}"
        )
        now = time.monotonic()
        with self._cache_lock:
            cached = self._auth_cache.get(token)
        if cached and cached[0] > now:
            result = cached[1]
        else:
            auth_event = {
                "type": "REQUEST",
                "methodArn": method_arn,
                "resource": event["resource"],
                "path": event["path"],
                "httpMethod": event["httpMethod"],
                "headers": event["headers"],
                "queryStringParameters": event["queryStringParameters"],
                "pathParameters": event["pathParameters"],
                "requestContext": event["requestContext"],
            }
            try:
                result = self.authorizer.invoke(auth_event) if self.authorizer else None
            except Exception as exc:
                return (401, "Unauthorized") if str(exc) == "Unauthorized" else (500, "Internal server error")
            if not isinstance(result, dict) or "policyDocument" not in result:
                return 500, "Internal server error"
            with self._cache_lock:
                self._auth_cache[token] = (now + AUTH_CACHE_TTL_S, result)
        if not _policy_allows(result["policyDocument"], method_arn):
            return 403, "User is not authorized to access this resource"
        context = dict(result.get("context") or {})
        context["principalId"] = result.get("principalId")
        return context

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        if len(body) > MAX_BODY_BYTES:
            return _gateway_error(413, "Request Too Long")
        matched = self.match(method, parts.path)
        if matched is None:
            # What API Gateway answers for any method/path it has no route for.
            return _gateway_error(403, "Missing Authentication Token")
        found, params = matched
        event = proxy_event(
            method,
            found.route.path,
            parts.path,
            query=parts.query,
            headers=headers,
            body=body,
            path_parameters=params,
            source_ip=source_ip,
        )
        if found.route.authorized:
            outcome = self._authorize(event)
            if isinstance(outcome, tuple):
                return _gateway_error(*outcome)
            event["requestContext"]["authorizer"] = outcome
        try:
            response = self.functions[found.route.function].invoke(event)
        except Exception:
            return _gateway_error(502, "Internal server error")
        return _proxy_response(response)


def _policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    allowed = False
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _proxy_response(response: Any) -> tuple[int, dict[str, str], bytes]:
    if not isinstance(response, dict) or "statusCode" not in response:
        return _gateway_error(502, "Internal server error")
    headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return int(response["statusCode"]), headers, data


def serve(gateway: Gateway, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; returns the server so the caller can shut it down."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                status, headers, data = _gateway_error(413, "Request Too Long")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                lowered = {k.lower(): v for k, v in self.headers.items()}
                status, headers, data = gateway.handle(self.command, self.path, lowered, body, self.client_address[0])
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

        def log_message(self, fmt: str, *args: Any) -> None:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            print(f"{stamp} gateway {self.address_string()} {fmt % args}", flush=True)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="gateway", daemon=True).start()
    return server
