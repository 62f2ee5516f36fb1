"""Checking a territories GeoJSON before anything is written (docs/territories.md, "Import").

Pure: the FeatureCollection's shape, each feature's polygon and properties, duplicate codes, parents (in the
file, any order, or already stored) and cycles. Each refusal names the feature's index (0-based) and its
reason (catalogue `territory.refusal.<reason>`). Geometry validity (self-intersections) is PostGIS's to judge.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from sentrix.errors import ValidationFailed

MAX_CODE = 64
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Feature:
    index: int
    code: str
    name: str
    parent: str | None
    geometry: str  # GeoJSON text, for ST_GeomFromGeoJSON


def refuse(reason: str, index: int | None = None, **values: Any) -> ValidationFailed:
    """The 422 refusing a territory file for `reason` (a catalogue key), naming the feature if one."""
    details: dict[str, Any] = {"reason": reason, **values}
    if index is not None:
        details["feature"] = index
    where = f"feature {index}: " if index is not None else ""
    return ValidationFailed(
        f"{where}{reason.replace('_', ' ')}",
        key=f"territory.refusal.{reason}",
        details=details,
        index=index if index is not None else "",
        **values,
    )


def _position_ok(position: Any) -> bool:
    if not isinstance(position, list) or len(position) not in (2, 3):
        return False
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position):
        return False
    lon, lat = position[0], position[1]
    return math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90


def _rings(polygon: Any, index: int) -> None:
    if not isinstance(polygon, list) or not polygon:
        raise refuse("bad_coordinates", index)
    for ring in polygon:
        if not isinstance(ring, list) or len(ring) < 4:
            raise refuse("bad_coordinates", index)
        for position in ring:
            if not isinstance(position, list) or len(position) not in (2, 3):
                raise refuse("bad_coordinates", index)
            if not _position_ok(position):
                raise refuse("out_of_range", index)
        if ring[0][:2] != ring[-1][:2]:
            raise refuse("bad_coordinates", index)


def _geometry(raw: Any, index: int) -> str:
    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        raise refuse("not_polygon", index)
    coordinates = raw.get("coordinates")
    if raw["type"] == "Polygon":
        _rings(coordinates, index)
    else:
        if not isinstance(coordinates, list) or not coordinates:
            raise refuse("bad_coordinates", index)
        for polygon in coordinates:
            _rings(polygon, index)
    return json.dumps({"type": raw["type"], "coordinates": coordinates})


def _text(properties: dict[str, Any], name: str, index: int, limit: int) -> str | None:
    value = properties.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise refuse(f"bad_{name}", index)
    return value.strip()


def parse(document: Any) -> list[Feature]:
    """The features of a FeatureCollection, checked one by one, in file order."""
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise refuse("not_geojson")
    if document["type"] != "FeatureCollection" or not isinstance(document.get("features"), list):
        raise refuse("not_feature_collection")
    if not document["features"]:
        raise refuse("no_features")
    features: list[Feature] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["features"]):
        if not isinstance(raw, dict) or raw.get("type") != "Feature":
            raise refuse("not_feature", index)
        properties = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
        geometry = _geometry(raw.get("geometry"), index)
        code = _text(properties, "code", index, MAX_CODE)
        if code is None:
            raise refuse("missing_code", index)
        name = _text(properties, "name", index, MAX_NAME)
        if name is None:
            raise refuse("missing_name", index)
        parent = _text(properties, "parent", index, MAX_CODE)
        if code in seen:
            raise refuse("duplicate_code", index, code=code)
        if parent == code:
            raise refuse("parent_cycle", index, code=code)
        seen.add(code)
        features.append(Feature(index, code, name, parent, geometry))
    return features


def order(features: list[Feature], stored_parents: dict[str, str | None]) -> list[Feature]:
    """The features parents first; refuses an unknown parent or a cycle (through stored territories too).

    `stored_parents`: code → parent code of the territories already stored."""
    in_file = {f.code: f for f in features}
    for feature in features:
        if feature.parent is not None and feature.parent not in in_file and feature.parent not in stored_parents:
            raise refuse("unknown_parent", feature.index, parent=feature.parent)

    def parent_of(code: str) -> str | None:
        return in_file[code].parent if code in in_file else stored_parents.get(code)

    for feature in features:
        seen = {feature.code}
        current = feature.parent
        while current is not None:
            if current in seen:
                raise refuse("parent_cycle", feature.index, code=feature.code)
            seen.add(current)
            current = parent_of(current)

    ordered: list[Feature] = []
    placed: set[str] = set()

    for feature in features:
        chain: list[Feature] = []
        current: Feature | None = feature
        while current is not None and current.code not in placed:
            chain.append(current)
            current = in_file.get(current.parent) if current.parent is not None else None
        for link in reversed(chain):
            placed.add(link.code)
            ordered.append(link)
    return ordered
