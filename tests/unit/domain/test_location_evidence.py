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
