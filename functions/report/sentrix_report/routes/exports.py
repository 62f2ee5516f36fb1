"""Exports of detections: GeoJSON (RFC 7946) and CSV, page by page with an opaque cursor."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.paging import MAX_CAPPED_LIMIT
from sentrix.i18n import Locale
from sentrix_report.logic.exports import Page, csv_page, geojson_page
from sentrix_report.logic.filenames import stamp
from sentrix_report.logic.filters import TERRITORY_HELP, DataFilters, build_filters
from sentrix_report.routes.deps import caller_locale
from sentrix_report.routes.files import file_response
from sentrix_report.routes.limits import Costly, RouteClass, route_class, spend
from sentrix_report.routes.params import BBOX_HELP, time_and_verdict

# Exports read many rows: the long statement class, and every page spends one of the caller's exports.
router = APIRouter(
    prefix="/api/v1/exports",
    tags=["exports"],
    dependencies=[route_class(RouteClass.EXPERT)],
    responses=error_responses(429, s429="Too many export pages requested by this user (see Retry-After)"),
)


def export_filters(
    common: dict = Depends(time_and_verdict),
    has_gps: bool | None = Query(None),
    bbox: str | None = Query(None, description=BBOX_HELP),
    user_id: uuid.UUID | None = Query(None, description="experts and admins only"),
    territory: str | None = Query(None, max_length=64, description=TERRITORY_HELP),
) -> DataFilters:
    return build_filters(**common, has_gps=has_gps, bbox=bbox, user_id=user_id, territory=territory)


def _paging_headers(request: Request, page: Page) -> dict[str, str]:
    headers = {"X-Total-Count": str(page.matched), "X-As-Of": page.as_of.isoformat()}
    if page.next_cursor:
        headers["X-Next-Cursor"] = page.next_cursor
        # A relative reference (RFC 8288): behind API Gateway the app does not know the stage prefix.
        query = request.url.include_query_params(cursor=page.next_cursor).query
        headers["Link"] = f'<?{query}>; rel="next"'
    return headers


@router.get(
    "/detections.geojson",
    summary="Located detections as an RFC 7946 FeatureCollection (paged)",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def get_geojson(
    request: Request,
    filters: DataFilters = Depends(export_filters),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int | None = Query(
        None, ge=1, le=MAX_CAPPED_LIMIT, description="features per page (default 1000, at most 1000)"
    ),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> Response:
    spend(principal, Costly.EXPORTS)  # once the request is valid: a malformed one is a 422, not a spent page
    page = geojson_page(principal, filters, cursor=cursor, limit=limit, locale=locale)
    return file_response(
        page.body, "geojson", f"sentrix_detections_{stamp(page.as_of)}.geojson", _paging_headers(request, page)
    )


@router.get(
    "/detections.csv",
    summary="Detections as CSV (paged; next page in Link / X-Next-Cursor)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_csv(
    request: Request,
    filters: DataFilters = Depends(export_filters),
    cursor: str | None = Query(None, description="X-Next-Cursor of the previous page"),
    limit: int | None = Query(
        None, ge=1, le=MAX_CAPPED_LIMIT, description="rows per page (default 1000, at most 1000)"
    ),
    principal: Principal = Depends(current_principal),
) -> Response:
    spend(principal, Costly.EXPORTS)
    page = csv_page(principal, filters, cursor=cursor, limit=limit)
    return file_response(
        page.body, "csv", f"sentrix_detections_{stamp(page.as_of)}.csv", _paging_headers(request, page)
    )
