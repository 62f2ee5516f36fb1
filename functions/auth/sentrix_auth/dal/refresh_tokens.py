"""Refresh tokens, stored as SHA-256 hex of the opaque token; a family is one sign-in and its rotations."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sentrix.db.models import RefreshToken


def digest(token: str) -> str:
    """What is stored: the token is random (256 bits), so a fast hash is enough and lookups stay indexed."""
    return hashlib.sha256(token.encode()).hexdigest()


def add(
    session: Session, *, user_id: uuid.UUID, token: str, family_id: uuid.UUID, expires_at: datetime
) -> RefreshToken:
    """Store a new refresh token (its hash only) in its family."""
    row = RefreshToken(user_id=user_id, token_hash=digest(token), family_id=family_id, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def find_for_update(session: Session, token: str) -> RefreshToken | None:
    """The stored token, locked so two concurrent refreshes cannot both rotate it."""
    return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(token)).with_for_update())


def revoke_family(session: Session, family_id: uuid.UUID, now: datetime, reason: str) -> int:
    """Revoke the live tokens of one family (one sign-in: logout, or reuse of a rotated token); how many."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return result.rowcount or 0


def revoke_all_of(session: Session, user_id: uuid.UUID, now: datetime, reason: str) -> int:
    """Revoke every live token of a user (sign-out everywhere, password change, deactivation); how many."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return result.rowcount or 0
