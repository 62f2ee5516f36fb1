"""Field visits and the larval indices computed from them (docs/visits.md)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query

from sentrix.domain.survey_cycles import CycleKind
from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.locale import locale_dependency
from sentrix.http.paging import MAX_OFFSET
from sentrix.http.query import reject_unknown_query_params
from sentrix.i18n import Locale
from sentrix_upload.dal.visits import VisitFilters
from sentrix_upload.logic import indices, visits
from sentrix_upload.schemas.visits import IndicesAnswer, VisitOut, VisitPage, VisitRequest

router = APIRouter(prefix="/api/v1", tags=["visits"])
caller_locale = locale_dependency(current_principal)

WHO = "experts, admins and officials (their territories and below); users are 403"


@router.post(
    "/visits",
    response_model=VisitOut,
    status_code=201,
    summary="Record a field visit: premises and containers per LIRAa class inspected in a block or area",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(
        403,
        404,
        422,
        s403=f"only {WHO}",
        s404="the territory is outside the caller's scope, or a linked site or analysis is not visible",
        s422="counts that do not add up, a date in the future, an unknown territory; `details.field` names it",
    ),
)
def record_visit(
    body: VisitRequest, principal: Principal = Depends(current_principal), locale: Locale = Depends(caller_locale)
) -> dict[str, Any]:
    return visits.record(principal, body, locale)


@router.get(
    "/visits",
    response_model=VisitPage,
    summary="Field visits the caller may see, latest day first",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(403, 404, s403=f"only {WHO}", s404="the territory is outside the caller's scope"),
)
def list_visits(
    territory: str | None = Query(
        default=None, max_length=64, description="A territory's code: its visits and those of every territory below"
    ),
    date_from: date | None = Query(default=None, alias="from", description="Visited on or after this day"),
    date_to: date | None = Query(default=None, alias="to", description="Visited on or before this day"),
    team: str | None = Query(default=None, min_length=1, max_length=200, description="The team (any case)"),
    site_id: uuid.UUID | None = Query(default=None, description="Visits that checked this site"),
    analysis_id: uuid.UUID | None = Query(default=None, description="Visits during which this analysis was taken"),
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(current_principal),
    locale: Locale = Depends(caller_locale),
) -> dict[str, Any]:
    filters = VisitFilters(
        territory=territory,
        date_from=date_from,
        date_to=date_to,
        team=team,
        site_id=site_id,
        analysis_id=analysis_id,
    )
    return visits.list_visits(principal, filters, limit=limit, offset=offset)


@router.get(
    "/visits/{id}",
    response_model=VisitOut,
    summary="One field visit with its containers per class and its linked sites and analyses",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(403, 404, s403=f"only {WHO}"),
)
def get_visit(
    id: str, principal: Principal = Depends(current_principal), locale: Locale = Depends(caller_locale)
) -> dict[str, Any]:
    return visits.visit_detail(principal, id)


@router.get(
    "/indices",
    response_model=IndicesAnswer,
    summary="Larval indices (HI with LIRAa's class, CI, BI, ITR, pupae) per territory and survey cycle, and the "
    "photo-derived potential sites kept apart",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(403, 404, s403=f"only {WHO}", s404="the territory is unknown or outside the scope"),
)
def get_indices(
    territory: str = Query(max_length=64, description="A territory's code (with every territory below it)"),
    date_from: date = Query(alias="from", description="First day of the survey window"),
    date_to: date = Query(alias="to", description="Last day of the survey window (inclusive)"),
    cycle: CycleKind = Query(
        default=CycleKind.WINDOW, description="window: the whole window is one cycle; epiweek; month"
    ),
    principal: Principal = Depends(current_principal),
    locale: Locale = Depends(caller_locale),
) -> dict[str, Any]:
    return indices.indices(principal, territory=territory, first=date_from, last=date_to, kind=cycle, locale=locale)
