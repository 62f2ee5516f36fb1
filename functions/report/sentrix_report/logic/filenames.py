"""The time stamp in the names of downloaded files."""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(moment: datetime | None = None) -> str:
    """yyyymmdd_hhmmss (UTC) for filenames."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d_%H%M%S")
