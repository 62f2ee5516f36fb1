"""What an expert's verdict changes beyond the detection: its validity and its analysis' current risk.

A rejected detection (`validated_negative`) is not a breeding site: its validity ends at the rejection (the
expiry it would have had is kept in `unrejected_expires_at` and comes back if the verdict is taken back), and
its analysis' current risk is recomputed from the detections that remain, in the same transaction as the
verdict. The model's own assessment stays in the analysis' `model_*` columns for audit.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sentrix.db.models import Analysis, Detection
from sentrix.domain.risk import assess_risk
from sentrix.domain.status import REJECTED, ValidationStatus


def move_expiry(detection: Detection, verdict: ValidationStatus, shift: timedelta, now: datetime) -> None:
    """The detection's expiry under its new verdict: shifted by `shift` (a verdict's validity bonus), ended at
    `now` by a rejection, restored when a rejection is taken back."""
    was_rejected = detection.validation_status is REJECTED
    if verdict is REJECTED and not was_rejected:
        natural = detection.expires_at + shift
        detection.unrejected_expires_at = natural
        detection.expires_at = min(natural, now)
    elif was_rejected and verdict is not REJECTED:
        natural = detection.unrejected_expires_at or detection.expires_at
        detection.expires_at = natural + shift
        detection.unrejected_expires_at = None
    elif verdict is not REJECTED:
        detection.expires_at = detection.expires_at + shift


def refresh_current_risk(session: Session, analysis_id: uuid.UUID) -> None:
    """Recompute the analysis' current risk from its detections that are not rejected.

    The analysis row is locked first: two experts judging two detections of one photo at once are
    serialised here, so the second recomputation reads the first one's committed verdict.
    """
    session.execute(select(Analysis.id).where(Analysis.id == analysis_id).with_for_update())
    names = session.scalars(
        select(Detection.class_name).where(
            Detection.analysis_id == analysis_id, Detection.validation_status != REJECTED
        )
    ).all()
    risk = assess_risk(names)
    session.execute(
        update(Analysis)
        .where(Analysis.id == analysis_id, Analysis.risk_level.is_not(None))
        .values(
            risk_level=risk.level,
            risk_score=risk.score,
            assessed_detections=risk.total,
            high_risk_count=risk.high,
            medium_risk_count=risk.medium,
            unique_types=risk.unique,
            recommendations=list(risk.recommendations),
        )
        .execution_options(synchronize_session=False)
    )
