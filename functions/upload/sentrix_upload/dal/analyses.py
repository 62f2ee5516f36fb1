"""Queries over analyses for the list and detail reads: one JSON document per analysis, filters on the indexes.

Two pg8000 costs shape these reads. A statement with parameters goes in three round trips (parse,
describe + bind, execute) after its text is rewritten character by character; one without parameters goes
in one. And pg8000 parses each timestamp with `strptime`. So the hot reads write their values into the
statement (SQLAlchemy's literal rendering, `literal_execute`: values we parsed ourselves — uuids, enums,
numbers, datetimes — never raw client text) and fetch each analysis as one `jsonb` document, which the C
JSON decoder reads and the response model turns into types.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Session

from sentrix.db.models import Analysis, Detection, UserSettings
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from sentrix.http.identity import Principal
from sentrix_upload.logic.filters import AnalysisFilters, BBox, Near

OPEN_VERDICTS = (ValidationStatus.PENDING, ValidationStatus.REQUIRES_REVIEW)
# A bare `::geography` cast: GeoAlchemy's default type would write `geography(GEOMETRY,-1)`, which is
# not the expression the ix_*_location_geog indexes are built on, so PostgreSQL would not use them.
GEOGRAPHY = Geography(geometry_type=None, srid=-1, spatial_index=False)
UUID_TYPE = PG_UUID(as_uuid=True)

# The analysis row without its geometry, plus the point's coordinates.
DOCUMENT = literal_column(
    "(to_jsonb(analyses) - 'location') || jsonb_build_object("
    "'latitude', ST_Y(analyses.location), 'longitude', ST_X(analyses.location))"
).label("document")
# Every detection of the analysis as one JSON array, so the detail is a single statement.
DETECTIONS_JSON = literal_column(
    "(SELECT coalesce(jsonb_agg((to_jsonb(d) - 'location') || jsonb_build_object("
    "'latitude', ST_Y(d.location), 'longitude', ST_X(d.location)) ORDER BY d.confidence DESC, d.id), '[]'::jsonb)"
    " FROM detections AS d WHERE d.analysis_id = analyses.id)"
).label("detections")


def value(data: Any, type_: Any = None) -> BindParameter:
    """A value rendered into the statement when it runs (see the module docstring), not bound."""
    return literal(data, type_, literal_execute=True)


def inline(name: str) -> BindParameter:
    """A named uuid parameter of a prebuilt statement, rendered into it when it runs."""
    return bindparam(name, type_=UUID_TYPE, literal_execute=True)


CALLER_LANGUAGE = (
    select(literal_column("user_settings.settings ->> 'language'"))
    .select_from(UserSettings)
    .where(UserSettings.user_id == inline("caller_id"))
    .scalar_subquery()
    .label("caller_language")
)
# Built once: constructing the select costs more than running it.
DETAIL_ANY = (
    select(DOCUMENT, CALLER_LANGUAGE, DETECTIONS_JSON).select_from(Analysis).where(Analysis.id == inline("analysis_id"))
)
DETAIL_OWN = DETAIL_ANY.where(Analysis.user_id == inline("caller_id"))


def point(latitude: float, longitude: float) -> ColumnElement:
    return func.ST_SetSRID(func.ST_MakePoint(value(longitude), value(latitude)), value(4326))


def within_bbox(column: Any, bbox: BBox) -> ColumnElement:
    """Points inside the box: `&&` on the geometry GiST index (exact for points)."""
    corners = (value(v) for v in (bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat))
    return column.op("&&")(func.ST_MakeEnvelope(*corners, value(4326)))


def within_radius(column: Any, near: Near) -> ColumnElement:
    """Points within `radius_m` metres: written as `location::geography` so the geography GiST index serves it."""
    centre = cast(point(near.latitude, near.longitude), GEOGRAPHY)
    return func.ST_DWithin(cast(column, GEOGRAPHY), centre, value(near.radius_m))


def fully_validated() -> ColumnElement:
    """At least one detection, and none still waiting for (or asking for more) expert review."""
    open_verdicts = [value(v, Detection.validation_status.type) for v in OPEN_VERDICTS]
    has_any = exists().where(Detection.analysis_id == Analysis.id)
    has_open = exists().where(Detection.analysis_id == Analysis.id, Detection.validation_status.in_(open_verdicts))
    return and_(has_any, ~has_open)


def conditions(principal: Principal, filters: AnalysisFilters) -> list[ColumnElement]:
    """WHERE clauses: what the caller may see, then each filter that was given."""
    where: list[ColumnElement] = []
    if not principal.sees_everything:
        where.append(Analysis.user_id == value(principal.user_id, UUID_TYPE))
    if filters.user_id is not None:
        where.append(Analysis.user_id == value(filters.user_id, UUID_TYPE))
    if filters.statuses:
        where.append(Analysis.status.in_([value(s, Analysis.status.type) for s in filters.statuses]))
    if filters.risk_levels:
        where.append(Analysis.risk_level.in_([value(r, Analysis.risk_level.type) for r in filters.risk_levels]))
    if filters.created_from is not None:
        where.append(Analysis.created_at >= value(filters.created_from, Analysis.created_at.type))
    if filters.created_before is not None:
        where.append(Analysis.created_at < value(filters.created_before, Analysis.created_at.type))
    if filters.has_gps is True:
        where.append(Analysis.location.is_not(None))
    elif filters.has_gps is False:
        where.append(Analysis.location.is_(None))
    if filters.validated_only:
        where.append(fully_validated())
    if filters.bbox is not None:
        where.append(within_bbox(Analysis.location, filters.bbox))
    if filters.near is not None:
        where.append(within_radius(Analysis.location, filters.near))
    return where


def record(document: dict[str, Any]) -> SimpleNamespace:
    """An analysis document as attributes, with the status as its enum (the views compare it)."""
    document["status"] = AnalysisStatus(document["status"])
    return SimpleNamespace(**document)


def list_page(
    session: Session, principal: Principal, filters: AnalysisFilters, *, limit: int, offset: int
) -> tuple[list[SimpleNamespace], int]:
    """One page, newest first, and the number of analyses matching the same filters."""
    where = conditions(principal, filters)
    total = session.scalar(select(func.count()).select_from(Analysis).where(*where)) or 0
    if offset >= total:
        return [], total
    statement = (
        select(DOCUMENT)
        .select_from(Analysis)
        .where(*where)
        .order_by(Analysis.created_at.desc(), Analysis.id.desc())
        .limit(value(limit, Integer()))
        .offset(value(offset, Integer()))
    )
    return [record(document) for document in session.scalars(statement)], total


def detail(session: Session, principal: Principal, analysis_id: uuid.UUID) -> SimpleNamespace | None:
    """The analysis, its detections and the caller's language setting, in one statement and one round trip."""
    statement = DETAIL_ANY if principal.sees_everything else DETAIL_OWN
    row = session.execute(statement, {"analysis_id": analysis_id, "caller_id": principal.user_id}).first()
    if row is None:
        return None
    analysis = record(row.document)
    analysis.caller_language = row.caller_language
    analysis.detections = [detection_record(d) for d in row.detections]
    return analysis


def detection_record(document: dict[str, Any]) -> SimpleNamespace:
    """A detection document as attributes; the expiry is a datetime because validity is computed from it."""
    document["expires_at"] = datetime.fromisoformat(document["expires_at"])
    document["validation_status"] = ValidationStatus(document["validation_status"])
    return SimpleNamespace(**document)
