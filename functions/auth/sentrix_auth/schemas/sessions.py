"""Bodies of sign-up, sign-in, refresh, sign-out and password change."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from sentrix_auth.logic.emails import normalise_email
from sentrix_auth.schemas.base import Strict
from sentrix_auth.schemas.users import UserOut


class RegisterRequest(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    display_name: str | None = Field(default=None, max_length=120)
    organization: str | None = Field(default=None, max_length=200)

    _email = field_validator("email")(normalise_email)


class LoginRequest(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)

    _email = field_validator("email")(normalise_email)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=16, max_length=512)


class LogoutRequest(Strict):
    refresh_token: str | None = Field(default=None, min_length=16, max_length=512)
    everywhere: bool = False


class ChangePasswordRequest(Strict):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class SessionOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: UserOut


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class MessageOut(BaseModel):
    message: str
