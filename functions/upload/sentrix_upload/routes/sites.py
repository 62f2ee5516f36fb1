"""Sites: the work list, one site, and the actions of its lifecycle (docs/sites.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.locale import locale_dependency
from sentrix.http.query import reject_unknown_query_params
from sentrix.i18n import Locale
from sentrix_upload.logic import filters as f
from sentrix_upload.logic import sites, territories
from sentrix_upload.logic.filters import SiteQuery
from sentrix_upload.routes.params import site_query
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
    query: SiteQuery = Depends(site_query),
    principal: Principal = Depends(current_principal),
    locale: Locale = Depends(caller_locale),
) -> dict[str, Any]:
    filters = f.site_filters(query)
    if query.territory is not None:
        territories.check_known(query.territory)
    return sites.list_sites(
        principal, filters, order=query.order, limit=query.limit, offset=query.offset, locale=locale
    )


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
