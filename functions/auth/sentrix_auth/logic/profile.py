"""The caller's own profile, statistics and activity feed."""

from __future__ import annotations

import uuid
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.db.models import User
from sentrix.errors import NotFound
from sentrix.i18n import class_word, t
from sentrix_auth.dal import activity, users


def get_profile(user_id: uuid.UUID) -> User:
    """The caller's own user row; NotFound if it is gone."""
    with session_scope() as session:
        user = users.get(session, user_id)
        if user is None:
            raise NotFound(key="err.user_not_found")
        return user


def update_profile(user_id: uuid.UUID, changes: dict[str, Any]) -> User:
    """Apply display_name / organization (the request model already refused anything else)."""
    with session_scope() as session:
        user = users.get(session, user_id, for_update=True)
        if user is None:
            raise NotFound(key="err.user_not_found")
        for field, value in changes.items():
            setattr(user, field, value.strip() if isinstance(value, str) and value.strip() else None)
        session.flush()
        session.refresh(user)
        return user


def stats(user_id: uuid.UUID) -> dict[str, Any]:
    """Counts over the user's analyses and validations."""
    with session_scope() as session:
        return {**activity.analysis_counts(session, user_id), **activity.validation_counts(session, user_id)}


def activities(user_id: uuid.UUID, limit: int, language: str | None = None) -> dict[str, Any]:
    """The user's latest analyses and validations, newest first, `limit` items in all; the descriptions are
    words of the catalogue in `language` (the class in its words, never the model's raw class name)."""
    with session_scope() as session:
        items: list[dict[str, Any]] = []
        for analysis in activity.recent_analyses(session, user_id, limit):
            items.append(
                {
                    "id": str(analysis.id),
                    "type": "analysis",
                    "description": t(
                        "activity.analysis",
                        language,
                        filename=analysis.original_filename or t("activity.unnamed_photo", language),
                    ),
                    "status": analysis.status.value,
                    "risk": analysis.risk_level.value if analysis.risk_level else None,
                    "timestamp": analysis.created_at,
                    "metadata": {"analysis_id": str(analysis.id), "detections_count": analysis.total_detections},
                }
            )
        for detection in activity.recent_validations(session, user_id, limit):
            items.append(
                {
                    "id": str(detection.id),
                    "type": "validation",
                    "description": t(
                        "activity.validation", language, site_type=class_word(detection.class_name, language)
                    ),
                    "status": detection.validation_status.value,
                    "risk": detection.risk_level.value,
                    "timestamp": detection.validated_at,
                    "metadata": {"analysis_id": str(detection.analysis_id), "detection_id": str(detection.id)},
                }
            )
        total = (
            activity.analysis_counts(session, user_id)["total_analyses"]
            + activity.validation_counts(session, user_id)["validated_detections"]
        )
    items.sort(key=lambda item: item["timestamp"], reverse=True)
    return {"activities": items[:limit], "total": total, "limit": limit}
