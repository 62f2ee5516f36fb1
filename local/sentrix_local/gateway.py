"""An API Gateway (REST, proxy integration) emulator serving the routes declared in the template."""

from __future__ import annotations

import base64
import fnmatch
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sentrix_local.gateway_rules import Answer, gateway_response, is_binary, preflight
from sentrix_local.invoke import LocalFunction
from sentrix_local.template import ApiSpec, Route, StackSpec, stack_spec

STAGE = "v1"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
AUTH_CACHE_TTL_S = 300


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
    request_id: str | None = None,
    binary_media_types: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """A REST API (v1) proxy event exactly as API Gateway hands it to a Lambda integration.

    The body is base64-encoded when its Content-Type matches BinaryMediaTypes (the template's unless given);
    otherwise it is passed as text, bytes that are not UTF-8 replaced, as API Gateway mangles them.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    if binary_media_types is None:
        api = stack_spec().api
        binary_media_types = api.binary_media_types if api else ()
    binary = is_binary(headers.get("content-type"), binary_media_types)
    text = None if binary else body.decode("utf-8", errors="replace")
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
            "requestId": request_id or str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent")},
            "accountId": "000000000000",
            "apiId": "local",
        },
        "body": (base64.b64encode(body).decode() if text is None else text) if body else None,
        "isBase64Encoded": bool(body) and text is None,
    }


class Gateway:
    """Route matching, the REQUEST authorizer with its cache, API Gateway's own answers, proxy events in and out."""

    def __init__(self, spec: StackSpec, functions: dict[str, LocalFunction], *, throttling: bool | None = None) -> None:
        """`throttling` applies the template's MethodSettings limits (429 THROTTLED); by default only when
        SENTRIX_GATEWAY_THROTTLING=1, since test suites and bench/load.py send bursts the cloud would throttle."""
        self.routes = [compile_route(r) for r in spec.routes]
        if throttling is None:
            throttling = os.environ.get("SENTRIX_GATEWAY_THROTTLING") == "1"
        self.limits = (spec.api.throttling if spec.api else {}) if throttling else {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.functions = functions
        self.api: ApiSpec | None = spec.api
        self.binary_media_types = spec.api.binary_media_types if spec.api else ()
        self.authorizer = functions.get(spec.authorizer_function or "")
        self._auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def match(self, method: str, path: str) -> tuple[CompiledRoute, dict[str, str]] | None:
        for compiled in self.routes:
            found = compiled.pattern.match(path)
            if found and compiled.route.method == method:
                return compiled, dict(zip(compiled.names, found.groups(), strict=True))
        return None

    def _throttled(self, route: Route) -> bool:
        """A token bucket per method, as API Gateway keeps: the route's own MethodSettings or the stage's."""
        limits = self.limits.get((route.path, route.method)) or self.limits.get(("*", "*"))
        if limits is None:
            return False
        rate, burst = limits
        key, now = (route.path, route.method), time.monotonic()
        with self._cache_lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return True
            self._buckets[key] = (tokens - 1, now)
            return False

    def _declared(self, path: str) -> bool:
        return any(compiled.pattern.match(path) for compiled in self.routes)

    def _authorize(self, event: dict[str, Any]) -> str | dict[str, Any]:
        """Run the REQUEST authorizer (cached by the Authorization header like API Gateway does).

        Returns the authorizer context, or the gateway response type that refuses the request.
        """
        token = (event["headers"] or {}).get("authorization")
        if not token:
            # The identity source (the Authorization header) is missing: refused without calling the authorizer.
            return "UNAUTHORIZED"
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
                # A Lambda authorizer refuses by raising "Unauthorized"; any other error is its failure.
                return "UNAUTHORIZED" if str(exc) == "Unauthorized" else "AUTHORIZER_FAILURE"
            if not isinstance(result, dict) or "policyDocument" not in result:
                return "AUTHORIZER_CONFIGURATION_ERROR"
            with self._cache_lock:
                self._auth_cache[token] = (now + AUTH_CACHE_TTL_S, result)
        if not _policy_allows(result["policyDocument"], method_arn):
            return "ACCESS_DENIED"
        context = dict(result.get("context") or {})
        context["principalId"] = result.get("principalId")
        return context

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str) -> Answer:
        """One request, answered as API Gateway would; `headers` must have lower-case names."""
        parts = urlsplit(raw_path)
        context = _context(method, parts.path, source_ip)

        def refuse(kind: str) -> Answer:
            return gateway_response(self.api, kind, headers, context)

        if len(body) > MAX_BODY_BYTES:
            return refuse("REQUEST_TOO_LARGE")
        matched = self.match(method, parts.path)
        if matched is None:
            # SAM's Cors adds an OPTIONS mock to every declared path; anything else has no route.
            answer = None
            if method == "OPTIONS" and self._declared(parts.path):
                answer = preflight(self.api, headers, context)
            return answer or refuse("MISSING_AUTHENTICATION_TOKEN")
        found, params = matched
        context["resourcePath"] = found.route.path
        if self._throttled(found.route):
            return refuse("THROTTLED")
        event = proxy_event(
            method,
            found.route.path,
            parts.path,
            query=parts.query,
            headers=headers,
            body=body,
            path_parameters=params,
            source_ip=source_ip,
            request_id=context["requestId"],
            binary_media_types=self.binary_media_types,
        )
        if found.route.authorized:
            outcome = self._authorize(event)
            if isinstance(outcome, str):
                return refuse(outcome)
            event["requestContext"]["authorizer"] = outcome
        try:
            response = self.functions[found.route.function].invoke(event)
        except Exception:
            return refuse("DEFAULT_5XX")
        if not isinstance(response, dict) or "statusCode" not in response:
            return refuse("DEFAULT_5XX")
        return _proxy_response(response, is_binary(headers.get("accept"), self.binary_media_types))

    def oversized(self, method: str, raw_path: str, headers: dict[str, str]) -> Answer:
        """The answer to a body over API Gateway's 10 MB payload limit."""
        context = _context(method, urlsplit(raw_path).path, "")
        return gateway_response(self.api, "REQUEST_TOO_LARGE", headers, context)


def _context(method: str, path: str, source_ip: str) -> dict[str, str]:
    """The $context values a gateway response template may use."""
    return {
        "requestId": str(uuid.uuid4()),
        "httpMethod": method,
        "path": f"/{STAGE}{path}",
        "stage": STAGE,
        "identity.sourceIp": source_ip,
    }


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


def _proxy_response(response: dict[str, Any], binary_accepted: bool) -> Answer:
    """The function's answer as the client gets it.

    A base64 body is decoded only when the request's Accept matched BinaryMediaTypes; otherwise API Gateway
    sends the base64 text itself (with the function's Content-Type), which is what a cloud client would see.
    """
    headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") and binary_accepted else body.encode()
    return int(response["statusCode"]), headers, data


def serve(gateway: Gateway, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; returns the server so the caller can shut it down."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            lowered = {k.lower(): v for k, v in self.headers.items()}
            if length > MAX_BODY_BYTES:
                # Refused before reading the body.
                status, headers, data = gateway.oversized(self.command, self.path, lowered)
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
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
            # The stack log's one line format (sentrix_local.logs), like the functions' and the poller's lines.
            from sentrix_local.logs import say

            say("gateway", f"{self.address_string()} {fmt % args}")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="gateway", daemon=True).start()
    return server
