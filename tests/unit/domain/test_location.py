"""Location: manual coordinates win over EXIF GPS; bad input from users fails, bad EXIF is ignored."""

from __future__ import annotations

import json
import math

import pytest

from sentrix.domain.location import (
    GeoPoint,
    LocationSource,
    ResolvedLocation,
    format_coordinate,
    google_maps_url,
    is_valid_coordinate,
    resolve_location,
)
from sentrix.errors import InvalidLocation, ValidationFailed

TUCUMAN = GeoPoint(-26.808, -65.218, 450.0)


def test_manual_coordinates_win_over_exif():
    result = resolve_location(-34.6, -58.38, TUCUMAN)

    assert result == ResolvedLocation(GeoPoint(-34.6, -58.38), LocationSource.MANUAL)


def test_exif_is_used_without_manual_coordinates():
    assert resolve_location(None, None, TUCUMAN) == ResolvedLocation(TUCUMAN, LocationSource.EXIF_GPS)


def test_no_manual_and_no_exif_is_no_location():
    assert resolve_location(None, None, None) == ResolvedLocation(None, LocationSource.NONE)


@pytest.mark.parametrize(("lat", "lon"), [(0, 0), (0.0, -65.2), (-26.8, 0.0)])
def test_zero_is_a_valid_manual_coordinate(lat, lon):
    result = resolve_location(lat, lon, TUCUMAN)

    assert result.source is LocationSource.MANUAL
    assert (result.point.latitude, result.point.longitude) == (lat, lon)


def test_manual_integers_become_floats():
    point = resolve_location(10, 20, None).point

    assert isinstance(point.latitude, float) and isinstance(point.longitude, float)


@pytest.mark.parametrize(("lat", "lon"), [(90, 180), (-90, -180), (90.0, -180.0)])
def test_range_limits_are_valid(lat, lon):
    assert resolve_location(lat, lon, None).source is LocationSource.MANUAL


@pytest.mark.parametrize(("lat", "lon"), [(0.0, None), (None, 0.0), (-26.8, None), (None, -65.2)])
def test_only_one_manual_coordinate_is_rejected(lat, lon):
    with pytest.raises(InvalidLocation, match="together"):
        resolve_location(lat, lon, TUCUMAN)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (90.0001, 0),
        (-90.5, 0),
        (0, 180.0001),
        (0, -181),
        (1000, 1000),
        (math.nan, 0),
        (0, math.nan),
        (math.inf, 0),
        (0, -math.inf),
        (True, 0),
        ("10", "20"),
    ],
)
def test_invalid_manual_coordinates_are_rejected(lat, lon):
    with pytest.raises(InvalidLocation, match="within"):
        resolve_location(lat, lon, TUCUMAN)


def test_rejection_details_are_json_safe():
    with pytest.raises(InvalidLocation) as caught:
        resolve_location(math.nan, 0, None)

    json.dumps(caught.value.details, allow_nan=False)


def test_invalid_location_is_a_422_validation_error():
    error = InvalidLocation("x")

    assert isinstance(error, ValidationFailed)
    assert (error.status, error.code) == (422, "invalid_location")


@pytest.mark.parametrize(
    "exif",
    [
        GeoPoint(91.0, 0.0),
        GeoPoint(0.0, 200.0),
        GeoPoint(math.nan, -65.2),
        GeoPoint(-26.8, math.inf),
        GeoPoint(None, None),  # type: ignore[arg-type]
    ],
)
def test_bad_exif_point_is_ignored(exif):
    assert resolve_location(None, None, exif) == ResolvedLocation(None, LocationSource.NONE)


def test_exif_with_zero_coordinates_is_kept():
    assert resolve_location(None, None, GeoPoint(0.0, 0.0)).source is LocationSource.EXIF_GPS


@pytest.mark.parametrize("altitude", [math.nan, math.inf])
def test_non_finite_exif_altitude_is_dropped(altitude):
    result = resolve_location(None, None, GeoPoint(-26.8, -65.2, altitude))

    assert result.point == GeoPoint(-26.8, -65.2, None)


def test_is_valid_coordinate():
    assert is_valid_coordinate(-26.8, -65.2)
    assert not is_valid_coordinate(None, -65.2)
    assert not is_valid_coordinate(-91, 0)


def test_google_maps_url_has_six_decimals():
    assert google_maps_url(-26.808, -65.218) == "https://www.google.com/maps?q=-26.808000,-65.218000"


def test_google_maps_url_never_prints_negative_zero():
    assert google_maps_url(-0.0000001, 0) == "https://www.google.com/maps?q=0.000000,0.000000"


def test_google_maps_url_rejects_out_of_range():
    with pytest.raises(InvalidLocation):
        google_maps_url(95, 0)


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [(-26.80849, 3, "-26.808"), (-65.2186, 3, "-65.219"), (-0.0004, 3, "0.000"), (12.3456, 3, "12.346")],
)
def test_format_coordinate(value, places, text):
    assert format_coordinate(value, places) == text


@pytest.mark.parametrize(
    ("lat", "lon", "echo"),
    [
        (95, 10.5, {"latitude": 95, "longitude": 10.5}),  # numbers come back as sent
        (0, math.nan, {"latitude": 0, "longitude": "nan"}),  # non-finite numbers as text (JSON has none)
        (math.inf, -1, {"latitude": "inf", "longitude": -1}),
        ("10", "20", {"latitude": "'10'", "longitude": "'20'"}),  # anything else as its repr
        (True, 0, {"latitude": "True", "longitude": 0}),
    ],
)
def test_refused_coordinates_are_echoed_in_the_details(lat, lon, echo):
    with pytest.raises(InvalidLocation, match="within") as manual:
        resolve_location(lat, lon, TUCUMAN)
    with pytest.raises(InvalidLocation, match="out of range") as maps:
        google_maps_url(lat, lon)

    assert manual.value.details == echo
    assert maps.value.details == echo


@pytest.mark.parametrize(("lat", "lon"), [(-26.8, None), (None, -65.2)])
def test_half_a_coordinate_pair_is_echoed_with_the_missing_half_as_null(lat, lon):
    with pytest.raises(InvalidLocation, match="given together") as caught:
        resolve_location(lat, lon, TUCUMAN)

    assert caught.value.details == {"latitude": lat, "longitude": lon}
