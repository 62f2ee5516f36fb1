"""Cluster alerts: the list, one alert with its sites and timeline, and the territories' levels (docs/alerts.md)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.paging import MAX_OFFSET
from sentrix.i18n import Locale
from sentrix_report.logic import alerts
from sentrix_report.routes.deps import caller_locale

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

TERRITORY = "a territory's code: alerts with a site in it or any territory below it"


@router.get(
    "",
    summary="Cluster alerts (experts, admins; officials: their territories'), open first, then the latest changed",
    responses=error_responses(403, s403="users may not read alerts (they name sites): GET /alerts/levels"),
)
def list_alerts(
    territory: str | None = Query(None, max_length=64, description=TERRITORY),
    level: Literal["yellow", "red"] | None = Query(None, description="the alert's level (its last while open)"),
    status: Literal["open", "closed"] | None = Query(None),
    since: str | None = Query(None, description="changed at or after (ISO date: 00:00 UTC, or date-time)"),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return alerts.list_alerts(
        principal,
        territory=territory,
        level=level,
        status=status,
        since=since,
        limit=limit,
        offset=offset,
        locale=locale,
    )


@router.get("/levels", summary="Each territory's alert level (green, yellow, red) and since when; no site named")
def list_levels(
    territory: str | None = Query(None, max_length=64, description="a territory's code: it and every one below"),
    level: Literal["green", "yellow", "red"] | None = Query(None),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return alerts.territory_levels(
        principal, territory=territory, level=level, limit=limit, offset=offset, locale=locale
    )


@router.get(
    "/{id}",
    summary="One alert: its sites (officials: those of their territories) and its timeline",
    responses=error_responses(403, 404, s403="users may not read alerts"),
)
def get_alert(
    id: str, locale: Locale = Depends(caller_locale), principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return alerts.alert_detail(principal, id, locale)
