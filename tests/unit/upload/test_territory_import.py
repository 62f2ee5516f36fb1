"""The territories file checks, without a database (docs/territories.md, "Import": the refusals table).

Each refusal is asserted by its documented `reason` and the feature index it names; the limits of a code (64
characters) and a name (200) are tested at their edges.
"""

from __future__ import annotations

import json

import pytest

from sentrix.errors import ValidationFailed
from sentrix_upload.logic.territory_import import Feature, order, parse

SQUARE = [[[-65.3, -26.9], [-65.1, -26.9], [-65.1, -26.7], [-65.3, -26.7], [-65.3, -26.9]]]


def polygon(coordinates=None) -> dict:
    return {"type": "Polygon", "coordinates": SQUARE if coordinates is None else coordinates}


def feature(code="C", name="City", geometry=None, **properties) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **properties},
        "geometry": polygon() if geometry is None else geometry,
    }


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def refusal(document) -> tuple[str, int | None]:
    with pytest.raises(ValidationFailed) as raised:
        parse(document)
    details = raised.value.details
    assert raised.value.status == 422
    return details["reason"], details.get("feature")


def test_a_good_file_parses_in_file_order_with_trimmed_texts():
    features = parse(collection(feature(" N1 ", " Barrio ", parent="H1"), feature("H1", "Área", parent=None)))

    assert [(f.index, f.code, f.name, f.parent) for f in features] == [
        (0, "N1", "Barrio", "H1"),
        (1, "H1", "Área", None),
    ]
    assert json.loads(features[0].geometry) == {"type": "Polygon", "coordinates": SQUARE}


def test_numeric_codes_are_text():
    (only,) = parse(collection(feature(code=4001, name="Barrio", parent=40)))

    assert (only.code, only.parent) == ("4001", "40")


