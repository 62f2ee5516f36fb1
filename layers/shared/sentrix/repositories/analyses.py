"""Reading analyses the caller may see: users their own, officials theirs and everything inside their territories,
experts and admins everyone's."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from sentrix.db.models import Analysis
from sentrix.errors import NotFound
from sentrix.http.identity import Principal
from sentrix.repositories.officials import is_official, scope_codes


def visible_to(principal: Principal, statement: Select | None = None) -> Select:
    """Restrict a select of analyses to what `principal` may see."""
    statement = statement if statement is not None else select(Analysis)
    if principal.sees_everything:
        return statement
    if is_official(principal):
        return statement.where(
            or_(Analysis.user_id == principal.user_id, Analysis.territory_code.in_(scope_codes(principal.user_id)))
        )
    return statement.where(Analysis.user_id == principal.user_id)


def parse_id(raw: str | uuid.UUID, what: str = "Analysis") -> uuid.UUID:
    """A path id as a UUID; a malformed one is simply not found (no hint about the id space)."""
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise NotFound(f"{what} not found") from exc


def get_visible(
    session: Session, analysis_id: str | uuid.UUID, principal: Principal, *, with_detections: bool = True
) -> Analysis:
    """The analysis if `principal` may see it; another user's analysis is 404, never 403."""
    statement = visible_to(principal).where(Analysis.id == parse_id(analysis_id))
    if with_detections:
        statement = statement.options(selectinload(Analysis.detections))
    analysis = session.scalar(statement)
    if analysis is None:
        raise NotFound("Analysis not found")
    return analysis


def find_by_idempotency_key(session: Session, user_id: uuid.UUID, key: str) -> Analysis | None:
    """The analysis a user already created with this client idempotency key, if any (unique index)."""
    return session.scalar(select(Analysis).where(Analysis.user_id == user_id, Analysis.idempotency_key == key))
