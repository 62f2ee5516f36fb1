"""Territories: the admins' import (inline or presigned) and the reads (docs/territories.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.locale import locale_dependency
from sentrix.http.paging import MAX_OFFSET
from sentrix.http.query import reject_unknown_query_params
from sentrix.i18n import Locale
from sentrix_upload.logic import territories
from sentrix_upload.schemas.territories import TerritoryDetail, TerritoryImportResult, TerritoryPage, TerritoryUpload
from sentrix_upload.settings import get_upload_settings

router = APIRouter(prefix="/api/v1", tags=["territories"])
caller_locale = locale_dependency(current_principal)


@router.post(
    "/territories/uploads",
    response_model=TerritoryUpload,
    status_code=201,
    summary="A presigned POST for a large territories GeoJSON file (admins); then import it by its key",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(403, s403="only admins import territories"),
)
def start_territory_upload(
    principal: Principal = Depends(current_principal), locale: Locale = Depends(caller_locale)
) -> dict[str, Any]:
    return territories.start_upload(principal, get_upload_settings())


@router.post(
    "/territories",
    response_model=TerritoryImportResult,
    summary="Import territories (admins): a GeoJSON FeatureCollection, or {upload_key} of a presigned upload",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(403, 422, s403="only admins import territories", s422="refused, with the feature"),
)
def import_territories(
    body: dict[str, Any] = Body(
        description="A FeatureCollection of Polygon/MultiPolygon features with properties code, name and "
        'optionally parent; or {"upload_key": ...} from POST /territories/uploads'
    ),
    principal: Principal = Depends(current_principal),
    locale: Locale = Depends(caller_locale),
) -> dict[str, Any]:
    return territories.import_territories(principal, body, locale)


@router.get(
    "/territories",
    response_model=TerritoryPage,
    response_model_exclude_unset=True,
    summary="Territories, roots first: filter by parent or level; geometry only when asked",
    dependencies=[Depends(reject_unknown_query_params)],
)
def list_territories(
    parent: str | None = Query(default=None, max_length=64, description="Only the children of this code"),
    level: int | None = Query(default=None, ge=0, le=32, description="Only this depth (0: roots)"),
    include_geometry: bool = Query(default=False),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return territories.list_territories(
        parent=parent, level=level, include_geometry=include_geometry, limit=limit, offset=offset
    )


@router.get(
    "/territories/{code}",
    response_model=TerritoryDetail,
    summary="One territory with its geometry (GeoJSON) and the codes of its children",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(404),
)
def get_territory(
    code: str, principal: Principal = Depends(current_principal), locale: Locale = Depends(caller_locale)
) -> dict[str, Any]:
    return territories.territory(code)
