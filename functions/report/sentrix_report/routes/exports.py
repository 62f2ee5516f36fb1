"""Exports of detections: GeoJSON (RFC 7946) and CSV, page by page with an opaque cursor."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response

from sentrix.http.identity import Principal, current_principal
from sentrix_report.logic.exports import Page, csv_page, geojson_page
from sentrix_report.logic.filters import RISK_HELP, DataFilters, build_filters
from sentrix_report.routes.files import file_response, stamp

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])


def export_filters(
    date_from: str | None = Query(None, description="inclusive; a date means 00:00 UTC"),
    date_to: str | None = Query(None, description="inclusive; a date covers the whole day"),
    risk_level: str | None = Query(None, description=RISK_HELP),
    has_gps: bool | None = Query(None),
    bbox: str | None = Query(None, description="west,south,east,north in degrees"),
    user_id: uuid.UUID | None = Query(None, description="experts and admins only"),
    active_only: bool = Query(False),
) -> DataFilters:
    return build_filters(
        date_from=date_from,
        date_to=date_to,
        risk_level=risk_level,
        has_gps=has_gps,
        bbox=bbox,
        user_id=user_id,
        active_only=active_only,
    )


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
    limit: int | None = Query(None, ge=1, description="features per page (default 1000, at most 5000)"),
    principal: Principal = Depends(current_principal),
) -> Response:
    page = geojson_page(principal, filters, cursor=cursor, limit=limit)
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
    limit: int | None = Query(None, ge=1, description="rows per page (default 1000, at most 5000)"),
    principal: Principal = Depends(current_principal),
) -> Response:
    page = csv_page(principal, filters, cursor=cursor, limit=limit)
    return file_response(
        page.body, "csv", f"sentrix_detections_{stamp(page.as_of)}.csv", _paging_headers(request, page)
    )
