"""Fixtures of the report tests: a clean database, seeded users, and calls through the real handler."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sentrix.domain.roles import Role
from tests.builders import LambdaContext, api_event


@dataclass(frozen=True)
class Caller:
    """A real user row and the authorizer context API Gateway would hand over for them."""

    id: uuid.UUID
    role: Role
    email: str
    user: Any

    @property
    def authorizer(self) -> dict[str, Any]:
        from tests.support.identity import authorizer_context

        return authorizer_context(self.user)

    @property
    def bearer(self) -> dict[str, str]:
        from tests.support.identity import bearer

        return bearer(self.user)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    raw: dict[str, Any]

    @property
    def body(self) -> bytes:
        import base64

        text = self.raw.get("body") or ""
        return base64.b64decode(text) if self.raw.get("isBase64Encoded") else text.encode()

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str,
    path: str,
    *,
    caller: Caller | None = None,
    query: dict[str, Any] | None = None,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Invoke the report handler with an API Gateway proxy event, as the gateway would."""
    from sentrix_report.api import handler

    event = api_event(
        method,
        path,
        query={k: str(v) for k, v in (query or {}).items() if v is not None},
        body=body,
        headers=headers,
        authorizer=caller.authorizer if caller else None,
    )
    raw = handler(event, LambdaContext("ReportFunction", 29))
    merged = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    for key, values in (raw.get("multiValueHeaders") or {}).items():
        merged[key.lower()] = ", ".join(values)
    return Response(raw["statusCode"], merged, raw)


@pytest.fixture
def db(clean_db, aws, without_k_anonymity) -> Iterator[None]:
    """An empty database and the moto resources (the report settings cache is reset too).

    k-anonymity is off here (k = 1): these tests read small hand-made data sets whose cells have one or two
    reporters; the rule itself is tested in test_k_anonymity.py and tests/security with the default."""
    yield


def make_caller(role: Role | str = Role.USER, email: str | None = None) -> Caller:
    """A real user row (tests/support/identity.py) and its authorizer context."""
    from tests.support.identity import create_user, ensure_signing_key

    ensure_signing_key()
    user = create_user(role=Role(role).value, email=email)
    return Caller(user.id, Role(user.role), user.email, user)


@pytest.fixture
def user(db) -> Caller:
    return make_caller(Role.USER, "ana@example.org")


@pytest.fixture
def other_user(db) -> Caller:
    return make_caller(Role.USER, "beto@example.org")


@pytest.fixture
def expert(db) -> Caller:
    return make_caller(Role.EXPERT, "experta@example.org")


@pytest.fixture
def admin(db) -> Caller:
    return make_caller(Role.ADMIN, "admin@example.org")
