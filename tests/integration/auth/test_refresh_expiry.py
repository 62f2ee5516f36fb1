"""A refresh token lives until its `expires_at`, exclusive (docs/auth.md, Built-in provider: lifetime
`REFRESH_TOKEN_TTL_S`, refused from its `expires_at` instant on). The provider's clock is pinned to the stored
instant, so the boundary is tested exactly, not by waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.errors import Unauthorized
from tests.support.identity import create_user

pytestmark = pytest.mark.integration


def expiry_of(token: str) -> datetime:
    from sentrix_auth.dal.refresh_tokens import digest

    with session_scope() as session:
        return session.execute(
            text("SELECT expires_at FROM refresh_tokens WHERE token_hash = :hash"), {"hash": digest(token)}
        ).scalar_one()


def pin_clock(monkeypatch, instant: datetime) -> None:
    """`datetime.now` inside the built-in provider answers `instant` (the rest of datetime is untouched)."""
    from sentrix_auth.providers import builtin as module

    class Pinned(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.replace(tzinfo=None)

    monkeypatch.setattr(module, "datetime", Pinned)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(timedelta(microseconds=-1), True), (timedelta(0), False), (timedelta(seconds=1), False)],
    ids=["a-microsecond-before", "at-the-instant", "a-second-after"],
)
def test_a_refresh_token_is_refused_from_its_expiry_instant_on(builtin, monkeypatch, offset, accepted):
    user = create_user()
    session = builtin.start_session(user, None)
    expires_at = expiry_of(session.refresh_token)
    assert expires_at.tzinfo is not None and expires_at > datetime.now(UTC)

    pin_clock(monkeypatch, expires_at + offset)
    if accepted:
        refreshed_user, tokens = builtin.refresh(session.refresh_token)
        assert refreshed_user.id == user.id
        assert tokens.refresh_token != session.refresh_token
    else:
        with pytest.raises(Unauthorized):
            builtin.refresh(session.refresh_token)
