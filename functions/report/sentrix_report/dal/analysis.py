"""One analysis as the per-analysis report needs it, read through the shared visibility rule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sentrix.http.identity import Principal
from sentrix.repositories.analyses import get_visible
from sentrix_report.dal.sql import one, rows


@dataclass(frozen=True)
class DetectionRow:
    id: uuid.UUID
    class_id: int
    class_name: str
    breeding_site_type: str | None
    confidence: float
    risk_level: str
    mask_area: float | None
    validation_status: str
    validated_at: datetime | None
    expires_at: datetime
    created_at: datetime
    latitude: float | None
    longitude: float | None
    # Pixel coordinates of the mask outline in the analysed image (drawn and numbered in the PDF).
    polygon: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class AnalysisRow:
    id: uuid.UUID
    user_id: uuid.UUID | None
    status: str
    created_at: datetime
    completed_at: datetime | None
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    altitude_m: float | None
    location_source: str
    original_filename: str | None
    standardized_filename: str | None
    width: int | None
    height: int | None
    camera: str | None
    model_name: str | None
    model_version: str | None
    confidence_threshold: float
    risk_level: str | None
    risk_score: float | None
    total_detections: int
    high_risk_count: int
    medium_risk_count: int
    unique_types: int
    processed_image_key: str | None
    detections: tuple[DetectionRow, ...]


# Highest risk first. The enums are StrEnums: their members are the stored strings, so rows carry them as they are.
_RISK_ORDER = {"ALTO": 0, "MEDIO": 1, "BAJO": 2, "MINIMO": 3}


def load(session: Session, analysis_id: str | uuid.UUID, principal: Principal) -> AnalysisRow:
    """The analysis if the caller may see it (404 otherwise), detections highest risk first."""
    analysis = get_visible(session, analysis_id, principal)
    where = one(
        session,
        "SELECT ST_Y(location) AS lat, ST_X(location) AS lon FROM analyses WHERE id = CAST(:id AS uuid)",
        {"id": analysis.id},
    )
    points = {
        row["id"]: (row["lat"], row["lon"])
        for row in rows(
            session,
            "SELECT id, ST_Y(location) AS lat, ST_X(location) AS lon FROM detections "
            "WHERE analysis_id = CAST(:id AS uuid)",
            {"id": analysis.id},
        )
    }
    detections = tuple(
        DetectionRow(
            id=d.id,
            class_id=d.class_id,
            class_name=d.class_name,
            breeding_site_type=d.breeding_site_type,
            confidence=d.confidence,
            risk_level=d.risk_level,
            mask_area=d.mask_area,
            validation_status=d.validation_status,
            validated_at=d.validated_at,
            expires_at=d.expires_at,
            created_at=d.created_at,
            latitude=points[d.id][0],
            longitude=points[d.id][1],
            polygon=tuple((float(p[0]), float(p[1])) for p in (d.polygon or ()) if len(p) >= 2),
        )
        for d in sorted(analysis.detections, key=lambda d: (_RISK_ORDER[d.risk_level], -d.confidence, str(d.id)))
    )
    camera = " ".join(p for p in (analysis.camera_make, analysis.camera_model) if p) or None
    return AnalysisRow(
        id=analysis.id,
        user_id=analysis.user_id,
        status=analysis.status,
        created_at=analysis.created_at,
        completed_at=analysis.completed_at,
        taken_at=analysis.taken_at,
        latitude=where["lat"],
        longitude=where["lon"],
        altitude_m=analysis.altitude_m,
        location_source=analysis.location_source,
        original_filename=analysis.original_filename,
        standardized_filename=analysis.standardized_filename,
        width=analysis.width,
        height=analysis.height,
        camera=camera,
        model_name=analysis.model_name,
        model_version=analysis.model_version,
        confidence_threshold=analysis.confidence_threshold,
        risk_level=analysis.risk_level,
        risk_score=analysis.risk_score,
        total_detections=analysis.total_detections,
        high_risk_count=analysis.high_risk_count,
        medium_risk_count=analysis.medium_risk_count,
        unique_types=analysis.unique_types,
        processed_image_key=analysis.processed_image_key,
        detections=detections,
    )
