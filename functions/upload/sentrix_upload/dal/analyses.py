"""Queries over analyses for the list and detail reads: one JSON document per analysis, filters on the indexes.

Two pg8000 costs shape these reads. A statement with parameters goes in three round trips (parse,
describe + bind, execute) after its text is rewritten character by character; one without parameters goes
in one. And pg8000 parses each timestamp with `strptime`. So the hot reads write their values into the
statement (SQLAlchemy's literal rendering, `literal_execute`: values we parsed ourselves — uuids, enums,
numbers, datetimes — never raw client text) and fetch each analysis as one `jsonb` document, which the C
JSON decoder reads and the response model turns into types.
"""

from __future__ import annotations

import string
import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

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
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Session

from sentrix.db.engine import bounded_read
from sentrix.db.geometry import GEOGRAPHY
from sentrix.db.models import Analysis, Detection
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from sentrix.http.identity import Principal, TokenIdentity, checked_principal, session_ended_sql
from sentrix.repositories.officials import is_official, scope_codes
from sentrix_upload.logic.filters import AnalysisFilters, BBox, Near

OPEN_VERDICTS = (ValidationStatus.PENDING, ValidationStatus.REQUIRES_REVIEW)
# (GEOGRAPHY: a bare `::geography` cast, the expression the ix_*_location_geog indexes are built on.)
UUID_TYPE = PG_UUID(as_uuid=True)


PAIRS_PER_CALL = 50
# Decimals of the pixel shapes' GeoJSON (they are stored at 0.01 px: sentrix.shapes).
SHAPE_DECIMALS = 2


def _document_sql(table: Any, alias: str) -> str:
    """A row as one `jsonb` object, its points as latitude/longitude and its pixel shape as GeoJSON at 0.01 px.
    Built column by column: `to_jsonb(row)` would also turn the geometry into GeoJSON (PostGIS' json cast) only
    to drop it, three times the cost."""
    points = {"location": "", "exif_location": "exif_"}
    shapes = {"shape"}
    pairs = [f"'{c.name}', {alias}.{c.name}" for c in table.__table__.columns if c.name not in {*points, *shapes}]
    for column, prefix in points.items():
        if column in table.__table__.columns:
            pairs += [f"'{prefix}latitude', ST_Y({alias}.{column})", f"'{prefix}longitude', ST_X({alias}.{column})"]
    for column in shapes & set(table.__table__.columns.keys()):
        pairs.append(f"'{column}', ST_AsGeoJSON({alias}.{column}, {SHAPE_DECIMALS})::jsonb")
    # A function takes at most 100 arguments (FUNC_MAX_ARGS): wider rows are joined from several objects.
    chunks = [pairs[i : i + PAIRS_PER_CALL] for i in range(0, len(pairs), PAIRS_PER_CALL)]
    return "(" + " || ".join(f"jsonb_build_object({', '.join(chunk)})" for chunk in chunks) + ")"


# The analysis row without its geometry, plus the point's coordinates.
DOCUMENT_SQL = _document_sql(Analysis, "analyses")
DOCUMENT = literal_column(DOCUMENT_SQL).label("document")
# One page of the analysis' detections as one JSON array (highest confidence first), and how many it has per
# verdict, so the detail is a single statement. {{limit}} and {{offset}} are formatted in as integers.
_DETECTION_SQL = _document_sql(Detection, "d")
DETECTIONS_SQL = (
    f"(SELECT coalesce(jsonb_agg({_DETECTION_SQL} ORDER BY d.confidence DESC, d.id), '[]'::jsonb)"  # noqa: S608
    " FROM (SELECT * FROM detections AS d WHERE d.analysis_id = analyses.id"
    " ORDER BY d.confidence DESC, d.id LIMIT {limit} OFFSET {offset}) AS d)"
)
VERDICT_COUNTS_SQL = (
    "(SELECT coalesce(jsonb_object_agg(c.validation_status, c.n), '{{}}'::jsonb) FROM"
    " (SELECT validation_status, count(*) AS n FROM detections WHERE analysis_id = analyses.id"
    " GROUP BY validation_status) AS c)"
)


def value(data: Any, type_: Any = None) -> BindParameter:
    """A value rendered into the statement when it runs (see the module docstring), not bound."""
    return literal(data, type_, literal_execute=True)


def inline(name: str) -> BindParameter:
    """A named uuid parameter of a prebuilt statement, rendered into it when it runs."""
    return bindparam(name, type_=UUID_TYPE, literal_execute=True)


