"""Sign-up, sign-in, refresh, sign-out and password change."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix_auth.logic import sessions
from sentrix_auth.providers.base import NewAccount, Tokens
from sentrix_auth.routes.deps import bearer_token, source_ip
from sentrix_auth.schemas.sessions import (
    ChangePasswordRequest,
    LoginRequest,
    LogoutRequest,
    MessageOut,
    RefreshRequest,
    RegisterRequest,
    SessionOut,
    TokenPairOut,
)
from sentrix_auth.schemas.users import UserOut

router = APIRouter(prefix="/api/v1", tags=["auth"])


def _session(user, tokens: Tokens) -> SessionOut:
    return SessionOut(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        user=UserOut.model_validate(user),
    )


def _pair(tokens: Tokens) -> TokenPairOut:
    return TokenPairOut(
        access_token=tokens.access_token, refresh_token=tokens.refresh_token, expires_in=tokens.expires_in
    )


@router.post(
    "/register",
    status_code=201,
    summary="Create an account and sign in",
    responses=error_responses(409, 429, s409="A user with this email already exists"),
)
def register(body: RegisterRequest, request: Request) -> SessionOut:
    account = NewAccount(body.email, body.password, body.display_name, body.organization)
    return _session(*sessions.register(account, source_ip(request)))


@router.post(
    "/login",
    summary="Sign in with email and password",
    responses=error_responses(401, 403, 429, s401="Incorrect email or password", s403="User account is deactivated"),
)
def login(body: LoginRequest, request: Request) -> SessionOut:
    return _session(*sessions.login(body.email, body.password, source_ip(request)))


@router.post(
    "/refresh",
    summary="Trade a refresh token for a new pair (the old one stops working)",
    responses=error_responses(401, 403, s401="Invalid or expired refresh token", s403="User account is deactivated"),
)
def refresh(body: RefreshRequest) -> TokenPairOut:
    return _pair(sessions.refresh(body.refresh_token))


@router.post("/logout", summary="End this session (or every session with everywhere=true)")
def logout(
    request: Request, body: LogoutRequest | None = None, principal: Principal = Depends(current_principal)
) -> MessageOut:
    body = body or LogoutRequest()
    sessions.logout(
        principal.user_id, body.refresh_token, everywhere=body.everywhere, access_token=bearer_token(request)
    )
    return MessageOut(message="Successfully logged out")


@router.post(
    "/change-password",
    summary="Change the password; every session ends and a new one is returned",
    responses=error_responses(400, 429, s400="Wrong current password, or the new one equals it"),
)
def change_password(
    body: ChangePasswordRequest, request: Request, principal: Principal = Depends(current_principal)
) -> TokenPairOut:
    tokens = sessions.change_password(
        principal.user_id, body.current_password, body.new_password, access_token=bearer_token(request)
    )
    return _pair(tokens)
