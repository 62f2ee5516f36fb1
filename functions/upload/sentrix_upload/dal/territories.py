"""Queries over territories: the import's writes and the reads (docs/territories.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from sentrix.db.models import Territory
from sentrix_upload.logic.territory_import import Feature

# One import at a time: two files naming each other's parents must not interleave.
IMPORT_LOCK = 0x7465727269746F72  # "territor"


def lock_imports(session: Session) -> None:
    """Serialise territory imports for the rest of the transaction (an advisory lock)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})


def stored_parents(session: Session) -> dict[str, str | None]:
    """Every stored territory's code and its parent's code."""
    return {row.code: row.parent_code for row in session.execute(select(Territory.code, Territory.parent_code))}


def validity(session: Session, features: Sequence[Feature]) -> list[tuple[bool, bool]]:
    """Per feature (file order): (valid as given, empty once repaired by ST_MakeValid)."""
    rows = session.execute(
        text(
            "SELECT u.ord, ST_IsValid(g.geom) AS valid, "
            "ST_IsEmpty(ST_CollectionExtract(ST_MakeValid(g.geom), 3)) AS empty "
            "FROM unnest(CAST(:gjs AS text[])) WITH ORDINALITY AS u(gj, ord) "
            "CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(u.gj)), 4326) AS geom) g "
            "ORDER BY u.ord"
        ),
        {"gjs": [f.geometry for f in features]},
    ).all()
    return [(row.valid, row.empty) for row in rows]


def upsert(session: Session, feature: Feature, actor: uuid.UUID) -> bool:
    """Create or update one territory (repairing its geometry if need be); True when created."""
    return session.execute(
        text(
            "WITH u AS (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(CAST(:gj AS text))), 4326) AS raw), "
            "g AS (SELECT ST_Multi(CASE WHEN ST_IsValid(raw) THEN raw "
            "ELSE ST_CollectionExtract(ST_MakeValid(raw), 3) END) AS geom FROM u) "
            "INSERT INTO territories (code, name, parent_code, depth, geometry, area_m2, created_by) "
            "SELECT :code, :name, :parent, 0, g.geom, ST_Area(CAST(g.geom AS geography)), :actor FROM g "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent_code = EXCLUDED.parent_code, "
            "geometry = EXCLUDED.geometry, area_m2 = EXCLUDED.area_m2, updated_at = now() "
            "RETURNING (xmax = 0) AS created"
        ),
        {"gj": feature.geometry, "code": feature.code, "name": feature.name, "parent": feature.parent, "actor": actor},
    ).scalar_one()


def recompute_depths(session: Session) -> None:
    """Every territory's depth from the hierarchy (0 for roots): a moved parent moves its whole subtree."""
    session.execute(
        text(
            "WITH RECURSIVE tree AS (SELECT code, 0 AS depth FROM territories WHERE parent_code IS NULL "
            "UNION ALL SELECT t.code, tree.depth + 1 FROM territories t JOIN tree ON t.parent_code = tree.code) "
            "UPDATE territories t SET depth = tree.depth FROM tree "
            "WHERE t.code = tree.code AND t.depth IS DISTINCT FROM tree.depth"
        )
    )


def descendants(code: str) -> Any:
    """A select of the codes of `code` and every territory below it."""
    tree = select(Territory.code).where(Territory.code == code).cte("tree", recursive=True)
    tree = tree.union_all(select(Territory.code).where(Territory.parent_code == tree.c.code))
    return select(tree.c.code)


def exists(session: Session, code: str) -> bool:
    """Whether a territory with this code is stored."""
    return session.scalar(select(func.count()).select_from(Territory).where(Territory.code == code)) == 1


def _columns(include_geometry: bool) -> list[Any]:
    columns = [Territory.code, Territory.name, Territory.parent_code, Territory.depth, Territory.area_m2]
    if include_geometry:
        columns.append(func.ST_AsGeoJSON(Territory.geometry, 7).label("geojson"))
    return columns


def list_page(
    session: Session,
    *,
    parent: str | None,
    level: int | None,
    include_geometry: bool,
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    """A page of territories under `parent` and/or at `level`, with the total."""
    where = []
    if parent is not None:
        where.append(Territory.parent_code == parent)
    if level is not None:
        where.append(Territory.depth == level)
    total = session.scalar(select(func.count()).select_from(Territory).where(*where)) or 0
    rows = session.execute(
        select(*_columns(include_geometry))
        .where(*where)
        .order_by(Territory.depth, Territory.code)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def get(session: Session, code: str) -> tuple[Any, list[str]] | None:
    """One territory (with its geometry) and its children's codes, or None."""
    row = session.execute(select(*_columns(True)).where(Territory.code == code)).first()
    if row is None:
        return None
    children = session.scalars(
        select(Territory.code).where(Territory.parent_code == code).order_by(Territory.code)
    ).all()
    return row, list(children)
