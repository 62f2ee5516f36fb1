"""User settings: one validated document merged over the defaults; unknown keys and bad values are 422."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from sentrix.db.engine import session_scope
from sentrix.db.models import UserSettings
from sentrix.domain.confidence import DEFAULT_CONFIDENCE_THRESHOLD
from sentrix.observability import logger


def _timezone(value: str) -> str:
    if not value or value.startswith("/") or ".." in value:
        raise ValueError("Not an IANA time zone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("Not an IANA time zone") from exc
    return value


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Threshold = Annotated[float, Field(ge=0.5, le=0.95)]


class SettingsDocument(BaseModel):
    """Every setting with its default. Strict: "yes" is not a boolean and 1 is not a language."""

    model_config = ConfigDict(extra="forbid", strict=True)

    language: Literal["es", "en", "pt"] = "es"
    timezone: TimeZone = "America/Argentina/Buenos_Aires"
    date_format: Literal["DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD"] = "DD/MM/YYYY"
    email_notifications: bool = True
    email_new_analysis: bool = True
    email_validation_complete: bool = False
    email_reports: bool = True
    in_app_notifications: bool = True
    default_confidence_threshold: Threshold = DEFAULT_CONFIDENCE_THRESHOLD
    default_include_gps: bool = True
    auto_validate_high_confidence: bool = False
    profile_visibility: Literal["public", "private"] = "private"
    share_analytics: bool = False


class SettingsUpdate(BaseModel):
    """A PUT body: any subset of the settings, nothing else."""

    model_config = ConfigDict(extra="forbid", strict=True)

    language: Literal["es", "en", "pt"] | None = None
    timezone: TimeZone | None = None
    date_format: Literal["DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD"] | None = None
    email_notifications: bool | None = None
    email_new_analysis: bool | None = None
    email_validation_complete: bool | None = None
    email_reports: bool | None = None
    in_app_notifications: bool | None = None
    default_confidence_threshold: Threshold | None = None
    default_include_gps: bool | None = None
    auto_validate_high_confidence: bool | None = None
    profile_visibility: Literal["public", "private"] | None = None
    share_analytics: bool | None = None


DEFAULTS: dict[str, Any] = SettingsDocument().model_dump()


def merged(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Stored values over the defaults; a stored key that no longer validates falls back to its default."""
    result = dict(DEFAULTS)
    for key, value in (stored or {}).items():
        if key not in DEFAULTS:
            continue
        try:
            result[key] = getattr(SettingsDocument.model_validate({key: value}), key)
        except ValidationError:
            logger.warning("ignoring an invalid stored setting", extra={"setting": key})
    return result


def get_settings_of(user_id: uuid.UUID) -> dict[str, Any]:
    """The user's settings merged over the defaults (no row is created just by reading)."""
    with session_scope() as session:
        row = session.get(UserSettings, user_id)
        return merged(row.settings if row else None)


def update_settings_of(user_id: uuid.UUID, update: SettingsUpdate) -> dict[str, Any]:
    """Apply a partial update (shallow merge) and store the whole validated document."""
    changes = update.model_dump(exclude_unset=True, exclude_none=True)
    with session_scope() as session:
        row = session.get(UserSettings, user_id, with_for_update=True)
        document = SettingsDocument.model_validate({**merged(row.settings if row else None), **changes}).model_dump()
        if row is None:
            session.add(UserSettings(user_id=user_id, settings=document))
        else:
            row.settings = document
    return document
