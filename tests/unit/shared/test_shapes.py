"""Outlines cleaned at ingest (sentrix.shapes): expected values are worked out by hand in each test."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sentrix.shapes import MAX_VERTICES, clean_polygon, without_repeats

BIG = (10_000.0, 10_000.0)


def test_repeated_consecutive_points_and_the_closing_point_are_dropped():
    assert without_repeats([(0, 0), (0, 0), (10, 0), (10, 0), (10, 10), (0, 10), (0, 0), (0, 0)]) == [
        (0, 0),
        (10, 0),
        (10, 10),
        (0, 10),
    ]


def test_a_square_with_repeats_is_stored_as_its_four_corners_with_its_area_and_box():
    # A 10 x 10 square sent at half size: 20 x 20 in the original, area 400.
    shape = clean_polygon(
        [(0, 0), (0, 0), (10, 0), (10, 0), (10, 0), (10, 10), (0, 10), (0, 10), (0, 0)], scale=(2, 2), bounds=BIG
    )
    assert shape.outline == [[0, 0], [20, 0], [20, 20], [0, 20]]
    assert shape.parts == [[[[0, 0], [20, 0], [20, 20], [0, 20], [0, 0]]]]
    assert (shape.area, shape.bbox, shape.vertices) == (400.0, (0, 0, 20, 20), 4)
    assert shape.wkt == "MULTIPOLYGON (((0 0, 20 0, 20 20, 0 20, 0 0)))"


def test_scaling_differs_per_axis_and_points_are_clamped_to_the_image():
    # 4 x 3 rectangle, x doubled and y tripled: 8 x 9 = 72; the point beyond the image is clamped to x = 100.
    shape = clean_polygon([(0, 0), (4, 0), (4, 3), (0, 3)], scale=(2, 3), bounds=BIG)
    assert (shape.area, shape.bbox) == (72.0, (0, 0, 8, 9))
    clamped = clean_polygon([(0, 0), (60, 0), (60, 10), (0, 10)], scale=(2, 1), bounds=(100, 100))
    assert (clamped.area, clamped.bbox) == (1000.0, (0, 0, 100, 10))


def test_a_self_intersecting_bow_tie_becomes_a_multipolygon_of_its_two_triangles():
    # (0,0)→(10,10)→(10,0)→(0,10) crosses itself at (5,5): two triangles of base 10 and height 5, 25 each.
    shape = clean_polygon([(0, 0), (10, 10), (10, 0), (0, 10)], bounds=BIG)
    assert len(shape.parts) == 2
    triangles = sorted(sorted(map(tuple, part[0][:-1])) for part in shape.parts)
    assert triangles == [[(0, 0), (0, 10), (5, 5)], [(5, 5), (10, 0), (10, 10)]]
    assert (shape.area, shape.bbox, shape.vertices) == (50.0, (0, 0, 10, 10), 6)
    assert shape.wkt.startswith("MULTIPOLYGON (((")


def test_a_fine_ring_is_simplified_to_the_vertex_bound_and_keeps_its_area_and_box():
    # A regular 4000-gon of radius 1000 around (2000, 2000): area (n/2) r² sin(2π/n), box 1000..3000.
    n, r = 4000, 1000.0
    ring = [(2000 + r * math.cos(2 * math.pi * k / n), 2000 + r * math.sin(2 * math.pi * k / n)) for k in range(n)]
    shape = clean_polygon(ring, bounds=BIG)
    assert shape.vertices <= MAX_VERTICES
    assert len(shape.parts) == 1 and len(shape.outline) == shape.vertices
    assert shape.area == pytest.approx(n / 2 * r * r * math.sin(2 * math.pi / n), abs=1.0)
    assert shape.bbox == (1000.0, 1000.0, 3000.0, 3000.0)
    # Simplification keeps only input vertices, so every stored point is on the circle (within the rounding).
    assert all(abs(math.hypot(x - 2000, y - 2000) - r) < 0.01 for x, y in shape.outline)


def test_a_ring_within_the_bound_keeps_every_vertex_further_than_one_pixel_from_the_simplification():
    # A 12-point star: every vertex is far (> 1 px) from the line through its neighbours, so all stay.
    radii = [50 if k % 2 else 20 for k in range(12)]
    star = [(100 + r * math.cos(k * math.pi / 6), 100 + r * math.sin(k * math.pi / 6)) for k, r in enumerate(radii)]
    assert clean_polygon(star, bounds=BIG).vertices == 12


def test_a_mask_of_too_many_fragments_keeps_its_largest_parts_within_the_bound():
    # Two zig-zags in opposite phase (y 0,10,0,… going right, 10,0,10,… coming back) cross in every 10 px
    # step: 199 diamonds of area 50 and two end triangles of 25, 802 vertices. Area between them: 50 per step.
    steps = 200
    upper = [(10 * k, 0 if k % 2 == 0 else 10) for k in range(steps + 1)]
    lower = [(10 * k, 10 if k % 2 == 0 else 0) for k in range(steps, -1, -1)]
    shape = clean_polygon(upper + lower, bounds=BIG)
    assert shape.area == 50.0 * steps
    assert shape.bbox == (0, 0, 2000, 10)
    # Only MAX_VERTICES // 4 = 64 parts stay: 64 diamonds of 4 vertices each.
    assert len(shape.parts) == 64 and shape.vertices == 256
    assert all(len(part[0]) == 5 for part in shape.parts)


@pytest.mark.parametrize(
    ("points", "outline", "bbox"),
    [
        ([(3, 4)], [[3, 4]], (3, 4, 3, 4)),
        ([(3, 4), (3, 4), (3, 4)], [[3, 4]], (3, 4, 3, 4)),
        ([(0, 0), (6, 2), (0, 0)], [[0, 0], [6, 2]], (0, 0, 6, 2)),
        ([(0, 0), (1, 1), (2, 2), (1, 1)], [[0, 0], [1, 1], [2, 2], [1, 1]], (0, 0, 2, 2)),
    ],
)
def test_degenerate_outlines_are_kept_without_a_shape_and_with_no_area(points, outline, bbox):
    shape = clean_polygon(points, bounds=BIG)
    assert (shape.outline, shape.parts, shape.bbox, shape.area, shape.wkt) == (outline, [], bbox, 0.0, None)


def test_an_empty_polygon_has_nothing_to_store():
    assert clean_polygon([], bounds=BIG) is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-50, 700, allow_nan=False), st.floats(-50, 500, allow_nan=False)), min_size=0, max_size=60
    ),
    st.integers(3, 40),
)
def test_any_ring_gives_a_bounded_valid_outline_inside_the_image(points, max_vertices):
    shape = clean_polygon(points, scale=(1.0, 1.0), bounds=(640, 480), max_vertices=max_vertices)
    if not points:
        assert shape is None
        return
    x_min, y_min, x_max, y_max = shape.bbox
    assert 0 <= x_min <= x_max <= 640 and 0 <= y_min <= y_max <= 480
    assert shape.area >= 0 and shape.outline
    assert all(0 <= x <= 640 and 0 <= y <= 480 for x, y in shape.outline)
    if shape.parts:
        assert shape.vertices <= max(max_vertices, 4)
        assert shape.area <= (x_max - x_min) * (y_max - y_min) + 0.01
        stored = shapely.from_wkt(shape.wkt)
        assert stored.geom_type == "MultiPolygon" and stored.is_valid, shapely.is_valid_reason(stored)
    else:
        assert shape.area == 0.0 and shape.wkt is None
