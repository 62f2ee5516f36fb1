"""Expert verdicts on detections: who and when, validity re-computed (×1.3 when positive), the review queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from sentrix.db.engine import session_scope
from sentrix.db.models import Detection
from sentrix.domain.classes import RiskLevel
from sentrix.domain.status import ValidationStatus
from sentrix.domain.validity import validity_days
from sentrix.errors import SentrixError
from sentrix.http.envelope import item_error
from sentrix.http.identity import Principal
from sentrix.observability import logger
from sentrix.repositories import sites
from sentrix.repositories.detections import get_visible_detection
from sentrix.repositories.verdicts import move_expiry, refresh_current_risk
from sentrix_upload.dal import detections as detections_dal
from sentrix_upload.logic import views
from sentrix_upload.logic.filters import BBox
from sentrix_upload.logic.image_urls import image_url
from sentrix_upload.logic.validity import season_place
from sentrix_upload.schemas.detections import BatchValidateItem


def _site(detection: Detection) -> Any:
    # The breeding-site type when the class is known; the class name (unknown → medium term) otherwise.
    return detection.breeding_site_type or detection.class_name


def revalued_days(detection: Detection, verdict: ValidationStatus) -> int:
    """Validity days after a verdict: the ×1.3 bonus added or taken away, any manual extension kept."""
    was_positive = detection.validation_status is ValidationStatus.VALIDATED_POSITIVE
    is_positive = verdict is ValidationStatus.VALIDATED_POSITIVE
    if was_positive == is_positive:
        return detection.validity_days

    # The season detect used: the analysis point's hemisphere and the local month of its validity start.
    detected_at, latitude = detection.created_at, None
    session = object_session(detection)
    if session is not None:
        latitude, zone, start = season_place(session, detection.analysis_id)
        detected_at = (start or detection.created_at).astimezone(zone)

    def days(positive: bool) -> int:
        return validity_days(
            _site(detection),
            detection.risk_level,
            detection.confidence,
            detected_at=detected_at,
            latitude=latitude,
            validated_positive=positive,
        )

    # The stored days may include an extension granted by an expert: move by the difference only.
    return max(1, detection.validity_days + days(is_positive) - days(was_positive))


def apply_verdict(
    detection: Detection, verdict: ValidationStatus, notes: str | None, principal: Principal, now: datetime
) -> None:
    """Record the verdict on a locked row and move its expiry with the new validity (a rejection ends it)."""
    new_days = revalued_days(detection, verdict)
    # Shift the expiry by the change: whatever moment detect counted from stays the origin.
    move_expiry(detection, verdict, timedelta(days=new_days - detection.validity_days), now)
    detection.validity_days = new_days
    detection.validation_status = verdict
    detection.validation_notes = notes
    detection.validated_by = principal.user_id
    detection.validated_at = now


def judge(
    session: Session,
    detection: Detection,
    verdict: ValidationStatus,
    notes: str | None,
    principal: Principal,
    now: datetime,
) -> None:
    """A verdict and what follows from it in the same transaction: the analysis' current risk, and its site (a
    rejected detection leaves it, a confirmed one confirms it; docs/sites.md)."""
    apply_verdict(detection, verdict, notes, principal, now)
    session.flush()
    refresh_current_risk(session, detection.analysis_id)
    sites.settle(session, [detection.site_id], principal.user_id)


def _analysis_review_state(session: Session, analysis_id: uuid.UUID) -> dict[str, Any]:
    statuses = session.scalars(select(Detection.validation_status).where(Detection.analysis_id == analysis_id))
    return views.validation_summary(statuses)


def validate_detection(
    principal: Principal, raw_id: str, verdict: str, notes: str | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """An expert's verdict on one detection, with the analysis' review state afterwards."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        detection = get_visible_detection(session, raw_id, principal, for_update=True)
        judge(session, detection, ValidationStatus(verdict), notes, principal, now)
        (row,) = detections_dal.detection_rows(session, [detection.id])
        state = _analysis_review_state(session, detection.analysis_id)
    logger.info("detection validated", extra={"detection_id": str(row.id), "verdict": verdict})
    return {"detection": views.detection_view(row, now), "analysis_validation": state}


def batch_validate(
    principal: Principal, items: list[BatchValidateItem], *, language: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Many verdicts, each in its own transaction: a missing detection does not undo the others; an item's error
    in the stated `language`, like the error envelope."""
    now = now or datetime.now(UTC)
    results = []
    for item in items:
        try:
            with session_scope() as session:
                detection = get_visible_detection(session, item.detection_id, principal, for_update=True)
                judge(
                    session, detection, ValidationStatus(item.validation_status), item.validation_notes, principal, now
                )
                results.append(
                    {
                        "detection_id": item.detection_id,
                        "ok": True,
                        "validation_status": detection.validation_status,
                        "expires_at": detection.expires_at,
                    }
                )
        except SentrixError as exc:
            results.append({"detection_id": item.detection_id, "ok": False, "error": item_error(exc, language)})
    validated = sum(1 for r in results if r["ok"])
    return {"total": len(results), "validated": validated, "failed": len(results) - validated, "items": results}


def review_queue(
    *,
    statuses: tuple[ValidationStatus, ...],
    risk_levels: tuple[RiskLevel, ...],
    bbox: BBox | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The experts' work queue: detections without a final verdict, highest risk and oldest first."""
    with session_scope() as session:
        rows, total = detections_dal.review_queue(
            session, statuses=statuses, risk_levels=risk_levels, bbox=bbox, limit=limit, offset=offset
        )
    now = datetime.now(UTC)
    items = []
    for row in rows:
        item = views.detection_view(row, now)
        item.update(
            owner_id=row.owner_id,
            analysis_status=row.analysis_status,
            image_url=image_url(row.image_bucket, row.image_key),
            processed_image_url=image_url(row.image_bucket, row.processed_image_key),
        )
        items.append(item)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "has_next": offset + len(rows) < total}