def test_a_multipolygon_is_accepted_and_kept_as_sent():
    geometry = {"type": "MultiPolygon", "coordinates": [SQUARE, SQUARE]}

    (only,) = parse(collection(feature(geometry=geometry)))

    assert json.loads(only.geometry) == geometry


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], ("not_geojson", None)),
        ({"features": []}, ("not_geojson", None)),
        ({"type": 7}, ("not_geojson", None)),
        ({"type": "Feature", "features": []}, ("not_feature_collection", None)),
        ({"type": "FeatureCollection"}, ("not_feature_collection", None)),
        ({"type": "FeatureCollection", "features": {}}, ("not_feature_collection", None)),
        (collection(), ("no_features", None)),
        (collection(feature(), "Feature"), ("not_feature", 1)),
        (collection(feature(), {"type": "Polygon", "coordinates": SQUARE}), ("not_feature", 1)),
    ],
)
def test_the_document_refusals(document, expected):
    assert refusal(document) == expected


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "Point", "coordinates": [-65.2, -26.8]}, "not_polygon"),
        ("Polygon", "not_polygon"),
        ({"coordinates": SQUARE}, "not_polygon"),
        (polygon([]), "bad_coordinates"),
        (polygon("x"), "bad_coordinates"),
        (polygon(["ring"]), "bad_coordinates"),
        (polygon([[*SQUARE[0][:3], SQUARE[0][0]]]), None),  # 4 positions, closed: the smallest ring
        (polygon([[*SQUARE[0][:2], SQUARE[0][0]]]), "bad_coordinates"),  # 3 positions
        (polygon([SQUARE[0][:4]]), "bad_coordinates"),  # not closed
        (polygon([[*SQUARE[0][:4], [-65.3, -26.9, 450.0]]]), None),  # closed on lon/lat; altitude allowed
        (polygon([[*SQUARE[0][:4], [-65.3]]]), "bad_coordinates"),
        (polygon([[*SQUARE[0][:4], [-65.3, -26.9, 1, 2]]]), "bad_coordinates"),
        (polygon([[*SQUARE[0][:4], "-65.3,-26.9"]]), "bad_coordinates"),
        (polygon([[[-65.3, -26.9], [180, -26.9], [180, 90], [-65.3, -90], [-65.3, -26.9]]]), None),
        (polygon([[[-65.3, -26.9], [-180, -26.9], [-180, 90], [-65.3, -26.9]]]), None),
        (polygon([[[-65.3, -26.9], [180.5, -26.9], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        (polygon([[[-65.3, -26.9], [-180.5, -26.9], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        (polygon([[[-65.3, -26.9], [-65.1, 90.5], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        (polygon([[[-65.3, -26.9], [-65.1, -90.5], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        (polygon([[[-65.3, -26.9], [True, -26.8], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        (polygon([[[-65.3, -26.9], ["-65", -26.8], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        (polygon([[[-65.3, -26.9], [float("nan"), -26.8], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        (polygon([[[-65.3, -26.9], [-65.1, float("inf")], [-65.1, -26.7], [-65.3, -26.9]]]), "out_of_range"),
        ({"type": "MultiPolygon", "coordinates": []}, "bad_coordinates"),
        ({"type": "MultiPolygon", "coordinates": "x"}, "bad_coordinates"),
        ({"type": "MultiPolygon", "coordinates": [SQUARE, [SQUARE[0][:4]]]}, "bad_coordinates"),
    ],
)
def test_the_geometry_refusals_name_the_feature(geometry, reason):
    document = collection(feature("OK", "Fine"), feature(geometry=geometry))
    if reason is None:
        assert [f.code for f in parse(document)] == ["OK", "C"]
    else:
        assert refusal(document) == (reason, 1)


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"name": "City"}, "missing_code"),
        ({"code": None, "name": "City"}, "missing_code"),
        ({"code": "C"}, "missing_name"),
        ({"code": "", "name": "City"}, "bad_code"),
        ({"code": "   ", "name": "City"}, "bad_code"),
        ({"code": True, "name": "City"}, "bad_code"),
        ({"code": 1.5, "name": "City"}, "bad_code"),
        ({"code": "C" * 65, "name": "City"}, "bad_code"),
        ({"code": "C", "name": " "}, "bad_name"),
        ({"code": "C", "name": "n" * 201}, "bad_name"),
        ({"code": "C", "name": "City", "parent": ""}, "bad_parent"),
        ({"code": "C", "name": "City", "parent": "P" * 65}, "bad_parent"),
        ({"code": "C", "name": "City", "parent": "C"}, "parent_cycle"),
    ],
)
def test_the_property_refusals_name_the_feature(properties, reason):
    document = collection(feature("OK", "Fine"), {"type": "Feature", "properties": properties, "geometry": polygon()})

    assert refusal(document) == (reason, 1)


def test_texts_at_their_limits_are_accepted():
    (only,) = parse(collection(feature("C" * 64, "n" * 200, parent="P" * 64)))

    assert (len(only.code), len(only.name), len(only.parent)) == (64, 200, 64)


def test_properties_that_are_not_an_object_mean_no_code():
    document = collection({"type": "Feature", "properties": ["C"], "geometry": polygon()})

    assert refusal(document) == ("missing_code", 0)


def test_a_code_used_twice_is_refused_at_its_second_feature():
    with pytest.raises(ValidationFailed) as raised:
        parse(collection(feature("A", "One"), feature("B", "Two"), feature("A", "Three")))

    assert raised.value.details == {"reason": "duplicate_code", "feature": 2, "code": "A"}


def test_a_document_refusal_names_no_feature_and_says_its_reason():
    with pytest.raises(ValidationFailed) as raised:
        parse(collection())

    assert raised.value.details == {"reason": "no_features"}


def f(index: int, code: str, parent: str | None = None) -> Feature:
    return Feature(index, code, code.lower(), parent, "{}")


def test_order_puts_parents_first_whatever_the_file_order():
    features = [f(0, "N1", "H1"), f(1, "H1", "C"), f(2, "H2", "C"), f(3, "C")]

    assert [x.code for x in order(features, {})] == ["C", "H1", "N1", "H2"]


def test_a_parent_may_already_be_stored():
    features = [f(0, "N1", "H1")]

    assert [x.code for x in order(features, {"H1": "C", "C": None})] == ["N1"]


def test_an_unknown_parent_is_refused_with_its_code():
    with pytest.raises(ValidationFailed) as raised:
        order([f(0, "A"), f(1, "N1", "H9")], {"H1": None})

    assert raised.value.details == {"reason": "unknown_parent", "feature": 1, "parent": "H9"}


def test_a_cycle_in_the_file_is_refused():
    with pytest.raises(ValidationFailed) as raised:
        order([f(0, "OK"), f(1, "A", "B"), f(2, "B", "A")], {})

    assert raised.value.details == {"reason": "parent_cycle", "feature": 1, "code": "A"}


def test_a_cycle_through_stored_territories_is_refused():
    # Stored: B's parent is A. The file makes A a child of B.
    with pytest.raises(ValidationFailed) as raised:
        order([f(0, "A", "B")], {"B": "A", "A": None})

    assert raised.value.details == {"reason": "parent_cycle", "feature": 0, "code": "A"}
