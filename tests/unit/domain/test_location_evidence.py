"""Location evidence: the EXIF point kept beside manual coordinates, their distance, the flag beyond 500 m."""

from __future__ import annotations

import math

import pytest

from sentrix.domain.location import (
    GeoPoint,
    LocationSource,
    haversine_m,
    location_evidence,
    resolve_location,
)

# 0.01° of latitude on a sphere of radius 6,371,008.8 m: 6,371,008.8 × 0.01 × π / 180 = 1,111.95 m
HUNDREDTH_DEGREE_M = 6_371_008.8 * 0.01 * math.pi / 180
PLAZA = GeoPoint(-26.8083, -65.2176)  # Plaza Independencia, Tucumán


def test_haversine_along_a_meridian_is_radius_times_angle():
    assert haversine_m(GeoPoint(-26.80, -65.2), GeoPoint(-26.81, -65.2)) == pytest.approx(1111.95, abs=0.01)
    assert haversine_m(PLAZA, PLAZA) == 0.0


def test_haversine_along_the_equator_and_across_the_antimeridian():
    # 0.01° of longitude on the equator is the same arc as 0.01° of latitude
    assert haversine_m(GeoPoint(0, 0), GeoPoint(0, 0.01)) == pytest.approx(HUNDREDTH_DEGREE_M, rel=1e-9)
    # 179.995 E to 179.995 W is 0.01°, not 359.99°
    assert haversine_m(GeoPoint(0, 179.995), GeoPoint(0, -179.995)) == pytest.approx(HUNDREDTH_DEGREE_M, rel=1e-6)


def test_manual_coordinates_far_from_the_exif_point_are_flagged_with_the_distance():
    # Given manual coordinates 0.01° north of where the photo's GPS says (1,112 m > 500 m)
    exif = GeoPoint(-26.81, -65.2)
    resolved = resolve_location(-26.80, -65.2, exif)

    evidence = location_evidence(resolved, exif, 500)

    # Then the manual point still wins, and the EXIF point is kept beside it, flagged
    assert (resolved.source, resolved.point) == (LocationSource.MANUAL, GeoPoint(-26.80, -65.2))
    assert evidence.exif_point == exif
    assert evidence.discrepancy_m == pytest.approx(1111.95, abs=0.01)
    assert evidence.flagged is True


def test_manual_coordinates_near_the_exif_point_are_not_flagged():
    # 0.004° = 444.8 m apart: within 500 m
    exif = GeoPoint(-26.804, -65.2)
    resolved = resolve_location(-26.80, -65.2, exif)

    evidence = location_evidence(resolved, exif, 500)

    assert evidence.discrepancy_m == pytest.approx(6_371_008.8 * 0.004 * math.pi / 180, rel=1e-6)
    assert evidence.discrepancy_m == pytest.approx(444.78, abs=0.01)
    assert evidence.flagged is False


def test_the_threshold_is_a_setting():
    exif = GeoPoint(-26.804, -65.2)
    resolved = resolve_location(-26.80, -65.2, exif)

    assert location_evidence(resolved, exif, 400).flagged is True
    assert location_evidence(resolved, exif, 445).flagged is False


def test_an_exif_located_photo_keeps_its_point_with_nothing_to_compare():
    exif = GeoPoint(-26.81, -65.2, 450.0)
    resolved = resolve_location(None, None, exif)

    evidence = location_evidence(resolved, exif)

    assert (evidence.exif_point, evidence.discrepancy_m, evidence.flagged) == (exif, None, False)


@pytest.mark.parametrize("exif", [None, GeoPoint(91.0, 0.0), GeoPoint(math.nan, 0.0)])
def test_no_valid_exif_point_is_no_evidence(exif):
    resolved = resolve_location(-26.80, -65.2, exif)

    evidence = location_evidence(resolved, exif)

    assert (evidence.exif_point, evidence.discrepancy_m, evidence.flagged) == (None, None, False)


def _law_of_cosines_m(a: GeoPoint, b: GeoPoint) -> float:
    """The same great-circle distance by the spherical law of cosines (an independent formula)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    cosine = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return 6_371_008.8 * math.acos(max(-1.0, min(1.0, cosine)))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (PLAZA, GeoPoint(-34.6037, -58.3816)),  # Tucumán to Buenos Aires
        (GeoPoint(60.0, 10.0), GeoPoint(10.0, 100.0)),
        (GeoPoint(-70.0, -170.0), GeoPoint(45.0, 30.0)),
    ],
)
def test_haversine_between_different_latitudes_and_longitudes(a, b):
    assert haversine_m(a, b) == pytest.approx(_law_of_cosines_m(a, b), rel=1e-9)


@pytest.mark.parametrize("latitude", [0.1, 1.0, 10.0, 33.3, 45.0, 60.0, 89.9])
def test_antipodes_are_half_the_circumference_apart(latitude):
    a, b = GeoPoint(latitude, 10.0), GeoPoint(-latitude, -170.0)
    assert haversine_m(a, b) == pytest.approx(math.pi * 6_371_008.8, rel=1e-7)


def test_a_distance_exactly_at_the_threshold_is_not_beyond_it():
    exif = GeoPoint(-26.80, -65.2)
    manual = resolve_location(-26.81, -65.2, exif)
    distance = location_evidence(manual, exif).discrepancy_m

    assert location_evidence(manual, exif, threshold_m=distance).flagged is False
    assert location_evidence(manual, exif, threshold_m=distance - 0.001).flagged is True
