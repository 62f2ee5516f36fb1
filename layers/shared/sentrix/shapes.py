"""Detection outlines as we store them: a YOLO polygon cleaned at ingest (docs/detect.md, *Shapes*).

Shapely comes with the imaging layer (layers/imaging/requirements.txt): only functions that attach it import this.

Real masks come back as rings of up to ~15,000 points, half of them with repeated consecutive points, some
crossing themselves. `clean_polygon` turns one into what is stored, in pixels of the ORIGINAL image:

1. Points are scaled from the sent image's pixels to the original's, clamped to the image and rounded to
   0.01 px; repeated consecutive points (and a closing point equal to the first) are dropped.
2. The ring is made valid (`shapely.make_valid(..., method="structure")`: the area the ring encloses, an
   overlap counted once; 30× faster than the default "linework" on real masks): a bow-tie becomes two
   triangles. Only the polygonal part is kept — a MultiPolygon when the mask is fragmented.
3. The area and the bounding box are measured on that valid shape, before any simplification: the area is
   the mask outline's own, in square pixels of the original image (not the host's `mask_area`, whose unit
   is the model's mask grid — see docs/detect.md).
4. For storage the shape is simplified topology-preserving (`simplify(..., preserve_topology=True)`) with a
   tolerance of `TOLERANCE_PX` (1 px of the original image), doubled until it has at most `MAX_VERTICES`
   vertices (closing points not counted). Topology-preserving simplification never drops a ring (each keeps
   at least 3 vertices), so a mask of very many fragments may still have too many: then holes are dropped and
   only the `MAX_VERTICES // 4` (64) largest parts are kept (merged where one lay in another's hole), and
   simplified the same way. Area and box keep describing the whole mask.
5. Coordinates are stored at 0.01 px and the stored shape is valid: when simplification (GEOS does not
   promise validity where parts touch) or rounding the points step 2 added breaks validity, the shape is
   repaired and snapped to the 0.01 px grid (`shapely.set_precision`, valid output), simplified again if
   that added vertices; the last resort is the largest part's box.

Degenerate outlines are not an error: fewer than 3 distinct points, or points with no area (all on one
line), or a ring GEOS cannot repair, give `shape=None`, `area=0.0`, the distinct points as the outline and
the box around them. An empty polygon gives None from `clean_polygon`: there is nothing to place or box.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
import shapely.errors
from shapely.geometry import MultiPolygon, Polygon

TOLERANCE_PX = 1.0
MAX_VERTICES = 256
DECIMALS = 2
GRID = 10.0**-DECIMALS
# Doubling from 1 px: by 2**20 px every ring is down to its minimum (a triangle).
_MAX_DOUBLINGS = 20
# When rings alone exceed the bound, the parts kept get at least this many vertices each on average.
MIN_RING_BUDGET = 4

Point = list[float]
Ring = list[Point]


@dataclass(frozen=True, slots=True)
class CleanShape:
    """One detection's outline in original-image pixels."""

    outline: Ring  # exterior ring of the largest part, not closed (the `polygon` field clients draw)
    parts: list[list[Ring]]  # GeoJSON MultiPolygon coordinates (rings closed); [] when degenerate
    bbox: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max of the valid shape
    area: float  # square pixels of the original image, of the valid shape; 0.0 when degenerate

    @property
    def vertices(self) -> int:
        """Stored vertices, closing points not counted."""
        return sum(len(ring) - 1 for polygon in self.parts for ring in polygon)

    @property
    def wkt(self) -> str | None:
        """The MultiPolygon as WKT (None when degenerate), for the geometry column."""
        if not self.parts:
            return None
        return shapely.MultiPolygon([Polygon(p[0], p[1:]) for p in self.parts]).wkt


def _scaled(points: Iterable[Sequence[float]], scale: tuple[float, float], bounds: tuple[float, float]) -> np.ndarray:
    coords = np.asarray(list(points), dtype=np.float64).reshape(-1, 2)
    return np.clip(coords * np.asarray(scale, dtype=np.float64), 0.0, np.asarray(bounds)).round(DECIMALS)


def _distinct(coords: np.ndarray) -> np.ndarray:
    if len(coords) == 0:
        return coords
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    coords = coords[keep]
    last = len(coords)
    while last > 1 and np.array_equal(coords[last - 1], coords[0]):
        last -= 1
    return coords[:last]


