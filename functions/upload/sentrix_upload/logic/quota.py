"""Per-user upload quota and per-IP preview limit, counted in PostgreSQL (shared by every instance)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from sentrix import ratelimit
from sentrix_upload.settings import UploadSettings

MINUTE = 60
DAY = 24 * 3600


def count_upload_request(session: Session, user_id: uuid.UUID, settings: UploadSettings) -> None:
    """One upload call (single or batch) against the per-minute limit; 429 + Retry-After when full."""
    ratelimit.hit(
        session,
        f"upload:minute:{user_id}",
        ratelimit.Limit(settings.quota_per_minute, MINUTE),
        message=f"Upload limit reached: {settings.quota_per_minute} uploads per minute",
    )


def count_new_analysis(session: Session, user_id: uuid.UUID, settings: UploadSettings) -> None:
    """One new analysis against the daily quota (days are UTC days); 429 + Retry-After when full."""
    ratelimit.hit(
        session,
        f"upload:day:{user_id}",
        ratelimit.Limit(settings.quota_per_day, DAY),
        message=f"Daily upload quota reached: {settings.quota_per_day} analyses per day",
    )


def count_preview(session: Session, ip: str, settings: UploadSettings) -> None:
    """One anonymous preview from `ip` against its per-minute limit."""
    ratelimit.hit(
        session,
        f"preview:ip:{ip}",
        ratelimit.Limit(settings.public_preview_per_minute, MINUTE),
        message=f"Preview limit reached: {settings.public_preview_per_minute} previews per minute",
    )