def point(latitude: float, longitude: float) -> ColumnElement:
    """A WGS 84 point (SRID 4326) from latitude and longitude, as bound parameters."""
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
    if is_official(principal):
        own = Analysis.user_id == value(principal.user_id, UUID_TYPE)
        where.append(or_(own, Analysis.territory_code.in_(scope_codes(principal.user_id))))
    elif not principal.sees_everything:
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


# The caller's user row (for the identity check), their language, and the analysis with its detections if
# they may see it — one statement, one round trip for a whole warm detail read. The two ids are parsed UUIDs
# (`uuid.UUID`, whose text is hex and dashes), written into the text so pg8000 sends it in one message.
DETAIL_WITH_CALLER = f"""
SELECT u.role, u.is_active, u.tokens_valid_after, u.email, {{session_ended}} AS session_ended,
       (SELECT s.settings ->> 'language' FROM user_settings AS s WHERE s.user_id = u.id) AS caller_language,
       a.document, a.detections, a.verdict_counts
FROM users AS u
LEFT JOIN LATERAL (
    SELECT {DOCUMENT_SQL} AS document, {DETECTIONS_SQL} AS detections, {VERDICT_COUNTS_SQL} AS verdict_counts
    FROM analyses
    WHERE analyses.id = '{{analysis_id}}'::uuid
      AND (analyses.user_id = u.id OR u.role IN ('expert', 'admin') OR (u.role = 'official' AND
           analyses.territory_code IN (WITH RECURSIVE scope (code) AS (
               SELECT o.territory_code FROM official_territories AS o WHERE o.user_id = u.id
               UNION ALL SELECT t.code FROM territories AS t JOIN scope ON t.parent_code = scope.code)
           SELECT scope.code FROM scope)))
) AS a ON true
WHERE u.id = '{{caller_id}}'::uuid
"""  # noqa: S608 - constant SQL; only parsed UUIDs and integers are formatted in (see detail_with_caller)


# DETAIL_WITH_CALLER cut once into its literal text and its fields: `str.format` re-parses the 5 kB template on
# every call (~80 µs, a few percent of a warm detail read); joining the parts gives the same text.
_DETAIL_PARTS = tuple((text, field) for text, field, _spec, _conversion in string.Formatter().parse(DETAIL_WITH_CALLER))


def detail_sql(**values: object) -> str:
    """DETAIL_WITH_CALLER with `values` formatted in (as `str.format` would; every field must be given)."""
    return "".join(text + (str(values[field]) if field is not None else "") for text, field in _DETAIL_PARTS)


def detail_with_caller(
    identity: TokenIdentity, analysis_id: uuid.UUID, *, limit: int, offset: int = 0
) -> tuple[Principal, SimpleNamespace | None]:
    """The checked caller and the analysis (None if missing or not theirs to see) with `limit` of its
    detections from `offset` and its verdict counts, in one round trip (its statement_timeout included:
    `sentrix.db.engine.bounded_read`).

    The caller is checked exactly like `check_against_database` before anything read is used."""
    caller_id = identity.principal.user_id
    if not isinstance(caller_id, uuid.UUID) or not isinstance(analysis_id, uuid.UUID):
        raise TypeError("ids must be parsed UUIDs")
    if type(limit) is not int or type(offset) is not int or limit < 0 or offset < 0:
        raise TypeError("limit and offset must be non-negative integers")
    sql = detail_sql(
        analysis_id=analysis_id,
        caller_id=caller_id,
        session_ended=session_ended_sql(identity, "u"),
        limit=limit,
        offset=offset,
    )
    rows = bounded_read(sql)
    row = rows[0] if rows else None  # no row: the caller's user is gone
    principal = checked_principal(identity, row)
    if row.document is None:
        return principal, None
    analysis = record(row.document)
    analysis.caller_language = row.caller_language
    analysis.detections = [detection_record(d) for d in row.detections]
    analysis.verdict_counts = {ValidationStatus(k): n for k, n in row.verdict_counts.items()}
    return principal, analysis


def detection_record(document: dict[str, Any]) -> SimpleNamespace:
    """A detection document as attributes; the expiry is a datetime because validity is computed from it."""
    document["expires_at"] = datetime.fromisoformat(document["expires_at"])
    document["validation_status"] = ValidationStatus(document["validation_status"])
    return SimpleNamespace(**document)
