"""GET /map/hotspots: DBSCAN clusters in metres and, on request, Getis-Ord Gi* hot and cold cells."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.errors import ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix_report.dal.hotspots import dbscan, estimated_extent, estimated_points, gistar, grid_size
from sentrix_report.logic.filters import BBox, DataFilters, Where
from sentrix_report.logic.notes import what_counts
from sentrix_report.logic.quotas import Costly, hold_place
from sentrix_report.logic.scope import Scope, apply_filters, counted_detections
from sentrix_report.logic.site_units import Unit, unit_for
from sentrix_report.settings import get_report_settings

# One UTM zone is 6° wide; a bbox up to twice that keeps the scale error of its centre zone under ~0.6%.
SINGLE_ZONE_MAX_WIDTH_DEG = 12.0
# ArcGIS's Gi_Bin confidence levels: |z| ≥ 1.645 (90%), 1.960 (95%), 2.576 (99%).
GI_BINS = ((2.576, 3, 99), (1.960, 2, 95), (1.645, 1, 90))


def utm_srid(latitude: float, longitude: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding a point (326xx north, 327xx south)."""
    zone = min(60, math.floor((longitude + 180) / 6) + 1)
    return (32600 if latitude >= 0 else 32700) + zone


def projection_for(bbox: BBox | None) -> int | None:
    """The UTM zone of the bbox centre, or None (per-point zones) without a bbox or for a very wide one."""
    if bbox is None or bbox.east - bbox.west > SINGLE_ZONE_MAX_WIDTH_DEG:
        return None
    return utm_srid((bbox.south + bbox.north) / 2, (bbox.west + bbox.east) / 2)


METRES_PER_DEG = 111_320.0


def area_m2(box: BBox) -> float:
    """The area of a bbox in square metres (a spherical approximation: enough for an estimate)."""
    middle = math.radians((box.south + box.north) / 2)
    return (box.east - box.west) * METRES_PER_DEG * math.cos(middle) * (box.north - box.south) * METRES_PER_DEG


def study_area(box: BBox | None, extent: tuple[float, float, float, float] | None) -> BBox | None:
    """Where the points can be: the bbox, cut to the data's extent when both are known."""
    if box is None or extent is None:
        return box or (BBox(*extent) if extent else None)
    cut = BBox(max(box.west, extent[0]), max(box.south, extent[1]), min(box.east, extent[2]), min(box.north, extent[3]))
    return cut if cut.west < cut.east and cut.south < cut.north else box


def estimated_pairs(points: float, eps_m: float, area: float | None) -> float:
    """The pairs of points DBSCAN compares: each point with its expected neighbours within eps_m, the points
    spread evenly over `area` m² (without an area, every pair). A city is denser in places, so this is a floor;
    it grows with points² and eps², which is what makes a huge radius over a city cost minutes."""
    if not area or area <= 0:
        return points * points
    neighbours = min(points, 1 + points * math.pi * eps_m * eps_m / area)
    return points * neighbours


def check_cost(session, where: Where, box: BBox | None, detections: Where, eps_m: float, most: float) -> None:
    """Refuse (422, with the figures) hotspot parameters whose estimated cost passes `most` pairs: before any
    DBSCAN runs, from the planner's estimate of the points and the table statistics' extent (no row is read)."""
    points = estimated_points(session, where=where, bbox=box, detections=detections)
    area = study_area(box, estimated_extent(session))
    pairs = estimated_pairs(points, eps_m, area_m2(area) if area else None)
    if pairs > most:
        raise ValidationFailed(
            f"These hotspot parameters would compare about {pairs:.3g} pairs of points (at most {most:.3g}): "
            "use a smaller eps_m, a smaller bbox or narrower filters",
            details={"estimated_points": round(points), "eps_m": eps_m, "estimated_pairs": pairs, "max_pairs": most},
            key="err.hotspot_cost",
            pairs=f"{pairs:.3g}",
            most=f"{most:.3g}",
        )


