"""The caller's profile, settings, statistics and activity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from sentrix.http.identity import Principal, current_principal
from sentrix.http.locale import locale_dependency, request_language
from sentrix.i18n import Locale, t
from sentrix_auth.logic import profile
from sentrix_auth.logic.settings import SettingsDocument, SettingsUpdate, get_settings_of, update_settings_of
from sentrix_auth.schemas.users import ProfileUpdate, UserOut

router = APIRouter(prefix="/api/v1", tags=["profile"])
caller_locale = locale_dependency(current_principal)


@router.get("/me", summary="The caller's profile")
def me(principal: Principal = Depends(current_principal)) -> UserOut:
    return UserOut.model_validate(profile.get_profile(principal.user_id))


@router.put("/me", summary="Change display name and organization (role, email and active flag are not yours)")
def update_me(body: ProfileUpdate, principal: Principal = Depends(current_principal)) -> UserOut:
    changes = body.model_dump(exclude_unset=True)
    return UserOut.model_validate(profile.update_profile(principal.user_id, changes))


@router.get("/users/me/settings", summary="The caller's settings merged over the defaults")
def get_my_settings(principal: Principal = Depends(current_principal)) -> SettingsDocument:
    return SettingsDocument.model_validate(get_settings_of(principal.user_id))


@router.put("/users/me/settings", summary="Change some settings (unknown keys and bad values are 422)")
def put_my_settings(
    request: Request, body: SettingsUpdate, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    settings = update_settings_of(principal.user_id, body)
    # What the request states (`language`, Accept-Language), else the language just saved.
    language = request_language(request) or settings.get("language")
    return {"message": t("settings.updated", language), "settings": settings}


@router.get("/users/me/stats", summary="Counts over the caller's analyses and validations")
def my_stats(principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    return profile.stats(principal.user_id)


@router.get("/users/me/activities", summary="The caller's latest analyses and validations")
def my_activities(
    limit: int = Query(default=10, ge=1, le=100),
    principal: Principal = Depends(current_principal),
    locale: Locale = Depends(caller_locale),
) -> dict[str, Any]:
    return profile.activities(principal.user_id, limit, locale.language)
