"""The auth suite's gateway: the real local API Gateway emulator serving the auth function and authorizer in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.gateway import in_process_gateway

AUTH_FUNCTIONS = ("AuthFunction", "AuthorizerFunction")


def reset_auth_caches() -> None:
    from sentrix_auth.providers.factory import reset_provider
    from tests.conftest import reset_caches

    reset_caches()
    reset_provider()


@pytest.fixture(scope="session")
def gateway_url(database_url, aws, signing_key) -> Iterator[str]:
    """Base URL (…/api/v1) of a gateway on a free port with routes, authorizer and cache from the template."""
    os.environ["AUTH_PROVIDER"] = "builtin"
    reset_auth_caches()
    with in_process_gateway(AUTH_FUNCTIONS) as url:
        yield url


@pytest.fixture
def api(gateway_url, clean_db) -> Iterator[httpx.Client]:
    """An HTTP client on the gateway, with an empty database (rate-limit counters included)."""
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
def builtin(clean_db, signing_key, monkeypatch) -> Iterator[Any]:
    """The built-in identity provider, called directly (no gateway), on an empty database."""
    from sentrix_auth.providers.factory import get_provider

    monkeypatch.setenv("AUTH_PROVIDER", "builtin")
    reset_auth_caches()
    yield get_provider()
    reset_auth_caches()


@pytest.fixture
def local_zone_not_utc(monkeypatch) -> Iterator[None]:
    """The process's local time zone three hours behind UTC (Lambda's is UTC): a time taken from naive local
    time instead of UTC would land hours early."""
    import time

    monkeypatch.setenv("TZ", "America/Argentina/Buenos_Aires")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