def without_repeats(points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """Consecutive repeated points dropped, and a last point equal to the first (the ring is closed anyway)."""
    return [(x, y) for x, y in _distinct(np.asarray(points, dtype=np.float64).reshape(-1, 2)).tolist()]


def _polygons(geometry: shapely.Geometry) -> list[Polygon]:
    """The polygonal parts of what make_valid gave (it may add lines and points where the ring folded)."""
    found: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            found.append(part)
        elif isinstance(part, MultiPolygon):
            found.extend(part.geoms)
    return [polygon for polygon in found if not polygon.is_empty and polygon.area > 0]


def _valid(polygon: Polygon) -> shapely.Geometry:
    # A valid ring is kept as it came (its start and orientation too); only an invalid one is repaired.
    return polygon if polygon.is_valid else shapely.make_valid(polygon, method="structure")


def _count(polygons: list[Polygon]) -> int:
    return sum(len(p.exterior.coords) - 1 + sum(len(r.coords) - 1 for r in p.interiors) for p in polygons)


def _round(coords: Iterable[Sequence[float]]) -> Ring:
    return [[round(float(x), DECIMALS), round(float(y), DECIMALS)] for x, y, *_ in coords]


def _rings(polygons: list[Polygon]) -> int:
    return sum(1 + len(p.interiors) for p in polygons)


def _simplified(polygons: list[Polygon], tolerance: float, max_vertices: int) -> list[Polygon] | None:
    """Simplified from `tolerance` up, doubling, until at most `max_vertices`; None if no tolerance gets there
    (every ring keeps at least 3 vertices) or doubling stops removing any."""
    if 3 * _rings(polygons) > max_vertices:
        return None
    shape = shapely.MultiPolygon(polygons)
    before = _count(polygons)
    for _ in range(_MAX_DOUBLINGS):
        simpler = _polygons(shape.simplify(tolerance, preserve_topology=True))
        count = _count(simpler)
        if count <= max_vertices:
            return simpler
        if count == before and tolerance > TOLERANCE_PX:
            return None
        before = count
        tolerance *= 2
    return None


def _bounded(polygons: list[Polygon], tolerance: float, max_vertices: int) -> list[Polygon]:
    simpler = _simplified(polygons, tolerance, max_vertices)
    if simpler is not None:
        return simpler
    # Too many rings for any tolerance (each keeps at least 3 vertices): holes go, and the largest
    # max_vertices // 4 parts stay, then the same simplification.
    largest = sorted(polygons, key=lambda p: p.area, reverse=True)[: max(1, max_vertices // MIN_RING_BUDGET)]
    # Without holes an island inside another part's hole would lie inside its shell: the union merges them.
    shells = _polygons(shapely.union_all([Polygon(p.exterior) for p in largest]))
    simpler = _simplified(shells, tolerance, max_vertices)
    return simpler if simpler is not None else [_envelope(largest[0])]


def clean_polygon(
    points: Iterable[Sequence[float]],
    *,
    scale: tuple[float, float] = (1.0, 1.0),
    bounds: tuple[float, float],
    tolerance: float = TOLERANCE_PX,
    max_vertices: int = MAX_VERTICES,
) -> CleanShape | None:
    """The stored outline of a polygon given in the sent image's pixels (`scale` takes it to the original's,
    `bounds` is the original's width and height). None for an empty polygon."""
    distinct = _distinct(_scaled(points, scale, bounds))
    if len(distinct) == 0:
        return None
    try:
        polygons = _polygons(_valid(Polygon(distinct))) if len(distinct) >= 3 else []
    except shapely.errors.GEOSException:
        polygons = []  # GEOS could not repair it: kept as a degenerate outline, never a failed analysis
    if not polygons:
        x_min, y_min = distinct.min(axis=0).tolist()
        x_max, y_max = distinct.max(axis=0).tolist()
        return CleanShape(outline=distinct.tolist(), parts=[], bbox=(x_min, y_min, x_max, y_max), area=0.0)
    whole = shapely.MultiPolygon(polygons)
    x_min, y_min, x_max, y_max = (round(float(v), DECIMALS) for v in whole.bounds)
    area = round(float(whole.area), DECIMALS)
    # Simplification could leave nothing of slivers thinner than the tolerance: then the largest part's box.
    stored = _bounded(polygons, tolerance, max_vertices) or [_envelope(max(polygons, key=lambda p: p.area))]
    stored = _on_grid(stored, tolerance, max_vertices)
    parts = [[_round(p.exterior.coords), *(_round(r.coords) for r in p.interiors)] for p in stored]
    largest = max(range(len(stored)), key=lambda i: stored[i].area)
    return CleanShape(outline=parts[largest][0][:-1], parts=parts, bbox=(x_min, y_min, x_max, y_max), area=area)


def _on_grid(polygons: list[Polygon], tolerance: float, max_vertices: int) -> list[Polygon]:
    """The parts with coordinates on the 0.01 px grid, valid and within the bound.

    Usually rounding changes nothing that matters and the parts are returned as they are (rings keep their
    start and direction). When simplification (GEOS does not promise validity where parts touch) or the
    rounding of points make_valid added left the shape invalid, it is repaired and snapped to the grid (GEOS'
    valid-output precision reduction), and simplified once more should that have added vertices; failing
    that, the largest part's box."""
    rounded = [Polygon(_round(p.exterior.coords), [_round(r.coords) for r in p.interiors]) for p in polygons]
    if shapely.MultiPolygon(rounded).is_valid:
        return rounded
    candidate = polygons
    for _ in range(2):
        repaired = shapely.make_valid(shapely.MultiPolygon(candidate), method="structure")
        snapped = _polygons(shapely.set_precision(repaired, GRID))
        if snapped and _count(snapped) <= max_vertices:
            return snapped
        candidate = (_simplified(snapped, tolerance, max_vertices) or []) if snapped else []
        if not candidate:
            break
    return [_envelope(max(polygons, key=lambda p: p.area))]


def _envelope(polygon: Polygon) -> Polygon:
    """The box around a part, its corners on the grid (outward): 4 vertices, always valid."""
    x_min, y_min, x_max, y_max = polygon.bounds
    grid = 10**DECIMALS
    return shapely.box(
        math.floor(x_min * grid) / grid,
        math.floor(y_min * grid) / grid,
        max(math.ceil(x_max * grid) / grid, math.floor(x_min * grid) / grid + GRID),
        max(math.ceil(y_max * grid) / grid, math.floor(y_min * grid) / grid + GRID),
    )
