"""The hand-written RFC 7946 checker the export tests rely on (tests/integration/report/geojson_rules.py), shown
failing: a valid FeatureCollection passes, and each broken copy is refused with the rule it breaks named."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.report.geojson_rules import check_feature_collection

# A square around Tucumán, counter-clockwise (RFC 7946 §3.1.6: exterior rings follow the right-hand rule),
# with a clockwise hole inside it.
EXTERIOR = [[-65.3, -26.9], [-65.1, -26.9], [-65.1, -26.7], [-65.3, -26.7], [-65.3, -26.9]]
HOLE = [[-65.25, -26.85], [-65.25, -26.75], [-65.15, -26.75], [-65.15, -26.85], [-65.25, -26.85]]


def valid() -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "d-1",
                "geometry": {"type": "Point", "coordinates": [-65.2, -26.8]},
                "properties": {"risk_level": "ALTO"},
            },
            {
                "type": "Feature",
                "id": 2,
                "geometry": {"type": "Polygon", "coordinates": [EXTERIOR, HOLE]},
                "properties": None,
            },
            {"type": "Feature", "geometry": None, "properties": {}},
        ],
    }


def test_a_valid_collection_has_no_problems():
    assert check_feature_collection(valid()) == []


def _set(path: list, value: Any) -> Callable[[dict], None]:
    def apply(document: dict) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return apply


def _delete(path: list) -> Callable[[dict], None]:
    def apply(document: dict) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return apply


BREAKAGES = [
    ("not a collection", _set(["type"], "Feature"), "not a FeatureCollection"),
    ("crs on the collection", _set(["crs"], {"type": "name"}), "crs member is not allowed"),
    ("features not an array", _set(["features"], {"0": {}}), "features must be an array"),
    ("not a feature", _set(["features", 0, "type"], "Point"), "features[0]: not a Feature"),
    ("no properties member", _delete(["features", 0, "properties"]), "geometry and properties are required"),
    ("no geometry member", _delete(["features", 2, "geometry"]), "features[2]: geometry and properties"),
    ("id a list", _set(["features", 0, "id"], ["d-1"]), "features[0]: id must be a string or a number"),
    ("id a boolean", _set(["features", 0, "id"], True), "features[0]: id must be a string or a number"),
    ("properties an array", _set(["features", 0, "properties"], ["ALTO"]), "features[0]: properties must be an object"),
    ("latitude first", _set(["features", 0, "geometry", "coordinates"], [-26.8, -165.2]),
     "features[0]: [-26.8, -165.2] is not [longitude, latitude]"),
    ("one number", _set(["features", 0, "geometry", "coordinates"], [-65.2]), "features[0]: a position is 2 or 3"),
    ("four numbers", _set(["features", 0, "geometry", "coordinates"], [-65.2, -26.8, 0, 1]),
     "features[0]: a position is 2 or 3"),
    ("NaN coordinate", _set(["features", 0, "geometry", "coordinates"], [float("nan"), -26.8]),
     "features[0]: a position is 2 or 3"),
    ("string coordinate", _set(["features", 0, "geometry", "coordinates"], ["-65.2", "-26.8"]),
     "features[0]: a position is 2 or 3"),
    ("crs on a geometry", _set(["features", 0, "geometry", "crs"], {"type": "name"}),
     "features[0]: geometry must be an object without crs"),
    ("unknown geometry", _set(["features", 0, "geometry", "type"], "Circle"), "unexpected geometry type 'Circle'"),
    ("open ring", _set(["features", 1, "geometry", "coordinates"], [EXTERIOR[:-1]]),
     "features[1]: ring 0 is not closed"),
    ("ring of three", _set(["features", 1, "geometry", "coordinates"], [[EXTERIOR[0], EXTERIOR[1], EXTERIOR[0]]]),
     "features[1]: ring 0 is not closed with at least 4 positions"),
    ("clockwise exterior", _set(["features", 1, "geometry", "coordinates"], [EXTERIOR[::-1]]),
     "features[1]: ring 0 breaks the right-hand rule"),
    ("counter-clockwise hole", _set(["features", 1, "geometry", "coordinates"], [EXTERIOR, HOLE[::-1]]),
     "features[1]: ring 1 breaks the right-hand rule"),
]  # fmt: skip


@pytest.mark.parametrize(("breakage", "problem"), [b[1:] for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_each_broken_copy_is_refused_with_its_rule_named(breakage, problem):
    document = copy.deepcopy(valid())
    breakage(document)

    problems = check_feature_collection(document)

    assert any(problem in line for line in problems), problems
