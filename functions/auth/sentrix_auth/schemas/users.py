"""Bodies of the caller's profile and of user administration."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sentrix.domain.roles import Role
from sentrix_auth.schemas.base import Strict


class ProfileUpdate(Strict):
    """What a user may change about themselves: never their role, email or active flag (those are 422)."""

    display_name: str | None = Field(default=None, max_length=120)
    organization: str | None = Field(default=None, max_length=200)


class OfficialTerritoriesUpdate(Strict):
    territories: list[str] = Field(
        max_length=100, description="Territory codes; the official sees them and every territory below"
    )

    @field_validator("territories")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        codes = [code.strip() for code in value]
        if any(not code or len(code) > 64 for code in codes):
            raise ValueError("each code has 1 to 64 characters")
        return sorted(set(codes))


class OfficialTerritoriesOut(BaseModel):
    user_id: uuid.UUID
    territories: list[str]


class UserAdminUpdate(Strict):
    role: Role | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> UserAdminUpdate:
        if self.role is None and self.is_active is None:
            raise ValueError("Give role and/or is_active")
        return self


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str | None
    organization: str | None
    role: Role
    is_active: bool
    is_verified: bool
    created_at: datetime
    updated_at: datetime
    last_login: datetime | None


class UsersPage(BaseModel):
    users: list[UserOut]
    total: int
    limit: int
    offset: int
    has_next: bool


class DeletedUserOut(BaseModel):
    message: str
    user_id: uuid.UUID
    analyses_anonymised: int
    images_deleted: int
    images_not_deleted: int
