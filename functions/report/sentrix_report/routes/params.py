"""Query parameters every read of the report function shares, turned into DataFilters once.

The original web client sends `risk_level`, `date_from` and `date_to` on the map routes; `since` is this API's
older name for `date_from` and stays an alias (both at once must agree).
"""

from __future__ import annotations

import uuid

from fastapi import Depends, Query

from sentrix_report.logic.filters import (
    INCLUDE_EXPIRED_HELP,
    RISK_HELP,
    TERRITORY_HELP,
    VERDICT_HELP,
    DataFilters,
    build_filters,
    time_and_verdict_values,
)

BBOX_HELP = "west,south,east,north in degrees (WGS 84)"
USER_HELP = "experts and admins: one user's data (default: everyone's); users always get their own"


def time_and_verdict(
    date_from: str | None = Query(None, description="analyses uploaded at or after this (a date: 00:00 UTC)"),
    date_to: str | None = Query(None, description="analyses uploaded up to this (a date covers the whole day)"),
    since: str | None = Query(None, description="alias of date_from"),
    risk_level: str | None = Query(None, description=RISK_HELP),
    verdict: str | None = Query(None, description=VERDICT_HELP),
    include_expired: bool | None = Query(None, description=INCLUDE_EXPIRED_HELP),
    active_only: bool | None = Query(
        None, deprecated=True, description="the first wave's name: active_only=false is include_expired=true"
    ),
) -> dict:
    """The filters of every read but the area: upload-time window, analysis risk, verdict, validity."""
    return time_and_verdict_values(
        date_from=date_from,
        date_to=date_to,
        since=since,
        risk_level=risk_level,
        verdict=verdict,
        include_expired=include_expired,
        active_only=active_only,
    )


def area_filters(
    common: dict = Depends(time_and_verdict),
    bbox: str | None = Query(None, description=BBOX_HELP),
) -> DataFilters:
    """Map and statistics filters: the common ones and a bbox."""
    return build_filters(**common, bbox=bbox)


def place_free_filters(common: dict = Depends(time_and_verdict)) -> DataFilters:
    """Filters of a read whose place is given otherwise (a tile)."""
    return build_filters(**common)


def scoped_filters(
    common: dict = Depends(time_and_verdict),
    bbox: str | None = Query(None, description=BBOX_HELP),
    user_id: uuid.UUID | None = Query(None, description=USER_HELP),
    territory: str | None = Query(None, max_length=64, description=TERRITORY_HELP),
) -> DataFilters:
    """Filters of a read over the caller's scope: experts and admins may pick one user."""
    return build_filters(**common, bbox=bbox, user_id=user_id, territory=territory)
