"""Sites: the work list, one site, and the actions of its lifecycle (docs/sites.md)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from sentrix.domain.sites import SiteFamily, SiteStatus
from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.locale import locale_dependency
from sentrix.http.paging import MAX_OFFSET
from sentrix.http.query import reject_unknown_query_params
from sentrix.i18n import Locale
from sentrix_upload.logic import filters as f
from sentrix_upload.logic import sites, territories
from sentrix_upload.schemas.sites import SiteActionRequest, SiteDetail, SitePage

router = APIRouter(prefix="/api/v1", tags=["sites"])
caller_locale = locale_dependency(current_principal)


@router.get(
    "/sites",
    response_model=SitePage,
    summary="Sites the caller may see: the team's work list by priority, or the most recently reported first",
    dependencies=[Depends(reject_unknown_query_params)],
)
def list_sites(
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
    principal: Principal = Depends(current_principal),
    locale: Locale = Depends(caller_locale),
) -> dict[str, Any]:
    filters = f.SiteFilters(
        statuses=f.parse_enum_list(status, SiteStatus, "status"),
        families=f.parse_enum_list(family, SiteFamily, "family"),
        bbox=f.parse_bbox(bbox),
        near=f.parse_near(near, radius_m),
        confirmed=confirmed,
        since=f.parse_moment(since, "since", end_of_day=False),
        territory=territory,
    )
    if territory is not None:
        territories.check_known(territory)
    return sites.list_sites(principal, filters, order=order, limit=limit, offset=offset, locale=locale)


@router.get(
    "/sites/{id}",
    response_model=SiteDetail,
    summary="One site: members with their analyses and images, timeline, priority and its reasons",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(404),
)
def get_site(
    id: str, principal: Principal = Depends(current_principal), locale: Locale = Depends(caller_locale)
) -> dict[str, Any]:
    return sites.site_detail(principal, id, locale)


@router.post(
    "/sites/{id}/actions",
    response_model=SiteDetail,
    summary="Record a lifecycle action (experts and admins): assign, treat, verify, close, reopen, dismiss",
    responses=error_responses(
        403, 404, 409, s403="users may not act on sites", s409="invalid transition, or a close without verification"
    ),
)
def act_on_site(
    id: str,
    body: SiteActionRequest,
    principal: Principal = Depends(current_principal),
    locale: Locale = Depends(caller_locale),
) -> dict[str, Any]:
    return sites.act(principal, id, body, locale)
