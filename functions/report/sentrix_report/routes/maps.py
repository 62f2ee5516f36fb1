"""Map routes: heatmap data and map statistics (public), vector tiles (public), hotspots."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Response

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.paging import MAX_CAPPED_LIMIT
from sentrix.i18n import Locale
from sentrix_report.logic.filters import DataFilters
from sentrix_report.logic.heatmap import heatmap_data
from sentrix_report.logic.hotspots import hotspots
from sentrix_report.logic.map_stats import map_statistics
from sentrix_report.logic.site_units import UNIT_HELP, Unit
from sentrix_report.logic.tiles import MVT_MEDIA_TYPE, vector_tile
from sentrix_report.routes.deps import caller_locale, public_caller, public_locale
from sentrix_report.routes.limits import Costly, RouteClass, route_class, spend
from sentrix_report.routes.params import area_filters, place_free_filters, scoped_filters

router = APIRouter(prefix="/api/v1", tags=["maps"])


# Public maps run under the short class: one caller cannot hold the database for everyone (docs/report.md).
PUBLIC = [route_class(RouteClass.PUBLIC)]


@router.get("/heatmap-data", summary="Heatmap points (public: aggregated and precision-reduced)", dependencies=PUBLIC)
def get_heatmap_data(
    filters: DataFilters = Depends(area_filters),
    limit: int | None = Query(
        None,
        ge=1,
        le=MAX_CAPPED_LIMIT,
        description="most analyses (exact points; sites with unit=sites) and most public cells",
    ),
    unit: Unit | None = Query(None, description=UNIT_HELP),
    locale: Locale = Depends(public_locale),
    principal: Principal | None = Depends(public_caller),
) -> dict[str, Any]:
    return heatmap_data(principal, filters, limit=limit, locale=locale, unit=unit)


@router.get(
    "/map-stats",
    summary="System-wide map statistics (public); the caller's own when logged in",
    dependencies=PUBLIC,
)
def get_map_stats(
    filters: DataFilters = Depends(area_filters),
    unit: Unit | None = Query(None, description=UNIT_HELP),
    locale: Locale = Depends(public_locale),
    principal: Principal | None = Depends(public_caller),
) -> dict[str, Any]:
    return map_statistics(principal, filters, locale, unit)


@router.get(
    "/map/tiles/{z}/{x}/{y}.mvt",
    summary="Mapbox vector tile (public): grid aggregates; detections at high zoom for those who may see them",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 304: {"description": "not modified (ETag)"}},
    dependencies=PUBLIC,
)
def get_tile(
    z: int,
    x: int,
    y: int,
    filters: DataFilters = Depends(place_free_filters),
    unit: Unit | None = Query(None, description=UNIT_HELP),
    if_none_match: str | None = Header(None),
    principal: Principal | None = Depends(public_caller),
) -> Response:
    found = vector_tile(principal, z, x, y, filters, unit)
    headers = {"Cache-Control": found.cache_control, "ETag": found.etag, "Vary": "Authorization"}
    if if_none_match and found.etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(content=found.body, media_type=MVT_MEDIA_TYPE, headers=headers | {"X-Tile-Layers": found.layers})


@router.get(
    "/map/hotspots",
    summary="Hotspots: DBSCAN clusters in metres; optional Getis-Ord Gi* grid",
    dependencies=[route_class(RouteClass.EXPERT)],
    responses=error_responses(
        429,
        s422="Validation error, or parameters whose estimated cost is too high (narrow the bbox or eps_m)",
        s429="Too many hotspot requests from this user (see Retry-After)",
    ),
)
def get_hotspots(
    filters: DataFilters = Depends(scoped_filters),
    # At least a metre: a denormal radius (5e-324) overflows the row-major ordering of the DBSCAN query (a 500).
    eps_m: float | None = Query(None, ge=1, le=5000, description="DBSCAN radius in metres (default 150)"),
    min_points: int | None = Query(None, ge=2, le=1000, description="DBSCAN core size (default 3)"),
    limit: int = Query(100, ge=1, le=1000, description="most clusters returned, largest first"),
    gistar: bool = Query(False, description="also compute Getis-Ord Gi* z-scores over a grid of the bbox"),
    cell_m: float = Query(500.0, description="Gi* grid cell size in metres"),
    unit: Unit | None = Query(None, description=UNIT_HELP),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    spend(principal, Costly.HOTSPOTS)  # once the request is valid: a malformed one is a 422, not a spent hotspot
    return hotspots(
        principal,
        filters,
        eps_m=eps_m,
        min_points=min_points,
        limit=limit,
        with_gistar=gistar,
        cell_m=cell_m,
        locale=locale,
        unit=unit,
    )
