"""Reading detections the caller may see: through their analysis, users their own, experts and admins all."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sentrix.db.models import Analysis, Detection
from sentrix.errors import NotFound
from sentrix.http.identity import Principal
from sentrix.repositories.analyses import parse_id, visible_to


def visible_detections(principal: Principal, statement: Select | None = None) -> Select:
    """Restrict a select over detections to those of analyses `principal` may see."""
    statement = statement if statement is not None else select(Detection)
    if principal.sees_everything:
        return statement
    return statement.where(Detection.analysis_id.in_(visible_to(principal, select(Analysis.id))))


def get_visible_detection(
    session: Session, detection_id: str | uuid.UUID, principal: Principal, *, for_update: bool = False
) -> Detection:
    """The detection if `principal` may see it; another user's detection is 404, never 403."""
    statement = visible_detections(principal).where(Detection.id == parse_id(detection_id, "Detection"))
    if for_update:
        # Two experts validating the same detection at once: the second waits and sees the first's verdict.
        statement = statement.with_for_update(of=Detection)
    detection = session.scalar(statement)
    if detection is None:
        raise NotFound(key="err.detection_not_found")
    return detection
