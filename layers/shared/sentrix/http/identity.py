"""Who is calling: read from the API Gateway authorizer context, enforced in one place."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import Request

from sentrix.domain.roles import Role
from sentrix.errors import Forbidden, Unauthorized


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    role: Role
    email: str | None = None

    def has_role(self, minimum: Role) -> bool:
        return self.role.at_least(minimum)

    @property
    def sees_everything(self) -> bool:
        """Experts and admins read every user's analyses; users read their own."""
        return self.has_role(Role.EXPERT)


def principal_from_event(event: dict | None) -> Principal | None:
    """The principal the authorizer put in `requestContext.authorizer`, or None for anonymous calls."""
    context = ((event or {}).get("requestContext") or {}).get("authorizer") or {}
    user_id, role = context.get("user_id"), context.get("role")
    if not user_id or not role:
        return None
    try:
        return Principal(user_id=uuid.UUID(str(user_id)), role=Role(str(role)), email=context.get("email"))
    except ValueError:
        return None


def optional_principal(request: Request) -> Principal | None:
    """FastAPI dependency: the caller if the authorizer identified one."""
    return principal_from_event(request.scope.get("aws.event"))


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, or 401 when the request reached us without an identity."""
    principal = optional_principal(request)
    if principal is None:
        raise Unauthorized("Authentication required")
    return principal


def require_role(minimum: Role):
    """FastAPI dependency factory: the caller, or 403 unless their role ranks at least `minimum`."""

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if not principal.has_role(minimum):
            raise Forbidden("Not enough permissions")
        return principal

    return dependency
