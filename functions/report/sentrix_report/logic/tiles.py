"""GET /map/tiles/{z}/{x}/{y}.mvt: one vector tile for the caller, with the headers caches need."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sentrix.db.engine import session_scope
from sentrix.errors import ValidationFailed
from sentrix.http.identity import Principal
from sentrix_report.dal.site_maps import site_tile
from sentrix_report.dal.tiles import tile
from sentrix_report.logic.filters import DataFilters
from sentrix_report.logic.scope import (
    MapAudience,
    apply_filters,
    counted,
    counted_detections,
    public_rollup_applies,
    public_view,
)
from sentrix_report.logic.site_units import Unit, unit_for, whole_sites
from sentrix_report.settings import get_report_settings

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22


@dataclass(frozen=True)
class Tile:
    body: bytes
    etag: str
    cache_control: str
    layers: str


def check_coordinates(z: int, x: int, y: int) -> None:
    """z in [0, 22] and x, y inside the 2^z × 2^z tile matrix, else 422."""
    if not 0 <= z <= MAX_ZOOM:
        raise ValidationFailed(
            f"zoom must be between 0 and {MAX_ZOOM}", details={"z": z}, key="err.zoom", most=MAX_ZOOM
        )
    size = 1 << z
    if not (0 <= x < size and 0 <= y < size):
        raise ValidationFailed(
            f"x and y must be within [0, {size - 1}] at zoom {z}",
            details={"x": x, "y": y},
            key="err.tile_xy",
            most=size - 1,
            z=z,
        )


def vector_tile(
    principal: Principal | None,
    z: int,
    x: int,
    y: int,
    filters: DataFilters | None = None,
    unit: Unit | None = None,
) -> Tile:
    """The tile for this caller: exact detections only where they may see them, cells otherwise; with
    `unit=sites`, sites as places where the caller may see them, public cells of sites otherwise."""
    check_coordinates(z, x, y)
    unit = unit_for(principal, unit)
    settings = get_report_settings()
    filters = filters or DataFilters()
    audience = MapAudience(principal)
    detail = z >= settings.tile_detail_min_zoom
    view = public_view(principal, filters, datetime.now(UTC), settings.public_grid_deg)
    filters, as_of = view.filters, view.as_of
    # Experts see everything: no cell of theirs is held back (their grid has the public cells too).
    min_reporters = settings.public_min_reporters if view.snapped else 0
    with session_scope() as session:
        if unit is Unit.SITES:
            body = site_tile(
                session,
                z=z,
                x=x,
                y=y,
                where=apply_filters(counted("a"), filters),
                whole=whole_sites(principal),
                detections=counted_detections(filters, as_of),
                viewer=principal.user_id if principal else None,
                detail=detail,
                grid_deg=settings.public_grid_deg,
                cells=settings.tile_grid_cells,
                as_of=as_of,
                min_reporters=min_reporters,
            )
            layers = "sites,grid" if detail else "grid"
        else:
            body = tile(
                session,
                z=z,
                x=x,
                y=y,
                where=apply_filters(counted("a"), filters),
                exact=audience.exact("a"),
                detections=counted_detections(filters, as_of),
                detail=detail,
                grid_deg=settings.public_grid_deg,
                cells=settings.tile_grid_cells,
                min_reporters=min_reporters,
                as_of=as_of,
                rollup=public_rollup_applies(principal, filters, settings.public_grid_deg),
            )
            layers = "detections,grid" if detail else "grid"
    # Anonymous tiles are the same for everyone: shared caches may keep them. Signed-in tiles differ
    # per caller, so only the browser may.
    if principal is None:
        cache = f"public, max-age={settings.tile_public_max_age_s}"
    else:
        cache = f"private, max-age={settings.tile_private_max_age_s}"
    # The unit is part of the tag: a tile kept for one unit is never confirmed (304) for the other.
    etag = '"' + hashlib.sha256(unit.value.encode() + b"\n" + body).hexdigest()[:32] + '"'
    return Tile(body, etag, cache, layers)
