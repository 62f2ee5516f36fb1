"""What a user has done: their analyses and the detections they validated."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sentrix.db.models import Analysis, Detection
from sentrix.domain.classes import RiskLevel
from sentrix.domain.status import AnalysisStatus, ValidationStatus


def analysis_counts(session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    """Totals over the user's analyses in one aggregate (served by ix_analyses_user_created)."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Analysis.status == AnalysisStatus.COMPLETED),
            func.count().filter(Analysis.status.in_([AnalysisStatus.QUEUED, AnalysisStatus.PROCESSING])),
            func.count().filter(Analysis.status == AnalysisStatus.FAILED),
            func.coalesce(func.sum(Analysis.total_detections), 0),
            func.count().filter(Analysis.risk_level == RiskLevel.ALTO),
            func.count().filter(Analysis.location.is_not(None)),
            func.max(Analysis.created_at),
        ).where(Analysis.user_id == user_id)
    ).one()
    keys = (
        "total_analyses",
        "completed_analyses",
        "in_progress_analyses",
        "failed_analyses",
        "total_detections",
        "high_risk_analyses",
        "analyses_with_location",
        "last_analysis_at",
    )
    return dict(zip(keys, row, strict=True))


def validation_counts(session: Session, user_id: uuid.UUID) -> dict[str, int]:
    """How many detections the user validated, by outcome."""
    positive = case((Detection.validation_status == ValidationStatus.VALIDATED_POSITIVE, 1), else_=0)
    negative = case((Detection.validation_status == ValidationStatus.VALIDATED_NEGATIVE, 1), else_=0)
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(positive), 0), func.coalesce(func.sum(negative), 0)).where(
            Detection.validated_by == user_id
        )
    ).one()
    return {"validated_detections": row[0], "validated_positive": row[1], "validated_negative": row[2]}


def recent_analyses(session: Session, user_id: uuid.UUID, limit: int) -> list[Analysis]:
    """The user's latest analyses, newest first."""
    return list(
        session.scalars(
            select(Analysis).where(Analysis.user_id == user_id).order_by(Analysis.created_at.desc()).limit(limit)
        )
    )


def recent_validations(session: Session, user_id: uuid.UUID, limit: int) -> list[Detection]:
    """The detections the user gave a verdict on, latest verdict first."""
    return list(
        session.scalars(
            select(Detection)
            .where(Detection.validated_by == user_id, Detection.validated_at.is_not(None))
            .order_by(Detection.validated_at.desc())
            .limit(limit)
        )
    )
