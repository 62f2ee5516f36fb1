"""Users table access: lookups by id and (case-insensitive) email, pages for administration."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sentrix.db.models import Analysis, User
from sentrix.domain.roles import Role
from sentrix.errors import Conflict


def get(session: Session, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    """The user by id, row-locked when `for_update`; None if there is none."""
    statement = select(User).where(User.id == user_id)
    return session.scalar(statement.with_for_update() if for_update else statement)


def get_by_email(session: Session, email: str) -> User | None:
    """The user with this email, compared case-insensitively (served by the unique index on lower(email))."""
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def insert(session: Session, user: User) -> User:
    """Add a user; a taken email (any case) is a 409 Conflict."""
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(key="err.email_taken") from exc
    session.refresh(user)
    return user


def cut_off_sessions(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    """Refuse every access token issued up to `now` (see `sentrix.http.identity`)."""
    session.execute(update(User).where(User.id == user_id).values(tokens_valid_after=now))


def page(
    session: Session,
    *,
    limit: int,
    offset: int,
    role: Role | None = None,
    is_active: bool | None = None,
    search: str | None = None,
) -> tuple[list[User], int]:
    """One page of users (newest first) and the total matching the same filters."""
    filters = []
    if role is not None:
        filters.append(User.role == role)
    if is_active is not None:
        filters.append(User.is_active.is_(is_active))
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        filters.append(or_(User.email.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(User).where(*filters)) or 0
    rows = session.scalars(
        select(User).where(*filters).order_by(User.created_at.desc(), User.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def image_keys_of(session: Session, user_id: uuid.UUID) -> dict[str, list[str]]:
    """Every S3 key (original and annotated) of the user's analyses, by bucket."""
    rows = session.execute(
        select(Analysis.image_bucket, Analysis.image_key, Analysis.processed_image_key).where(
            Analysis.user_id == user_id
        )
    ).all()
    found: dict[str, list[str]] = {}
    for bucket, *keys in rows:
        found.setdefault(bucket, []).extend(key for key in keys if key)
    return found


def anonymise_analyses(session: Session, user_id: uuid.UUID) -> int:
    """Detach the user's analyses from them and drop what points back at the person or the deleted images."""
    result = session.execute(
        update(Analysis)
        .where(Analysis.user_id == user_id)
        .values(user_id=None, original_filename=None, processed_image_key=None, idempotency_key=None)
    )
    return result.rowcount or 0
