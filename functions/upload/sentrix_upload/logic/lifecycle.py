"""Deleting an analysis (rows and objects) and retrying a failed one (back on the detect queue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from sentrix.adapters.queue import SqsWorkQueue, WorkQueue
from sentrix.adapters.storage import ImageStore, S3ImageStore
from sentrix.config import get_settings
from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis, Detection
from sentrix.domain.roles import Role
from sentrix.domain.status import AnalysisStatus
from sentrix.errors import Conflict, Forbidden, NotFound
from sentrix.http.identity import Principal
from sentrix.observability import logger
from sentrix.repositories import sites
from sentrix.repositories.analyses import parse_id, visible_to
from sentrix_upload.logic import image_urls

RETRY_EVENT_NAME = "ObjectCreated:Retry"


def _owned_for_change(session: Session, principal: Principal, raw_id: str, action: str) -> Analysis:
    """The analysis, locked, if the caller owns it or is an admin; unseen is 404, seen but not theirs 403."""
    statement = visible_to(principal).where(Analysis.id == parse_id(raw_id)).with_for_update()
    analysis = session.scalar(statement)
    if analysis is None:
        raise NotFound(key="err.analysis_not_found")
    if analysis.user_id != principal.user_id and principal.role is not Role.ADMIN:
        raise Forbidden(key=f"err.analysis_{action}_forbidden")
    return analysis


def _unshared(session: Session, analysis: Analysis) -> list[str]:
    """Object keys of this analysis that no other analysis points at (a duplicate may share an image)."""
    keys = [k for k in (analysis.image_key, analysis.processed_image_key) if k]
    others = session.execute(
        select(Analysis.image_key, Analysis.processed_image_key).where(
            Analysis.id != analysis.id,
            Analysis.image_bucket == analysis.image_bucket,
            or_(Analysis.image_key.in_(keys), Analysis.processed_image_key.in_(keys)),
        )
    ).all()
    shared = {key for row in others for key in row if key}
    return [k for k in keys if k not in shared]


def delete_analysis(principal: Principal, raw_id: str, *, store: ImageStore | None = None) -> None:
    """Remove the analysis, its detections (cascade) and its objects; all or nothing as far as S3 allows."""
    with session_scope() as session:
        analysis = _owned_for_change(session, principal, raw_id, "delete")
        bucket, analysis_id = analysis.image_bucket, analysis.id
        keys = _unshared(session, analysis)
        site_ids = list(
            session.scalars(select(Detection.site_id).where(Detection.analysis_id == analysis_id).distinct())
        )
        session.execute(delete(Analysis).where(Analysis.id == analysis_id))
        # Its detections leave their sites with it (a site left without members is dismissed).
        sites.settle(session, site_ids, principal.user_id)
        # Objects go before the commit: if S3 refuses, the rows stay and the client can try again.
        (store or S3ImageStore(bucket)).delete(keys)
    image_urls.forget(bucket, keys)
    logger.info("analysis deleted", extra={"analysis_id": str(analysis_id), "objects": len(keys)})


def retry_message(bucket: str, key: str, size: int, etag: str | None, now: datetime) -> dict[str, Any]:
    """An S3 ObjectCreated notification as the bucket would send it, so detect needs no second path."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": get_settings().aws_region,
                "eventTime": now.isoformat().replace("+00:00", "Z"),
                "eventName": RETRY_EVENT_NAME,
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    # S3 URL-encodes keys in notifications ('+' for spaces); detect decodes them.
                    "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag or ""},
                },
            }
        ]
    }


def retry_analysis(
    principal: Principal,
    raw_id: str,
    *,
    store: ImageStore | None = None,
    queue: WorkQueue | None = None,
) -> tuple[uuid.UUID, AnalysisStatus]:
    """`failed` → `queued`, and the object announced to detect again; only failed analyses qualify."""
    with session_scope() as session:
        analysis = _owned_for_change(session, principal, raw_id, "retry")
        if analysis.status is not AnalysisStatus.FAILED:
            status = analysis.status.value
            raise Conflict(key="err.retry_not_failed", details={"status": status}, status=status)
        store = store or S3ImageStore(analysis.image_bucket)
        try:
            stored = store.head(analysis.image_key)
        except NotFound as exc:
            raise Conflict(key="err.retry_image_gone") from exc
        analysis.status = AnalysisStatus.QUEUED
        analysis.failure_reason = None
        session.flush()
        # Sent inside the transaction: if the queue is down the status stays `failed` (503, try again).
        message = retry_message(analysis.image_bucket, analysis.image_key, stored.size, stored.etag, datetime.now(UTC))
        (queue or SqsWorkQueue()).send(message)
        analysis_id = analysis.id
    logger.info("analysis re-enqueued", extra={"analysis_id": str(analysis_id)})
    return analysis_id, AnalysisStatus.QUEUED
