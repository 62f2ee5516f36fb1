"""The auth suite's gateway: the real local API Gateway emulator serving the auth function and authorizer in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.support.identity import ensure_signing_key

AUTH_FUNCTIONS = ("AuthFunction", "AuthorizerFunction")


def reset_auth_caches() -> None:
    from sentrix_auth.providers.base import reset_provider
    from tests.conftest import reset_caches

    reset_caches()
    reset_provider()


@pytest.fixture(scope="session")
def signing_key():
    return ensure_signing_key()


@pytest.fixture(scope="session")
def gateway_url(database_url, aws, signing_key) -> Iterator[str]:
    """Base URL (…/api/v1) of a gateway on a free port with routes, authorizer and cache from the template."""
    from sentrix_local.gateway import Gateway, serve
    from sentrix_local.invoke import LocalFunction
    from sentrix_local.processes import free_port
    from sentrix_local.template import stack_spec

    os.environ["AUTH_PROVIDER"] = "builtin"
    reset_auth_caches()
    spec = stack_spec()
    functions = {name: LocalFunction(spec.functions[name]) for name in AUTH_FUNCTIONS}
    port = free_port()
    server = serve(Gateway(spec, functions), "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(gateway_url, clean_db) -> Iterator[httpx.Client]:
    """An HTTP client on the gateway, with an empty database (rate-limit counters included)."""
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        yield client
