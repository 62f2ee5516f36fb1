"""Map routes: heatmap data and map statistics (public), vector tiles (public), hotspots."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Response

from sentrix.http.identity import Principal, current_principal
from sentrix.i18n import Locale
from sentrix_report.caller import public_caller, public_locale
from sentrix_report.logic.filters import RISK_HELP
from sentrix_report.logic.heatmap import heatmap_data
from sentrix_report.logic.hotspots import hotspots
from sentrix_report.logic.map_stats import map_statistics
from sentrix_report.logic.tiles import MVT_MEDIA_TYPE, vector_tile

router = APIRouter(prefix="/api/v1", tags=["maps"])

BBOX_HELP = "west,south,east,north in degrees (WGS 84)"


@router.get("/heatmap-data", summary="Heatmap points (public: aggregated and precision-reduced)")
def get_heatmap_data(
    risk_level: str | None = Query(None, description=RISK_HELP),
    since: str | None = Query(None, description="analyses created at or after this time"),
    bbox: str | None = Query(None, description=BBOX_HELP),
    active_only: bool = Query(False, description="only detections whose validity has not expired"),
    limit: int | None = Query(None, ge=1, description="most analyses (exact points) and most public cells"),
    principal: Principal | None = Depends(public_caller),
) -> dict[str, Any]:
    return heatmap_data(principal, risk_level=risk_level, since=since, bbox=bbox, active_only=active_only, limit=limit)


@router.get("/map-stats", summary="System-wide map statistics (public); the caller's own when logged in")
def get_map_stats(
    since: str | None = Query(None, description="analyses created at or after this time"),
    bbox: str | None = Query(None, description=BBOX_HELP),
    locale: Locale = Depends(public_locale),
    principal: Principal | None = Depends(public_caller),
) -> dict[str, Any]:
    return map_statistics(principal, since=since, bbox=bbox, locale=locale)


@router.get(
    "/map/tiles/{z}/{x}/{y}.mvt",
    summary="Mapbox vector tile (public): grid aggregates; detections at high zoom for those who may see them",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 304: {"description": "not modified (ETag)"}},
)
def get_tile(
    z: int,
    x: int,
    y: int,
    since: str | None = Query(None, description="detections of analyses created at or after this"),
    risk_level: str | None = Query(None, description=RISK_HELP),
    active_only: bool = Query(False, description="only detections whose validity has not expired"),
    if_none_match: str | None = Header(None),
    principal: Principal | None = Depends(public_caller),
) -> Response:
    found = vector_tile(principal, z, x, y, since=since, risk_level=risk_level, active_only=active_only)
    headers = {"Cache-Control": found.cache_control, "ETag": found.etag, "Vary": "Authorization"}
    if if_none_match and found.etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(content=found.body, media_type=MVT_MEDIA_TYPE, headers=headers | {"X-Tile-Layers": found.layers})


@router.get("/map/hotspots", summary="Hotspots: DBSCAN clusters in metres; optional Getis-Ord Gi* grid")
def get_hotspots(
    bbox: str | None = Query(None, description=BBOX_HELP),
    # At least a metre: a denormal radius (5e-324) overflows the row-major ordering of the DBSCAN query (a 500).
    eps_m: float | None = Query(None, ge=1, le=5000, description="DBSCAN radius in metres (default 150)"),
    min_points: int | None = Query(None, ge=2, le=1000, description="DBSCAN core size (default 3)"),
    since: str | None = Query(None, description="detections of analyses created at or after this"),
    active_only: bool = Query(True, description="only detections whose validity has not expired"),
    user_id: uuid.UUID | None = Query(None, description="experts and admins: one user's data"),
    limit: int = Query(100, ge=1, le=1000, description="most clusters returned, largest first"),
    gistar: bool = Query(False, description="also compute Getis-Ord Gi* z-scores over a grid of the bbox"),
    cell_m: float = Query(500.0, description="Gi* grid cell size in metres"),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return hotspots(
        principal,
        bbox=bbox,
        eps_m=eps_m,
        min_points=min_points,
        since=since,
        active_only=active_only,
        user_id=user_id,
        limit=limit,
        with_gistar=gistar,
        cell_m=cell_m,
    )
