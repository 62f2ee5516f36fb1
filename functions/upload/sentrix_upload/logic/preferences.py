"""A user's upload defaults and language, read from `user_settings.settings` (invalid values are ignored)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sentrix.db.models import UserSettings
from sentrix.domain.risk import LANGUAGES

DEFAULT_LANGUAGE = "es"


@dataclass(frozen=True, slots=True)
class Preferences:
    language: str = DEFAULT_LANGUAGE
    confidence_threshold: float | None = None
    include_gps: bool | None = None


def _threshold(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if 0.1 <= value <= 1.0 else None


def _language(value: Any) -> str:
    primary = str(value or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def preferences_from(settings: dict[str, Any] | None) -> Preferences:
    """Preferences from a settings document; what is missing or out of range falls back to the defaults."""
    settings = settings if isinstance(settings, dict) else {}
    gps = settings.get("default_include_gps")
    return Preferences(
        language=_language(settings.get("language")),
        confidence_threshold=_threshold(settings.get("default_confidence_threshold")),
        include_gps=gps if isinstance(gps, bool) else None,
    )


def load_preferences(session: Session, user_id: uuid.UUID) -> Preferences:
    """The caller's preferences (one indexed read of their settings row)."""
    settings = session.scalar(select(UserSettings.settings).where(UserSettings.user_id == user_id))
    return preferences_from(settings)
