"""Dashboard statistics routes: real counts, scoped to what the caller may see."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.i18n import Locale
from sentrix_report.logic import remediation, statistics, weekly
from sentrix_report.logic.filters import TERRITORY_HELP, DataFilters
from sentrix_report.logic.site_units import UNIT_HELP, Unit
from sentrix_report.routes.deps import caller_locale
from sentrix_report.routes.params import USER_HELP, scoped_filters

router = APIRouter(prefix="/api/v1/reports", tags=["statistics"])


@router.get("/statistics", summary="Totals with month-over-month changes, and remediation figures of sites")
def get_statistics(
    filters: DataFilters = Depends(scoped_filters),
    group_by: Literal["territory"] | None = Query(
        None, description="territory: also count per territory directly below `territory` (the roots without it)"
    ),
    unit: Unit | None = Query(None, description=UNIT_HELP),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return statistics.dashboard(principal, filters, locale, group_by_territory=group_by == "territory", unit=unit)


@router.get(
    "/statistics/weekly",
    summary="Per epidemiological week (Sunday–Saturday): reports, new, confirmed, closed, reopened and open sites, "
    "each against the previous 4 weeks",
    responses=error_responses(
        403,
        404,
        s403="users may not read weekly figures (experts, admins and officials may)",
        s404="the territory is unknown, or outside the official's territories",
    ),
)
def get_weekly_statistics(
    territory: str | None = Query(
        None, max_length=64, description="a territory's code: it and every territory below it (default: all you see)"
    ),
    weeks: int = Query(weekly.DEFAULT_WEEKS, ge=1, le=weekly.MAX_WEEKS, description="how many weeks, oldest first"),
    until: date | None = Query(None, description="a day of the last week (default: today in your time zone)"),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return weekly.weekly(principal, territory=territory, weeks=weeks, until=until, locale=locale)


@router.get("/risk-distribution", summary="Analyses per risk level")
def get_risk_distribution(
    user_id: uuid.UUID | None = Query(None, description=USER_HELP),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return statistics.risk_distribution(principal, user_id, locale)


@router.get("/monthly-analyses", summary="Analyses per calendar month (UTC)")
def get_monthly_analyses(
    months: int = Query(6, ge=1, le=36, description="how many months, the current one included"),
    user_id: uuid.UUID | None = Query(None, description=USER_HELP),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return statistics.monthly_analyses(principal, months, user_id, locale)


@router.get("/recent-activity", summary="Newest completed analyses and validations")
def get_recent_activity(
    limit: int = Query(10, ge=1, le=100),
    user_id: uuid.UUID | None = Query(None, description=USER_HELP),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return statistics.recent_activity(principal, limit, user_id, locale)


@router.get("/validation-stats", summary="Validation backlog, throughput and outcomes")
def get_validation_stats(
    user_id: uuid.UUID | None = Query(None, description=USER_HELP),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return statistics.validation_stats(principal, user_id, locale)


@router.get(
    "/remediation", summary="Breeding sites opened, closed, reopened per territory and epidemiological week (UTC)"
)
def get_remediation(
    territory: str | None = Query(None, max_length=64, description=TERRITORY_HELP),
    date_from: date | None = Query(None, description="a day of the first week (default: date_to - 27 days)"),
    date_to: date | None = Query(None, description="a day of the last week (default: today, UTC)"),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return remediation.weekly(principal, territory=territory, date_from=date_from, date_to=date_to, locale=locale)
