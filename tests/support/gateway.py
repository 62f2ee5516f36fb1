"""The local API Gateway emulator in-process, on a free port, for tests that go through HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def in_process_gateway(functions: Iterable[str] | None = None) -> Iterator[str]:
    """Base URL (…/api/v1) of a gateway serving the template's routes (authorizer and its cache included).

    `functions` limits which functions are loaded (logical ids); routes of the others answer 502.
    """
    from sentrix_local.gateway import Gateway, serve
    from sentrix_local.invoke import LocalFunction
    from sentrix_local.processes import free_port
    from sentrix_local.template import stack_spec

    spec = stack_spec()
    names = list(functions) if functions is not None else list(spec.functions)
    port = free_port()
    server = serve(Gateway(spec, {name: LocalFunction(spec.functions[name]) for name in names}), "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def builtin_gateway(functions: Iterable[str]) -> Iterator[str]:
    """`in_process_gateway` with a signing key, the built-in identity provider (unless a test chose another)
    and fresh caches: what a test that mints tokens and calls the functions through HTTP needs."""
    from tests.conftest import reset_caches
    from tests.support.identity import ensure_signing_key

    ensure_signing_key()
    os.environ.setdefault("AUTH_PROVIDER", "builtin")
    reset_caches()
    with in_process_gateway(functions) as url:
        yield url


def client_from(base_url: str, source_ip: str, **options) -> httpx.Client:
    """An HTTP client whose connections leave from `source_ip` (any 127.x.y.z on Linux): the gateway puts that
    address in `requestContext.identity.sourceIp`, as API Gateway does with a real client's address."""
    transport = httpx.HTTPTransport(local_address=source_ip)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30, **options)
