"""Validity of detections: expired and expiring lists, extension, revalidation, statistics, one detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.domain.classes import BreedingSiteType
from sentrix.domain.status import REJECTED, ValidationStatus
from sentrix.domain.validity import Weather, validity_days, validity_of, zone_named
from sentrix.errors import Conflict
from sentrix.http.identity import Principal
from sentrix.observability import logger
from sentrix.repositories import sites
from sentrix.repositories.detections import get_visible_detection
from sentrix.repositories.verdicts import refresh_current_risk
from sentrix_upload.dal import detections as detections_dal
from sentrix_upload.logic import views


def _page(rows: list, total: int, limit: int, offset: int, now: datetime) -> dict[str, Any]:
    items = [views.detection_view(row, now) for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset, "has_next": offset + len(rows) < total}


def expired(
    principal: Principal, *, site: BreedingSiteType | None, limit: int, offset: int, now: datetime | None = None
) -> dict[str, Any]:
    """Visible detections whose validity has run out, the longest expired first."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        rows, total = detections_dal.by_expiry(
            session,
            principal,
            expires_after=None,
            expires_until=now,
            breeding_site_type=site,
            limit=limit,
            offset=offset,
        )
    return _page(rows, total, limit, offset, now)


def expiring_soon(
    principal: Principal, *, days: int, limit: int, offset: int, now: datetime | None = None
) -> dict[str, Any]:
    """Visible detections still valid that expire within `days` days, soonest first."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        rows, total = detections_dal.by_expiry(
            session,
            principal,
            expires_after=now,
            expires_until=now + timedelta(days=days),
            breeding_site_type=None,
            limit=limit,
            offset=offset,
        )
    return _page(rows, total, limit, offset, now)


def extend(
    principal: Principal, detection_id: Any, extension_days: int, reason: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Push a detection's expiry back by `extension_days`; who, when and why are stored with it."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        detection = get_visible_detection(session, detection_id, principal, for_update=True)
        if detection.validation_status is REJECTED:
            raise Conflict(key="err.extend_rejected", details={"validation_status": detection.validation_status.value})
        old = detection.expires_at
        detection.expires_at = old + timedelta(days=extension_days)
        detection.validity_days += extension_days
        detection.validity_extended_reason = reason
        detection.validity_extended_by = principal.user_id
        detection.validity_extended_at = now
        result = {
            "detection_id": detection.id,
            "old_expires_at": old,
            "new_expires_at": detection.expires_at,
            "extension_days": extension_days,
            "validity_days": detection.validity_days,
            "reason": reason,
            "extended_by": principal.user_id,
            "extended_by_email": principal.email,
            "extended_at": now,
        }
    logger.info("validity extended", extra={"detection_id": str(result["detection_id"]), "days": extension_days})
    return result


def season_place(session: Session, analysis_id: Any) -> tuple[float | None, Any, datetime | None]:
    """The analysis' latitude (hemisphere), local zone and validity start: what detect read the season from."""
    row = session.execute(
        select(func.ST_Y(Analysis.location), Analysis.local_time_zone, Analysis.validity_from).where(
            Analysis.id == analysis_id
        )
    ).one()
    return row[0], zone_named(row[1]), row[2]


def revalidate(
    principal: Principal,
    raw_id: str,
    weather: Weather | None,
    notes: str | None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An expert saw the site again today: validated positive, validity counted afresh from now.

    The season is the one detect uses: the analysis point's hemisphere and today's month in its local zone."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        detection = get_visible_detection(session, raw_id, principal, for_update=True)
        latitude, zone, _start = season_place(session, detection.analysis_id)
        days = validity_days(
            detection.breeding_site_type or detection.class_name,
            detection.risk_level,
            detection.confidence,
            detected_at=now.astimezone(zone),
            latitude=latitude,
            weather=weather,
            validated_positive=True,
        )
        detection.validation_status = ValidationStatus.VALIDATED_POSITIVE
        detection.validated_by = principal.user_id
        detection.validated_at = now
        if notes is not None:
            detection.validation_notes = notes
        detection.validity_days = days
        detection.expires_at = now + timedelta(days=days)
        # A rejection taken back by a fresh confirmation: the expiry it ended is not coming back, this one is.
        detection.unrejected_expires_at = None
        session.flush()
        refresh_current_risk(session, detection.analysis_id)
        sites.settle(session, [detection.site_id], principal.user_id)  # confirmed, maybe back from rejection
        (row,) = detections_dal.detection_rows(session, [detection.id])
    return {
        "status": "revalidated",
        "weather_condition": weather,
        "detection": views.detection_view(row, now),
    }


def stats(principal: Principal, *, now: datetime | None = None) -> dict[str, Any]:
    """Counts by validity, persistence, site type, verdict and risk over the detections the caller sees."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        found = detections_dal.validity_stats(session, principal, now, now + timedelta(days=1))
    totals = found["totals"]
    average = round(float(totals.average_days), 1) if totals.average_days is not None else None
    return {
        "total_detections": totals.total,
        "active_detections": totals.active,
        "expired_detections": totals.expired,
        "expiring_soon_detections": totals.expiring_soon,
        "revalidation_needed": totals.expired + totals.expiring_soon,
        "extended_detections": totals.extended,
        "average_validity_days": average,
        "by_persistence_type": found["by_persistence_type"],
        "by_breeding_site": found["by_breeding_site"],
        "by_validation_status": found["by_validation_status"],
        "by_risk_level": found["by_risk_level"],
        "computed_at": now,
    }


def detection_validity(principal: Principal, raw_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Where one detection stands: days left, status band, whether it needs revalidation."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        d = get_visible_detection(session, raw_id, principal)
    validity = validity_of(d.expires_at, now)
    return {
        "detection_id": d.id,
        "analysis_id": d.analysis_id,
        "validation_status": d.validation_status,
        "persistence_type": d.persistence_type,
        "is_weather_dependent": d.is_weather_dependent,
        "validity_days": d.validity_days,
        "expires_at": d.expires_at,
        "status": validity.status,
        "remaining_days": validity.remaining_days,
        "validity_percentage": validity.remaining_percent,
        "is_expired": d.expires_at <= now,
        "is_expiring_soon": validity.is_expiring_soon,
        "requires_revalidation": validity.requires_revalidation,
        "validity_extended_reason": d.validity_extended_reason,
        "validity_extended_by": d.validity_extended_by,
        "validity_extended_at": d.validity_extended_at,
    }
