"""Query strings shared out of the list routes: each dependency reads the parameters, in the order OpenAPI lists
them, and hands them on unparsed (parsing is logic/filters.py, after the caller is known)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Query

from sentrix.domain.sites import SiteStatus
from sentrix.domain.status import AnalysisStatus
from sentrix.http.paging import MAX_OFFSET
from sentrix_upload.logic.filters import AnalysisQuery, SiteQuery


def analysis_query(
    status: list[str] = Query(default=[], description="Repeat or comma-separate: " + ", ".join(AnalysisStatus)),
    risk_level: list[str] = Query(default=[], description="ALTO, MEDIO, BAJO, MINIMO (or high, medium, …)"),
    date_from: str | None = Query(default=None, description="Created at or after (ISO date or date-time)"),
    date_to: str | None = Query(default=None, description="Created at or before; a bare date includes that day"),
    since: str | None = Query(default=None, description="Alias of date_from (the original client's name)"),
    until: str | None = Query(default=None, description="Alias of date_to"),
    has_gps: bool | None = Query(default=None),
    validated_only: bool = Query(default=False, description="Only analyses whose detections all have a verdict"),
    bbox: str | None = Query(default=None, description="minLon,minLat,maxLon,maxLat"),
    near: str | None = Query(default=None, description="lat,lon (with radius_m)"),
    radius_m: float | None = Query(default=None, description="Metres around `near`"),
    user_id: uuid.UUID | None = Query(default=None, description="Experts and admins only"),
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> AnalysisQuery:
    """The query of `GET /analyses`."""
    return AnalysisQuery(
        status,
        risk_level,
        date_from,
        date_to,
        since,
        until,
        has_gps,
        validated_only,
        bbox,
        near,
        radius_m,
        user_id,
        limit,
        offset,
    )


def site_query(
    status: list[str] = Query(default=[], description="Repeat or comma-separate: " + ", ".join(SiteStatus)),
    family: list[str] = Query(default=[], description="water, refuse, road"),
    bbox: str | None = Query(default=None, description="minLon,minLat,maxLon,maxLat"),
    near: str | None = Query(default=None, description="lat,lon (with radius_m)"),
    radius_m: float | None = Query(default=None, description="Metres around `near`"),
    confirmed: bool | None = Query(default=None, description="Only sites an expert confirmed (or not)"),
    since: str | None = Query(default=None, description="Last report at or after (ISO date or date-time)"),
    territory: str | None = Query(
        default=None, max_length=64, description="A territory's code: sites in it or any territory below it"
    ),
    order: Literal["priority", "recent"] = Query(default="priority"),
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> SiteQuery:
    """The query of `GET /sites`."""
    return SiteQuery(status, family, bbox, near, radius_m, confirmed, since, territory, order, limit, offset)