def gi_bin(z: float) -> tuple[int, int | None]:
    """(bin, confidence %) as ArcGIS labels it: +3/+2/+1 hot, -1/-2/-3 cold, 0 not significant."""
    for threshold, level, confidence in GI_BINS:
        if abs(z) >= threshold:
            return (level if z > 0 else -level), confidence
    return 0, None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def hotspots(
    principal: Principal,
    filters: DataFilters | None = None,
    *,
    eps_m: float | None = None,
    min_points: int | None = None,
    limit: int = 100,
    locale: Locale | None = None,
    with_gistar: bool = False,
    cell_m: float = 500.0,
    unit: Unit | None = None,
) -> dict[str, Any]:
    """Clusters of the caller's visible detections (and Gi* cells if asked), with the method stated; with
    `unit=sites`, clusters of the breeding sites those detections belong to."""
    settings = get_report_settings()
    unit = unit_for(principal, unit)
    by_site = unit is Unit.SITES
    filters = filters or DataFilters()
    locale = locale or Locale()
    scope = Scope.of(principal, filters.user_id, filters.territory)
    box = filters.box
    eps = eps_m or settings.hotspot_eps_m
    minimum = min_points or settings.hotspot_min_points
    srid = projection_for(box)
    where = apply_filters(scope.analyses("a"), filters.model_copy(update={"bbox": None}))
    as_of = datetime.now(UTC)
    detections = counted_detections(filters, as_of)
    result: dict[str, Any] = {}
    with session_scope() as session:
        check_cost(session, where, box, detections, eps, settings.hotspot_max_pairs)
        hold_place(session, principal, Costly.HOTSPOTS)
        clusters = dbscan(
            session,
            where=where,
            srid=srid,
            bbox=box,
            eps_m=eps,
            min_points=minimum,
            detections=detections,
            limit=limit,
            min_analyses=settings.hotspot_min_analyses,
            min_distinct_points=settings.hotspot_min_distinct_points,
            sites=by_site,
            exact_sites=principal.sees_everything or scope.official,
        )
        if with_gistar:
            result["gistar"] = _gistar(session, where, box, cell_m, detections, settings.gistar_max_cells, locale)
    result["clusters"] = [
        {
            "rank": rank,
            "centroid": {"latitude": c["latitude"], "longitude": c["longitude"]},
            **(
                {"site_count": c["detection_count"]}
                if by_site
                else {"detection_count": c["detection_count"], "analysis_count": c["analysis_count"]}
            ),
            "point_count": c["point_count"],
            "dominant_type": c["dominant_type"],
            "type_counts": c["type_counts"],
            "mean_risk": c["mean_risk"],
            "mean_risk_level": c["mean_risk_level"],
            "radius_m": c["radius_m"],
            "first_seen": _iso(c["first_seen"]),
            "last_seen": _iso(c["last_seen"]),
        }
        for rank, c in enumerate(clusters, start=1)
    ]
    result["method"] = {
        "name": "DBSCAN (ST_ClusterDBSCAN)",
        "eps_m": eps,
        "min_points": minimum,
        "points": locale.t("note.hotspot_site_points" if by_site else "note.hotspot_points"),
        "unit": unit.value,
        "min_distinct_analyses": settings.hotspot_min_analyses,
        "min_distinct_points": settings.hotspot_min_distinct_points,
        "rule": locale.t(
            "note.hotspot_rule",
            analyses=settings.hotspot_min_analyses,
            points=settings.hotspot_min_distinct_points,
        ),
        "projection": f"EPSG:{srid} (UTM)" if srid else locale.t("note.own_utm_zone"),
        "mean_risk_scale": "ALTO 3, MEDIO 2, BAJO 1, MINIMO 0",
    }
    return result | {
        "scope": scope.describe(),
        **what_counts(filters, locale),
        "active_only": filters.active_only,
        "coverage": filters.coverage(as_of),
        "filters": filters.echo(),
        "as_of": as_of.isoformat(),
    }


def _gistar(session, where, box: BBox | None, cell_m: float, detections: Where, max_cells: int, locale: Locale) -> dict:
    if box is None:
        raise ValidationFailed(key="err.gistar_bbox")
    if not 10 <= cell_m <= 100_000:
        raise ValidationFailed(details={"cell_m": cell_m}, key="err.gistar_cell")
    srid = projection_for(box) or utm_srid((box.south + box.north) / 2, (box.west + box.east) / 2)
    nx, ny = grid_size(session, srid=srid, bbox=box, cell_m=cell_m)
    if nx * ny > max_cells:
        raise ValidationFailed(
            f"the Gi* grid would have {nx * ny} cells (at most {max_cells}): use a larger cell_m or a smaller bbox",
            details={"nx": nx, "ny": ny},
            key="err.gistar_grid",
            cells=nx * ny,
            most=max_cells,
        )
    cells = gistar(
        session,
        where=where,
        srid=srid,
        bbox=box,
        cell_m=cell_m,
        z_min=GI_BINS[-1][0],
        detections=detections,
    )
    features = []
    for cell in cells:
        level, confidence = gi_bin(cell["z"])
        features.append(
            {
                "type": "Feature",
                "geometry": cell["geometry"],
                "properties": {
                    "ix": cell["ix"],
                    "iy": cell["iy"],
                    "count": cell["count"],
                    "z": cell["z"],
                    "gi_bin": level,
                    "confidence": confidence,
                    "kind": "hot" if level > 0 else "cold",
                },
            }
        )
    first = cells[0] if cells else None
    return {
        "type": "FeatureCollection",
        "features": features,
        "grid": {"cell_m": cell_m, "nx": nx, "ny": ny, "cells": nx * ny, "projection": f"EPSG:{srid}"},
        "value": locale.t("note.gistar_value"),
        "mean": first["mean"] if first else None,
        "sd": first["sd"] if first else None,
        "weights": locale.t("note.gistar_weights"),
        "bins": locale.t("note.gistar_bins"),
    }
