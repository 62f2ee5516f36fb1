"""The pipeline's database writes: guarded state transitions and the one final transaction.

Every transition is an UPDATE … WHERE status IN (…) RETURNING, so two workers holding the same message can
never both win; every write after the claim is also fenced by `attempts`, so a worker whose claim was taken
over (it ran past the claim TTL) cannot overwrite the newer attempt's work.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, and_, case, cast, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import BIT

from sentrix.db.engine import transaction_scope
from sentrix.db.tables import analyses, detections, user_settings
from sentrix.domain.sites import family_of
from sentrix.domain.status import AnalysisStatus
from sentrix.repositories import sites, territories
from sentrix_detect.logic.model import (
    GAVE_UP_PREFIX,
    AnalysisResult,
    Claim,
    ClaimedAnalysis,
    ClaimOutcome,
    DetectionRecord,
    ImageFacts,
)

A = analyses
D = detections
S = user_settings
MAX_REASON = 1000
_FINAL = (AnalysisStatus.COMPLETED, AnalysisStatus.DUPLICATE, AnalysisStatus.FAILED)


class AnalysisStore(Protocol):
    def claim(self, bucket: str, key: str, *, etag: str | None, size: int | None, claim_ttl_s: int,
              allow_gave_up: bool, original_key: str | None = None) -> Claim: ...  # fmt: skip
    def secure(self, analysis: ClaimedAnalysis, original_key: str, *, sha256: str, size: int) -> bool: ...
    def find_duplicate(self, analysis: ClaimedAnalysis, sha256: str, perceptual_hash: int | None,
                       max_distance: int) -> uuid.UUID | None: ...  # fmt: skip
    def complete(self, analysis: ClaimedAnalysis, result: AnalysisResult) -> bool: ...
    def mark_duplicate(self, analysis: ClaimedAnalysis, facts: ImageFacts, original_id: uuid.UUID,
                       pipeline_time_ms: int) -> bool: ...  # fmt: skip
    def fail(self, analysis: ClaimedAnalysis, reason: str) -> bool: ...
    def requeue(self, analysis: ClaimedAnalysis, reason: str) -> bool: ...
    def postpone(self, analysis: ClaimedAnalysis, reason: str) -> bool: ...


def _point(latitude: float, longitude: float) -> Any:
    # Longitude first: POINT(x y) is POINT(lon lat). Floats are bound as float8, so nothing is rounded.
    return func.ST_SetSRID(func.ST_MakePoint(float(longitude), float(latitude)), 4326)


def _facts(facts: ImageFacts) -> dict[str, Any]:
    point = facts.location.point
    evidence = facts.evidence
    exif_point = evidence.exif_point
    start = facts.validity_start
    return {
        "content_type": facts.content_type,
        "image_format": facts.image_format,
        "size_bytes": facts.size_bytes,
        "width": facts.width,
        "height": facts.height,
        "sha256": facts.sha256,
        "perceptual_hash": facts.perceptual_hash,
        "camera_make": facts.camera_make,
        "camera_model": facts.camera_model,
        "taken_at": facts.taken_at,
        "location": _point(point.latitude, point.longitude) if point else None,
        "location_source": facts.location.source,
        "altitude_m": point.altitude_m if point else None,
        "exif_location": _point(exif_point.latitude, exif_point.longitude) if exif_point else None,
        "location_discrepancy_m": evidence.discrepancy_m,
        "location_flagged": evidence.flagged,
        "validity_basis": start.basis if start else None,
        "validity_from": start.moment if start else None,
        "validity_basis_reason": start.reason if start else None,
        "local_time_zone": facts.time_zone,
    }


def _detection_row(analysis_id: uuid.UUID, record: DetectionRecord) -> dict[str, Any]:
    x_min, y_min, x_max, y_max = record.bbox
    return {
        "id": uuid.uuid4(),
        "analysis_id": analysis_id,
        "class_id": record.class_id,
        "class_name": record.class_name,
        "breeding_site_type": record.breeding_site_type,
        "confidence": record.confidence,
        "risk_level": record.risk_level,
        "polygon": record.polygon,
        "bbox_x_min": x_min,
        "bbox_y_min": y_min,
        "bbox_x_max": x_max,
        "bbox_y_max": y_max,
        "mask_area": record.mask_area,
        # WKT, SRID 0 (pixels): GeoAlchemy2 binds it through ST_GeomFromEWKT.
        "shape": record.shape_wkt,
        "mask_area_model_px": record.mask_area_model_px,
        "persistence_type": record.persistence_type,
        "is_weather_dependent": record.is_weather_dependent,
        "validity_days": record.validity_days,
        "expires_at": record.expires_at,
    }


class SqlAnalysisStore:
    """PostgreSQL implementation; every database outage surfaces as DependencyUnavailable."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine  # None: the function's engine (sentrix.db.engine.get_engine)

    def _transaction(self):
        # Core only, no ORM session (its import is ~90 ms of detect's cold start and nothing here loads objects);
        # transaction_scope turns connection loss (including pg8000's bare socket errors) into
        # DependencyUnavailable.
        return transaction_scope(self.engine)

    def claim(
        self,
        bucket: str,
        key: str,
        *,
        etag: str | None,
        size: int | None,
        claim_ttl_s: int,
        allow_gave_up: bool,
        original_key: str | None = None,
    ) -> Claim:
        """Move the object's analysis to `processing` if nobody else may be working on it.

        The analysis is found by its upload key or, once detect has secured the upload, by `original_key`
        (where the upload went): a redelivered upload notification still finds its queued analysis.
        """
        stale = func.now() - timedelta(seconds=claim_ttl_s)
        claimable = [
            A.c.status.in_([AnalysisStatus.PENDING_UPLOAD, AnalysisStatus.QUEUED]),
            and_(
                A.c.status == AnalysisStatus.PROCESSING,
                or_(A.c.processing_started_at.is_(None), A.c.processing_started_at < stale),
            ),
        ]
        if allow_gave_up:
            claimable.append(and_(A.c.status == AnalysisStatus.FAILED, A.c.failure_reason.startswith(GAVE_UP_PREFIX)))
        values: dict[str, Any] = {
            "status": AnalysisStatus.PROCESSING,
            "attempts": A.c.attempts + 1,
            "processing_started_at": func.now(),
            "failure_reason": None,
        }
        # ETag and size describe the upload; once the original is secured they stay those of what was received.
        not_secured = A.c.image_key == key
        if etag:
            values["image_etag"] = case((not_secured, etag), else_=A.c.image_etag)
        if size is not None:
            values["size_bytes"] = case((not_secured, size), else_=A.c.size_bytes)
        keys = [key] if original_key is None else [key, original_key]
        object_is = and_(A.c.image_bucket == bucket, A.c.image_key.in_(keys))
        with self._transaction() as session:
            row = session.execute(
                update(A)
                .where(object_is, or_(*claimable))
                .values(values)
                .returning(
                    A.c.id,
                    A.c.user_id,
                    A.c.attempts,
                    A.c.confidence_threshold,
                    A.c.include_gps,
                    A.c.manual_latitude,
                    A.c.manual_longitude,
                    A.c.original_filename,
                    A.c.created_at,
                    A.c.image_key,
                    A.c.sha256,
                    A.c.size_bytes,
                    A.c.backpressure_delays,
                )
            ).first()
            if row is None:
                found = session.execute(select(A.c.status, A.c.image_key, A.c.failure_reason).where(object_is)).first()
                if found is None:
                    return Claim(ClaimOutcome.UNKNOWN)
                outcome = ClaimOutcome.FINISHED if found.status in _FINAL else ClaimOutcome.BUSY
                gave_up = found.status == AnalysisStatus.FAILED and (found.failure_reason or "").startswith(
                    GAVE_UP_PREFIX
                )
                return Claim(outcome, status=str(found.status), image_key=found.image_key, gave_up=gave_up)
            language = time_zone = None
            if row.user_id is not None:
                preferences = session.execute(
                    select(S.c.settings["language"].astext, S.c.settings["timezone"].astext).where(
                        S.c.user_id == row.user_id
                    )
                ).first()
                if preferences is not None:
                    language, time_zone = preferences
        secured = original_key is not None and row.image_key == original_key
        return Claim(
            ClaimOutcome.CLAIMED,
            ClaimedAnalysis(
                id=row.id,
                user_id=row.user_id,
                bucket=bucket,
                key=row.image_key,
                attempt=row.attempts,
                confidence_threshold=row.confidence_threshold,
                include_gps=row.include_gps,
                manual_latitude=row.manual_latitude,
                manual_longitude=row.manual_longitude,
                original_filename=row.original_filename,
                created_at=row.created_at,
                language=language or "es",
                time_zone=time_zone,
                received_sha256=row.sha256 if secured else None,
                received_size=row.size_bytes if secured else None,
                backpressure_delays=row.backpressure_delays,
            ),
        )

    def secure(self, analysis: ClaimedAnalysis, original_key: str, *, sha256: str, size: int) -> bool:
        """Point the analysis at its secured original (and the hash of what was received); fenced like the rest."""
        with self._transaction() as session:
            return (
                session.execute(
                    update(A)
                    .where(self._owned(analysis))
                    .values(image_key=original_key, sha256=sha256, size_bytes=size)
                    .returning(A.c.id)
                ).first()
                is not None
            )

    def find_duplicate(
        self, analysis: ClaimedAnalysis, sha256: str, perceptual_hash: int | None, max_distance: int
    ) -> uuid.UUID | None:
        """The user's earliest completed analysis of the same photo: same bytes, or a dHash within the distance."""
        if analysis.user_id is None:
            return None
        same = [A.c.sha256 == sha256]
        if perceptual_hash is not None:
            distance = func.bit_count(cast(A.c.perceptual_hash.op("#")(perceptual_hash), BIT(64)))
            same.append(distance <= max_distance)
        with self._transaction() as session:
            return session.scalar(
                select(A.c.id)
                .where(
                    A.c.user_id == analysis.user_id,
                    A.c.id != analysis.id,
                    A.c.status == AnalysisStatus.COMPLETED,
                    or_(*same),
                )
                .order_by((A.c.sha256 == sha256).desc(), A.c.created_at)
                .limit(1)
            )

    def _owned(self, analysis: ClaimedAnalysis) -> Any:
        return and_(A.c.id == analysis.id, A.c.status == AnalysisStatus.PROCESSING, A.c.attempts == analysis.attempt)

    def complete(self, analysis: ClaimedAnalysis, result: AnalysisResult) -> bool:
        """Analysis and detections in ONE transaction; False when this attempt no longer owns the analysis."""
        risk = result.risk
        point = result.facts.location.point
        rows = [_detection_row(analysis.id, record) for record in result.detections]
        # Each detection is stored on its site (docs/sites.md, *Merging*), chosen before the insert so no row is
        # written twice, by a subquery riding on the analysis UPDATE (run only if this attempt still owns it).
        placing = (
            sites.place_subquery(
                [r["breeding_site_type"] for r in rows],
                point.latitude,
                point.longitude,
                reporter=analysis.user_id,
            )
            if point is not None and rows
            else None
        )
        with self._transaction() as session:
            won = session.execute(
                update(A)
                .where(self._owned(analysis))
                .values(
                    **_facts(result.facts),
                    status=AnalysisStatus.COMPLETED,
                    failure_reason=None,
                    processed_image_key=result.processed_image_key,
                    standardized_filename=result.standardized_filename,
                    model_name=result.model_name[:200],
                    yolo_time_ms=result.yolo_time_ms,
                    pipeline_time_ms=result.pipeline_time_ms,
                    risk_level=risk.level,
                    risk_score=risk.score,
                    total_detections=len(result.detections),
                    assessed_detections=len(result.detections),
                    high_risk_count=risk.high,
                    medium_risk_count=risk.medium,
                    unique_types=risk.unique,
                    recommendations=list(risk.recommendations),
                    # No verdict yet: the current assessment is the model's, kept apart for audit.
                    model_risk_level=risk.level,
                    model_risk_score=risk.score,
                    model_high_risk_count=risk.high,
                    model_medium_risk_count=risk.medium,
                    model_unique_types=risk.unique,
                    duplicate_of=None,
                    completed_at=result.completed_at,
                )
                .returning(A.c.id, placing if placing is not None else literal(None).label("placed"))
            ).first()
            if won is None:
                return False
            placed = sites.placed_sites(won[1] if placing is not None else None)
            if result.detections:
                statement = insert(D)
                if point is not None:
                    statement = statement.values(location=_point(point.latitude, point.longitude))
                for row in rows:
                    row["site_id"] = placed.get(family_of(row["breeding_site_type"]))
                session.execute(statement, rows)
            if point is not None:
                # The analysis gets its smallest territory (docs/territories.md); the sites its detections joined or
                # started were written whole by the placing (their figures, point and territory).
                territories.tag(session, analysis.id)
        return True

    def mark_duplicate(
        self, analysis: ClaimedAnalysis, facts: ImageFacts, original_id: uuid.UUID, pipeline_time_ms: int
    ) -> bool:
        with self._transaction() as session:
            return (
                session.execute(
                    update(A)
                    .where(self._owned(analysis))
                    .values(
                        **_facts(facts),
                        status=AnalysisStatus.DUPLICATE,
                        duplicate_of=original_id,
                        failure_reason=None,
                        pipeline_time_ms=pipeline_time_ms,
                        completed_at=func.now(),
                    )
                    .returning(A.c.id)
                ).first()
                is not None
            )

    def _finish(self, analysis: ClaimedAnalysis, status: AnalysisStatus, reason: str, **more: Any) -> bool:
        with self._transaction() as session:
            return (
                session.execute(
                    update(A)
                    .where(self._owned(analysis))
                    .values(status=status, failure_reason=reason[:MAX_REASON], **more)
                    .returning(A.c.id)
                ).first()
                is not None
            )

    def fail(self, analysis: ClaimedAnalysis, reason: str) -> bool:
        """processing → failed with a human-readable reason (final)."""
        return self._finish(analysis, AnalysisStatus.FAILED, reason)

    def requeue(self, analysis: ClaimedAnalysis, reason: str) -> bool:
        """processing → queued, keeping why, for SQS to deliver the message again."""
        return self._finish(analysis, AnalysisStatus.QUEUED, reason)

    def postpone(self, analysis: ClaimedAnalysis, reason: str) -> bool:
        """processing → queued because YOLO is busy: this claim is not a failure (backpressure_delays + 1)."""
        return self._finish(analysis, AnalysisStatus.QUEUED, reason, backpressure_delays=A.c.backpressure_delays + 1)
