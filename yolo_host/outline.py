"""A boolean mask → the polygon the contract wants, with the bounds of issue 17 point 1.

The outline follows pixel edges (read off the row runs for a blob, else the union of the mask's pixels as unit
squares through shapely), so a rectangular mask gives its exact rectangle and the polygon's area equals the
pixel count. It is then
simplified topology-preserving (`simplify_px`, in model pixels: a staircase edge becomes a straight line),
the tolerance doubled until the vertex cap holds, mapped to the sent image's pixels, and repeated points
dropped. A mask in several pieces gives their outlines one after the other, largest first, as the original
service's merged contours do; holes are not outlined.
"""

from __future__ import annotations

import numpy as np
import shapely

from yolo_host.letterbox import Letterbox

DECIMALS = 2


def row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, first column, column after the last) of every run of True pixels, in row order."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)  # same row order, one end per start
    return rows, starts, ends


def pixel_boxes(mask: np.ndarray) -> np.ndarray:
    """Rectangles (x0, y0, x1, y1) covering the mask's pixels: runs of a row, merged down identical rows."""
    rows, starts, ends = row_runs(mask)
    if rows.size == 0:
        return np.empty((0, 4))
    key = starts.astype(np.int64) * (mask.shape[1] + 1) + ends
    order = np.lexsort((rows, key))
    rows, starts, ends, key = rows[order], starts[order], ends[order], key[order]
    new_group = np.ones(rows.size, dtype=bool)
    new_group[1:] = (key[1:] != key[:-1]) | (rows[1:] != rows[:-1] + 1)
    first = np.flatnonzero(new_group)
    last = np.append(first[1:], rows.size) - 1
    return np.column_stack([starts[first], rows[first], ends[first], rows[last] + 1]).astype(np.float64)


def blob_outline(mask: np.ndarray) -> shapely.Polygon | None:
    """The pixel-edge outline of a mask with one run per row, each overlapping the next (most blobs), read off
    directly: down the left ends, up the right ends. None for any other shape (holes, pieces, branches)."""
    rows, starts, ends = row_runs(mask)
    if rows.size == 0 or np.any(np.diff(rows) != 1):
        return None
    if np.any(starts[1:] >= ends[:-1]) or np.any(starts[:-1] >= ends[1:]):
        return None
    ys = np.column_stack([rows, rows + 1]).ravel()
    left = np.column_stack([np.repeat(starts, 2), ys])
    right = np.column_stack([np.repeat(ends, 2)[::-1], ys[::-1]])
    return shapely.Polygon(np.vstack([left, right]).astype(np.float64))


def _ring(points: np.ndarray) -> list[list[float]]:
    """Rounded, without the closing point and without repeated consecutive points."""
    rounded = np.round(points[:-1], DECIMALS)
    if len(rounded) == 0:
        return []
    keep = np.ones(len(rounded), dtype=bool)
    keep[1:] = np.any(rounded[1:] != rounded[:-1], axis=1)
    rounded = rounded[keep]
    if len(rounded) > 1 and np.array_equal(rounded[0], rounded[-1]):
        rounded = rounded[:-1]
    return rounded.tolist()


def mask_outline(
    mask: np.ndarray, col0: int, row0: int, frame: Letterbox, *, simplify_px: float, max_points: int
) -> list[list[float]]:
    """The polygon of a mask whose top-left pixel is at (col0, row0) of the model's input, in sent pixels."""
    shape = blob_outline(mask)
    if shape is None:
        boxes = pixel_boxes(mask)
        if boxes.size == 0:
            return []
        shape = shapely.union_all(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    pieces = sorted(getattr(shape, "geoms", [shape]), key=lambda p: p.area, reverse=True)
    # Collinear vertices go even at tolerance 0: a tiny one removes them without moving any corner.
    tolerance = max(simplify_px, 1e-6)
    while True:
        rings = []
        for piece in pieces:
            simple = piece.simplify(tolerance, preserve_topology=True)
            exterior = np.asarray(simple.exterior.coords, dtype=np.float64) + np.array([col0, row0])
            ring = _ring(frame.to_sent(exterior))
            if len(ring) >= 3:
                rings.append(ring)
        if sum(map(len, rings)) <= max_points:
            return [point for ring in rings for point in ring]
        if tolerance > max(mask.shape):
            # Still too many after simplifying to almost nothing: the smallest pieces go.
            kept, room = [], max_points
            for ring in rings:
                if len(ring) <= room:
                    kept.append(ring)
                    room -= len(ring)
            return [point for ring in kept for point in ring]
        tolerance *= 2
