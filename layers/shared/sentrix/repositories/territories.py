"""Tagging analyses and sites with their territory (docs/territories.md).

The tag is the smallest territory covering the point: `territory_at` (migration 0013) — ST_Covers, so a point
on a border belongs to every polygon that border bounds; the smallest area wins; equal areas, the lowest code.
Detect tags in the transaction that stores the analysis (`tag`); an import re-tags what it may have changed
(`retag`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:  # an ORM session, or a Core connection (detect's store: no ORM at cold start)
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session


def tag(session: Session | Connection, analysis_id: uuid.UUID) -> None:
    """Tag a freshly stored analysis with its smallest territory (the sites it joined or started were tagged by
    the placing, `sites_place`: docs/sites.md, *Merging*)."""
    session.execute(
        text("UPDATE analyses SET territory_code = territory_at(location) WHERE id = :id AND location IS NOT NULL"),
        {"id": analysis_id},
    )


def retag(session: Session | Connection, codes: Sequence[str]) -> tuple[int, int]:
    """Re-tag every analysis and site an import of `codes` may have changed: those inside one of the imported
    polygons and those tagged with one of them (a polygon that shrank). Returns (analyses, sites) whose tag
    changed."""
    counts = []
    for table in ("analyses", "sites"):
        result = session.execute(
            text(
                f"UPDATE {table} x SET territory_code = territory_at(x.location) "  # noqa: S608 - fixed names
                "WHERE x.location IS NOT NULL AND (x.territory_code = ANY(CAST(:codes AS varchar[])) OR EXISTS ("
                "SELECT 1 FROM territories t WHERE t.code = ANY(CAST(:codes AS varchar[])) "
                "AND t.geometry && x.location AND ST_Covers(t.geometry, x.location))) "
                "AND x.territory_code IS DISTINCT FROM territory_at(x.location)"
            ),
            {"codes": list(codes)},
        )
        counts.append(result.rowcount)
    return counts[0], counts[1]
