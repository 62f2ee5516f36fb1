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
   only the `MAX_VERTICES // 4` (64) largest parts are kept, and simplified the same way. Area and box keep
   describing the whole mask.

Degenerate outlines are not an error: fewer than 3 distinct points, or points with no area (all on one
line), give `shape=None`, `area=0.0`, the distinct points as the outline and the box around them. An empty
polygon gives None from `clean_polygon`: there is nothing to place or box.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

TOLERANCE_PX = 1.0
MAX_VERTICES = 256
DECIMALS = 2
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


def _simplified(polygons: list[Polygon], tolerance: float, max_vertices: int) -> list[Polygon] | None:
    """Simplified from `tolerance` up, doubling, until at most `max_vertices`; None if no tolerance gets there."""
    shape = shapely.MultiPolygon(polygons)
    for _ in range(_MAX_DOUBLINGS):
        simpler = _polygons(shape.simplify(tolerance, preserve_topology=True))
        if _count(simpler) <= max_vertices:
            return simpler
        tolerance *= 2
    return None


def _bounded(polygons: list[Polygon], tolerance: float, max_vertices: int) -> list[Polygon]:
    simpler = _simplified(polygons, tolerance, max_vertices)
    if simpler is not None:
        return simpler
    # Too many rings for any tolerance (each keeps at least 3 vertices): holes go, and the largest
    # max_vertices // 4 parts stay, then the same simplification.
    largest = sorted(polygons, key=lambda p: p.area, reverse=True)[: max(1, max_vertices // MIN_RING_BUDGET)]
    simpler = _simplified([Polygon(p.exterior) for p in largest], tolerance, max_vertices)
    return simpler if simpler is not None else [Polygon(largest[0].exterior).envelope]


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
    polygons = _polygons(_valid(Polygon(distinct))) if len(distinct) >= 3 else []
    if not polygons:
        x_min, y_min = distinct.min(axis=0).tolist()
        x_max, y_max = distinct.max(axis=0).tolist()
        return CleanShape(outline=distinct.tolist(), parts=[], bbox=(x_min, y_min, x_max, y_max), area=0.0)
    whole = shapely.MultiPolygon(polygons)
    x_min, y_min, x_max, y_max = (round(float(v), DECIMALS) for v in whole.bounds)
    area = round(float(whole.area), DECIMALS)
    stored = _bounded(polygons, tolerance, max_vertices)
    parts = [[_round(p.exterior.coords), *(_round(r.coords) for r in p.interiors)] for p in stored]
    largest = max(range(len(stored)), key=lambda i: stored[i].area)
    return CleanShape(outline=parts[largest][0][:-1], parts=parts, bbox=(x_min, y_min, x_max, y_max), area=area)
