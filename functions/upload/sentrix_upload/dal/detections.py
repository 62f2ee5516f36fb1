"""Queries over detections: rows for the reads, with coordinates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, String, case, func, select
from sqlalchemy.orm import Session

from sentrix.db.models import Analysis, Detection
from sentrix.domain.classes import BreedingSiteType, RiskLevel
from sentrix.domain.status import ValidationStatus
from sentrix.http.identity import Principal
from sentrix.repositories.detections import visible_detections
from sentrix_upload.dal.analyses import SHAPE_DECIMALS, within_bbox

DETECTION_COLUMNS: tuple[Any, ...] = (
    Detection.id,
    Detection.analysis_id,
    Detection.class_id,
    Detection.class_name,
    Detection.breeding_site_type,
    Detection.confidence,
    Detection.risk_level,
    Detection.polygon,
    Detection.bbox_x_min,
    Detection.bbox_y_min,
    Detection.bbox_x_max,
    Detection.bbox_y_max,
    Detection.mask_area,
    Detection.mask_area_model_px,
    func.ST_AsGeoJSON(Detection.shape, SHAPE_DECIMALS).label("shape"),
    Detection.validation_status,
    Detection.validated_by,
    Detection.validated_at,
    Detection.validation_notes,
    Detection.persistence_type,
    Detection.is_weather_dependent,
    Detection.validity_days,
    Detection.expires_at,
    Detection.validity_extended_reason,
    Detection.validity_extended_by,
    Detection.validity_extended_at,
    Detection.created_at,
    func.ST_Y(Detection.location).label("latitude"),
    func.ST_X(Detection.location).label("longitude"),
)


def detection_rows(session: Session, detection_ids: list[uuid.UUID]) -> list[Row]:
    """Rows for the given detections (after a change), in no particular order."""
    if not detection_ids:
        return []
    return list(session.execute(select(*DETECTION_COLUMNS).where(Detection.id.in_(detection_ids))).all())


RISK_PRIORITY = case(
    (Detection.risk_level == RiskLevel.ALTO, 0),
    (Detection.risk_level == RiskLevel.MEDIO, 1),
    (Detection.risk_level == RiskLevel.BAJO, 2),
    else_=3,
)

QUEUE_COLUMNS: tuple[Any, ...] = (
    *DETECTION_COLUMNS,
    Analysis.user_id.label("owner_id"),
    Analysis.image_bucket,
    Analysis.image_key,
    Analysis.processed_image_key,
    Analysis.status.label("analysis_status"),
)


def page(session: Session, statement: Select, count_from: Select, *, limit: int, offset: int) -> tuple[list[Row], int]:
    """A page of `statement` and the count of `count_from` (the same filters without order or paging)."""
    total = session.scalar(select(func.count()).select_from(count_from.subquery())) or 0
    if offset >= total:
        return [], total
    return list(session.execute(statement.limit(limit).offset(offset)).all()), total


def review_queue(
    session: Session,
    *,
    statuses: tuple[ValidationStatus, ...],
    risk_levels: tuple[RiskLevel, ...],
    bbox: Any | None,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    """Detections awaiting an expert: highest risk first, then oldest first."""
    where = [Detection.validation_status.in_(statuses)]
    if risk_levels:
        where.append(Detection.risk_level.in_(risk_levels))
    if bbox is not None:
        where.append(within_bbox(Detection.location, bbox))
    base = select(*QUEUE_COLUMNS).join(Analysis, Analysis.id == Detection.analysis_id).where(*where)
    ordered = base.order_by(RISK_PRIORITY, Detection.created_at, Detection.id)
    return page(session, ordered, select(Detection.id).where(*where), limit=limit, offset=offset)


def by_expiry(
    session: Session,
    principal: Principal,
    *,
    expires_after: datetime | None,
    expires_until: datetime,
    breeding_site_type: BreedingSiteType | None,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    """Visible detections with `expires_after < expires_at <= expires_until`, soonest first (indexed)."""
    where = [Detection.expires_at <= expires_until]
    if expires_after is not None:
        where.append(Detection.expires_at > expires_after)
    if breeding_site_type is not None:
        where.append(Detection.breeding_site_type == breeding_site_type)
    statement = visible_detections(principal, select(*DETECTION_COLUMNS)).where(*where)
    ordered = statement.order_by(Detection.expires_at, Detection.id)
    count_from = visible_detections(principal, select(Detection.id)).where(*where)
    return page(session, ordered, count_from, limit=limit, offset=offset)


def validity_stats(session: Session, principal: Principal, now: datetime, soon: datetime) -> dict[str, Any]:
    """Counts and averages computed by PostgreSQL (no row leaves the database)."""
    totals = session.execute(
        visible_detections(
            principal,
            select(
                func.count().label("total"),
                func.count().filter(Detection.expires_at > now).label("active"),
                func.count().filter(Detection.expires_at <= now).label("expired"),
                func.count().filter(Detection.expires_at > now, Detection.expires_at <= soon).label("expiring_soon"),
                func.avg(Detection.validity_days).label("average_days"),
                func.count().filter(Detection.validity_extended_at.is_not(None)).label("extended"),
            ),
        )
    ).one()

    def grouped(column: Any) -> dict[str, int]:
        statement = visible_detections(principal, select(column, func.count()).group_by(column))
        return {str(key.value if hasattr(key, "value") else key): n for key, n in session.execute(statement)}

    return {
        "totals": totals,
        "by_persistence_type": grouped(Detection.persistence_type),
        "by_breeding_site": grouped(func.coalesce(Detection.breeding_site_type.cast(String), Detection.class_name)),
        "by_validation_status": grouped(Detection.validation_status),
        "by_risk_level": grouped(Detection.risk_level),
    }
