"""Detection exports page by page (keyset on created_at, id): GeoJSON features built in SQL, CSV rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import rows, scalar
from sentrix_report.logic.filters import Where

CSV_COLUMNS = (
    "id",
    "analysis_id",
    "created_at",
    "latitude",
    "longitude",
    "class_id",
    "class_name",
    "breeding_site_type",
    "risk_level",
    "confidence",
    "validation_status",
    "validated_at",
    "expires_at",
    "active",
    "validity_days",
    "mask_area",
    "analysis_risk_level",
    "area_square_pixels",
    "mask_area_model_px",
)

_FROM = """
FROM detections d
JOIN analyses a ON a.id = d.analysis_id
WHERE {where}
"""

# ST_AsGeoJSON writes [longitude, latitude] (RFC 7946 order) as numbers, 7 decimals (about 1 cm).
_FEATURES = """
SELECT json_build_object(
           'type', 'Feature',
           'id', d.id,
           'geometry', ST_AsGeoJSON(d.location, 7)::json,
           'properties', json_build_object(
               'analysis_id', d.analysis_id, 'created_at', d.created_at, 'class_id', d.class_id,
               'class_name', d.class_name, 'breeding_site_type', d.breeding_site_type, 'risk_level', d.risk_level,
               'confidence', d.confidence, 'validation_status', d.validation_status, 'validated_at', d.validated_at,
               'expires_at', d.expires_at, 'active', d.expires_at > :as_of, 'validity_days', d.validity_days,
               'mask_area', d.mask_area, 'analysis_risk_level', a.risk_level,
               'area_square_pixels', d.mask_area, 'mask_area_model_px', d.mask_area_model_px))::text AS feature,
       d.created_at, d.id
{from_}
ORDER BY d.created_at, d.id
LIMIT :limit
"""

_ROWS = """
SELECT d.id::text AS id, d.analysis_id::text AS analysis_id, d.created_at,
       ST_Y(d.location) AS latitude, ST_X(d.location) AS longitude, d.class_id, d.class_name,
       d.breeding_site_type::text AS breeding_site_type, d.risk_level::text AS risk_level, d.confidence,
       d.validation_status::text AS validation_status, d.validated_at, d.expires_at,
       d.expires_at > :as_of AS active, d.validity_days, d.mask_area, a.risk_level::text AS analysis_risk_level,
       d.mask_area AS area_square_pixels, d.mask_area_model_px
{from_}
ORDER BY d.created_at, d.id
LIMIT :limit
"""


def _where(where: Where, after: tuple[datetime, uuid.UUID] | None) -> tuple[str, dict[str, Any]]:
    params = dict(where.params)
    sql = where.sql()
    if after is not None:
        sql += " AND (d.created_at, d.id) > (CAST(:after_ts AS timestamptz), CAST(:after_id AS uuid))"
        params.update(after_ts=after[0], after_id=after[1])
    return _FROM.format(where=sql), params


def features(
    session: Session, *, where: Where, after: tuple[datetime, uuid.UUID] | None, limit: int, as_of: datetime
) -> list[dict[str, Any]]:
    """Up to `limit` GeoJSON Feature texts with their keyset position."""
    from_, params = _where(where, after)
    return [dict(r) for r in rows(session, _FEATURES.format(from_=from_), {**params, "limit": limit, "as_of": as_of})]


def csv_rows(
    session: Session, *, where: Where, after: tuple[datetime, uuid.UUID] | None, limit: int, as_of: datetime
) -> list[dict[str, Any]]:
    """Up to `limit` export rows (columns as in CSV_COLUMNS)."""
    from_, params = _where(where, after)
    return [dict(r) for r in rows(session, _ROWS.format(from_=from_), {**params, "limit": limit, "as_of": as_of})]


def count(session: Session, *, where: Where) -> int:
    """How many detections match `where` across all pages."""
    from_, params = _where(where, None)
    return int(scalar(session, "SELECT count(*) " + from_, params))
