"""User administration: admins only (an expert is not an admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from sentrix.domain.roles import Role
from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, require_role
from sentrix.http.paging import MAX_OFFSET
from sentrix.repositories.analyses import parse_id
from sentrix_auth.logic import admin
from sentrix_auth.schemas.users import (
    DeletedUserOut,
    OfficialTerritoriesOut,
    OfficialTerritoriesUpdate,
    UserAdminUpdate,
    UserOut,
    UsersPage,
)

router = APIRouter(prefix="/api/v1", tags=["users"])
admin_only = require_role(Role.ADMIN)


@router.get("/users", summary="A page of users, newest first, with the real total")
def list_users(
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    role: Role | None = None,
    is_active: bool | None = None,
    q: str | None = Query(default=None, min_length=1, max_length=100, description="part of email or name"),
    _admin: Principal = Depends(admin_only),
) -> UsersPage:
    rows, total = admin.list_users(limit=limit, offset=offset, role=role, is_active=is_active, search=q)
    return UsersPage(
        users=[UserOut.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        has_next=offset + len(rows) < total,
    )


@router.patch(
    "/users/{id}",
    summary="Change a user's role and/or active flag",
    responses=error_responses(400, 404, s400="Administrators cannot demote or deactivate themselves"),
)
def update_user(
    body: UserAdminUpdate, user_id: str = Path(alias="id"), principal: Principal = Depends(admin_only)
) -> UserOut:
    user = admin.update_user(principal, parse_id(user_id, "User"), body.role, body.is_active)
    return UserOut.model_validate(user)


@router.delete(
    "/users/{id}",
    summary="Delete a user: analyses kept anonymised, photos deleted",
    responses=error_responses(400, 404, s400="You cannot delete your own account"),
)
def delete_user(user_id: str = Path(alias="id"), principal: Principal = Depends(admin_only)) -> DeletedUserOut:
    return DeletedUserOut.model_validate(admin.delete_user(principal, parse_id(user_id, "User")))


@router.put(
    "/users/{id}/territories",
    summary="Replace the territories an official is scoped to (their descendants included)",
    responses=error_responses(404, 422, s422="not an official, or an unknown territory code"),
)
def set_official_territories(
    body: OfficialTerritoriesUpdate, user_id: str = Path(alias="id"), principal: Principal = Depends(admin_only)
) -> OfficialTerritoriesOut:
    answer = admin.set_official_territories(principal, parse_id(user_id, "User"), body.territories)
    return OfficialTerritoriesOut.model_validate(answer)
