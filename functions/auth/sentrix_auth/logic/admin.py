"""User administration (admins only): list, change role or active flag, delete."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select

from sentrix.adapters.storage import S3ImageStore
from sentrix.db.engine import session_scope
from sentrix.db.models import OfficialTerritory, Territory, User
from sentrix.domain.roles import Role
from sentrix.errors import BadRequest, NotFound, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.observability import logger
from sentrix_auth.dal import users
from sentrix_auth.providers.factory import get_provider


def list_users(
    *, limit: int, offset: int, role: Role | None, is_active: bool | None, search: str | None
) -> tuple[list[User], int]:
    """A page of users matching the filters, with the total over all pages."""
    with session_scope() as session:
        return users.page(session, limit=limit, offset=offset, role=role, is_active=is_active, search=search)


def update_user(admin: Principal, user_id: uuid.UUID, role: Role | None, is_active: bool | None) -> User:
    """Change a user's role and/or active flag; deactivation also ends their sessions at once, and a change of
    the flag either way refuses every access token issued before it (`tokens_valid_after`)."""
    if user_id == admin.user_id and (role not in (None, Role.ADMIN) or is_active is False):
        raise BadRequest("Administrators cannot demote or deactivate themselves")
    with session_scope() as session:
        user = users.get(session, user_id, for_update=True)
        if user is None:
            raise NotFound(key="err.user_not_found")
        if role is not None:
            user.role = role
        if is_active is not None and is_active != user.is_active:
            # A cut-off at both ends: tokens issued before a deactivation stay dead after a reactivation
            # (Supabase can mint tokens meanwhile, so reactivation cuts off too).
            user.is_active = is_active
            user.tokens_valid_after = datetime.now(UTC)
        session.flush()
        session.refresh(user)
    if is_active is False:
        get_provider().end_all_sessions(user_id, "deactivated")
    logger.info(
        "user updated by admin",
        extra={
            "user_id": str(user_id),
            "admin_id": str(admin.user_id),
            "role": user.role.value,
            "active": user.is_active,
        },
    )
    return user


def delete_user(admin: Principal, user_id: uuid.UUID, store_for: Any | None = None) -> dict[str, Any]:
    """Delete a user; their analyses stay as anonymous public-health data, their photos are deleted.

    The database change commits first (user row, sessions and settings go; analyses lose their owner,
    filename and annotated-image key); the S3 objects are deleted afterwards, and any that could not be
    are reported (and logged) rather than failing a deletion that already happened.
    """
    if user_id == admin.user_id:
        raise BadRequest("You cannot delete your own account")
    with session_scope() as session:
        user = users.get(session, user_id, for_update=True)
        if user is None:
            raise NotFound(key="err.user_not_found")
        keys = users.image_keys_of(session, user_id)
        anonymised = users.anonymise_analyses(session, user_id)
        session.delete(user)
    get_provider().forget(user_id)
    deleted, failed = 0, 0
    for bucket, bucket_keys in keys.items():
        store = (store_for or S3ImageStore)(bucket=bucket)
        for start in range(0, len(bucket_keys), 1000):  # S3 DeleteObjects takes at most 1000 keys
            batch = bucket_keys[start : start + 1000]
            try:
                refused = store.delete(batch)
            except Exception:
                failed += len(batch)
                logger.exception("could not delete a deleted user's images", extra={"user_id": str(user_id)})
                continue
            deleted += len(batch) - len(refused)
            failed += len(refused)
            if refused:
                logger.error(
                    "S3 refused some of a deleted user's images",
                    extra={"user_id": str(user_id), "refused": len(refused)},
                )
    logger.info(
        "user deleted by admin",
        extra={"user_id": str(user_id), "admin_id": str(admin.user_id), "analyses": anonymised, "images": deleted},
    )
    return {
        "message": "User deleted",
        "user_id": user_id,
        "analyses_anonymised": anonymised,
        "images_deleted": deleted,
        "images_not_deleted": failed,
    }


def set_official_territories(admin: Principal, user_id: uuid.UUID, codes: list[str]) -> dict[str, Any]:
    """Replace an official's territories (docs/territories.md): only officials have some, every code must exist."""
    with session_scope() as session:
        user = users.get(session, user_id, for_update=True)
        if user is None:
            raise NotFound(key="err.user_not_found")
        if user.role is not Role.OFFICIAL:
            raise ValidationFailed(
                key="err.territories_not_official",
                details={"role": user.role.value},
            )
        known = set(session.scalars(select(Territory.code).where(Territory.code.in_(codes))))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ValidationFailed(
                "Unknown territory", key="err.territory_unknown", details={"territories": unknown}, code=unknown[0]
            )
        session.execute(delete(OfficialTerritory).where(OfficialTerritory.user_id == user_id))
        if codes:
            session.execute(
                insert(OfficialTerritory),
                [{"user_id": user_id, "territory_code": code, "assigned_by": admin.user_id} for code in codes],
            )
    logger.info(
        "official territories set",
        extra={"user_id": str(user_id), "admin_id": str(admin.user_id), "territories": codes},
    )
    return {"user_id": user_id, "territories": codes}
