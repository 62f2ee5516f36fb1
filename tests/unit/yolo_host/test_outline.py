"""Polygons within the bounds of issue 17 point 1: no repeated points, a vertex cap, inside the image."""

from __future__ import annotations

import numpy as np

from yolo_host.letterbox import Letterbox
from yolo_host.outline import mask_outline, pixel_boxes

IDENTITY = Letterbox(width=640, height=640, gain=1.0, pad_x=0, pad_y=0, scaled_width=640, scaled_height=640)


def disk(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[0 : 2 * radius, 0 : 2 * radius]
    return (xx + 0.5 - radius) ** 2 + (yy + 0.5 - radius) ** 2 < radius**2


def shoelace(points: list[list[float]]) -> float:
    xs, ys = np.array(points).T
    return abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2


def test_pixel_boxes_merge_identical_rows():
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:4, 2:5] = True  # one block, three rows
    mask[5, 0:2] = True
    mask[5, 6:8] = True

    boxes = sorted(map(tuple, pixel_boxes(mask).tolist()))

    assert boxes == [(0.0, 5.0, 2.0, 6.0), (2.0, 1.0, 5.0, 4.0), (6.0, 5.0, 8.0, 6.0)]


def test_a_staircase_disk_is_simplified_without_repeated_points():
    mask = disk(100)

    polygon = mask_outline(mask, 0, 0, IDENTITY, simplify_px=1.0, max_points=1000)

    # The raw pixel outline of this disk has ~800 corners; within 1 px it needs far fewer
    assert 8 <= len(polygon) < 200
    assert all(polygon[i] != polygon[i - 1] for i in range(len(polygon)))
    # and still covers the disk's area to within 1 %
    assert abs(shoelace(polygon) - mask.sum()) / mask.sum() < 0.01


def test_the_vertex_cap_holds():
    polygon = mask_outline(disk(150), 0, 0, IDENTITY, simplify_px=0.0, max_points=12)

    assert 3 <= len(polygon) <= 12


def test_points_stay_inside_the_sent_image():
    # Given a mask touching the model's right and bottom edges, mapped to a 100×100 image at gain 6.4
    frame = Letterbox(width=100, height=100, gain=6.4, pad_x=0, pad_y=0, scaled_width=640, scaled_height=640)
    mask = np.ones((40, 40), dtype=bool)

    polygon = mask_outline(mask, 600, 600, frame, simplify_px=1.0, max_points=1000)

    assert {tuple(p) for p in polygon} == {(93.75, 93.75), (100.0, 93.75), (100.0, 100.0), (93.75, 100.0)}


def test_the_blob_path_and_the_union_path_give_the_same_outline():
    import shapely

    from yolo_host.outline import blob_outline

    mask = disk(40)
    boxes = pixel_boxes(mask)
    union = shapely.union_all(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))

    blob = blob_outline(mask)

    assert blob is not None and blob.is_valid
    assert blob.area == union.area == mask.sum()
    assert blob.symmetric_difference(union).area == 0


def test_shapes_that_are_not_blobs_take_the_union_path():
    from yolo_host.outline import blob_outline

    holed = disk(30)
    holed[25:35, 25:35] = False  # a hole: two runs in the middle rows
    two = np.zeros((10, 10), dtype=bool)
    two[0:3, 0:3] = two[5:8, 5:8] = True  # two pieces with a gap in the rows
    stairs = np.zeros((4, 10), dtype=bool)
    stairs[0, 0:3] = stairs[1, 3:6] = True  # runs that only touch at a corner

    assert blob_outline(disk(30)) is not None
    assert blob_outline(holed) is None
    assert blob_outline(two) is None
    assert blob_outline(stairs) is None


def test_a_ring_loses_its_closing_point_and_points_that_round_to_their_neighbour():
    from yolo_host.outline import _ring

    closed = np.array([[0.0, 0.0], [1.0, 0.0], [1.001, 0.0], [1.0, 1.0], [0.002, 0.001], [0.0, 0.0]])

    assert _ring(closed) == [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]
