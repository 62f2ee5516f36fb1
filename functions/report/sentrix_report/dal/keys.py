"""Per-deployment random keys kept in the database (`deployment_keys`): made on first use, never in code."""

from __future__ import annotations

import functools
import secrets

from sqlalchemy import text
from sqlalchemy.orm import Session

_ENSURE = """
INSERT INTO deployment_keys (name, value) VALUES (:name, :value) ON CONFLICT (name) DO NOTHING
"""
_READ = "SELECT value FROM deployment_keys WHERE name = :name"


def deployment_key(session: Session, name: str) -> str:
    """The key `name` of this deployment (64 hex digits), created at random the first time it is asked for."""
    return _cached(name) or _load(session, name)


@functools.cache
def _memo() -> dict[str, str]:
    return {}


def _cached(name: str) -> str | None:
    return _memo().get(name)


def _load(session: Session, name: str) -> str:
    # Two first readers at once: ON CONFLICT keeps one value, and both read that one.
    session.execute(text(_ENSURE), {"name": name, "value": secrets.token_hex(32)})
    value = session.execute(text(_READ), {"name": name}).scalar_one()
    _memo()[name] = value
    return value


def forget_keys() -> None:
    """Drop the cached keys (tests that empty the database)."""
    _memo().clear()
