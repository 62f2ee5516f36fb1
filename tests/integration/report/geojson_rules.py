"""RFC 7946 rules the exports must keep, checked by hand (no library that could share our mistakes)."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_position(position: Any, where: str) -> list[str]:
    if not isinstance(position, list) or not 2 <= len(position) <= 3 or not all(map(_number, position)):
        return [f"{where}: a position is 2 or 3 numbers, got {position!r}"]
    lon, lat = position[0], position[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return [f"{where}: [{lon}, {lat}] is not [longitude, latitude]"]
    return []


def _ring_area2(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1, *_), (x2, y2, *_) in pairwise(ring))


def check_geometry(geometry: Any, where: str) -> list[str]:
    if geometry is None:
        return []
    if not isinstance(geometry, dict) or "crs" in geometry:
        return [f"{where}: geometry must be an object without crs"]
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        return check_position(coordinates, where)
    if kind == "Polygon":
        problems = []
        for index, ring in enumerate(coordinates or []):
            if len(ring) < 4 or ring[0] != ring[-1]:
                problems.append(f"{where}: ring {index} is not closed with at least 4 positions")
            for position in ring:
                problems += check_position(position, where)
            clockwise = _ring_area2(ring) < 0
            if clockwise != (index > 0):
                problems.append(f"{where}: ring {index} breaks the right-hand rule")
        return problems
    return [f"{where}: unexpected geometry type {kind!r}"]


def check_feature_collection(document: Any) -> list[str]:
    """Every RFC 7946 violation found in a FeatureCollection (empty list when valid)."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return ["not a FeatureCollection"]
    problems = ["crs member is not allowed"] if "crs" in document else []
    if not isinstance(document.get("features"), list):
        return [*problems, "features must be an array"]
    for index, feature in enumerate(document["features"]):
        where = f"features[{index}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"{where}: not a Feature")
            continue
        if "geometry" not in feature or "properties" not in feature:
            problems.append(f"{where}: geometry and properties are required members")
        if "id" in feature and not (isinstance(feature["id"], str) or _number(feature["id"])):
            problems.append(f"{where}: id must be a string or a number")
        if feature.get("properties") is not None and not isinstance(feature["properties"], dict):
            problems.append(f"{where}: properties must be an object or null")
        problems += check_geometry(feature.get("geometry"), where)
    return problems
