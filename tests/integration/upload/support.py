"""Helpers for the upload tests: callers with real user rows, handler calls, multipart bodies, seeded data."""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.elements import WKTElement

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis, Detection, User, UserSettings
from sentrix.domain.classes import class_info
from sentrix.domain.location import LocationSource
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from sentrix.domain.validity import expires_at, validity_days
from tests.builders import LambdaContext, api_event

BOUNDARY = "sentrix-test-boundary"


@dataclass
class Caller:
    id: uuid.UUID
    role: str
    email: str

    @property
    def authorizer(self) -> dict[str, str]:
        return {"user_id": str(self.id), "role": self.role, "email": self.email}


def make_user(role: str = "user", *, settings: dict[str, Any] | None = None) -> Caller:
    """A real users row (the authorizer's principal must exist) and optional settings."""
    user_id = uuid.uuid4()
    email = f"{role}-{user_id.hex[:8]}@example.org"
    with session_scope() as session:
        session.add(User(id=user_id, email=email, role=role, is_active=True))
        session.flush()
        if settings is not None:
            session.add(UserSettings(user_id=user_id, settings=settings))
    return Caller(user_id, role, email)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any = field(default=None)

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


def call(
    method: str,
    path: str,
    *,
    user: Caller | None = None,
    body: bytes | str | dict | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    resource: str | None = None,
) -> Answer:
    """Invoke the upload handler with an API Gateway proxy event, as the gateway would."""
    from sentrix_upload.api import handler

    event = api_event(
        method,
        path,
        headers=headers,
        query={k: str(v) for k, v in (query or {}).items()},
        body=body,
        authorizer=user.authorizer if user else None,
        resource=resource,
    )
    response = handler(event, LambdaContext("UploadFunction", 29))
    raw = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    headers_out = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    parsed = json.loads(raw) if raw and headers_out.get("content-type", "").startswith("application/json") else raw
    return Answer(response["statusCode"], headers_out, parsed)


def multipart(
    files: list[tuple[str, str, bytes, str]], fields: dict[str, Any] | None = None
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body: files as (field, filename, bytes, content type), then text fields."""
    out = io.BytesIO()
    for name, value in (fields or {}).items():
        out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data, content_type in files:
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    payload = out.getvalue()
    return payload, {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-length": str(len(payload))}


def png_bytes(size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (32, 24)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 20)).save(buffer, format="JPEG")
    return buffer.getvalue()


def seed_analysis(
    owner: Caller,
    *,
    status: AnalysisStatus = AnalysisStatus.COMPLETED,
    created_at: datetime | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    risk_level: str | None = "ALTO",
    classes: tuple[int, ...] = (0,),
    verdicts: tuple[ValidationStatus, ...] | None = None,
    bucket: str | None = None,
    confidence: float = 0.8,
) -> uuid.UUID:
    """A processed analysis with detections, written as the detect function would (no pipeline run).

    The bucket defaults to the session's images bucket (IMAGES_BUCKET, set by the `aws` fixture): sessions that
    share one moto server (scripts/mutate.py) each have a bucket of their own."""
    bucket = bucket or os.environ["IMAGES_BUCKET"]
    created_at = created_at or datetime.now(UTC)
    analysis_id = uuid.uuid4()
    has_point = latitude is not None and longitude is not None
    location = WKTElement(f"POINT({longitude} {latitude})", srid=4326) if has_point else None
    with session_scope() as session:
        analysis = Analysis(
            id=analysis_id,
            user_id=owner.id,
            status=status,
            image_bucket=bucket,
            image_key=f"incoming/{owner.id}/{analysis_id}/photo.jpg",
            processed_image_key=f"processed/{owner.id}/{analysis_id}.jpg"
            if status is AnalysisStatus.COMPLETED
            else None,
            original_filename="photo.jpg",
            content_type="image/jpeg",
            location=location,
            location_source=LocationSource.MANUAL if has_point else LocationSource.NONE,
            risk_level=risk_level if status is AnalysisStatus.COMPLETED else None,
            risk_score=0.9 if status is AnalysisStatus.COMPLETED else None,
            total_detections=len(classes) if status is AnalysisStatus.COMPLETED else 0,
            assessed_detections=len(classes) if status is AnalysisStatus.COMPLETED else 0,
            high_risk_count=sum(1 for c in classes if c in (0, 2)),
            medium_risk_count=sum(1 for c in classes if c in (1, 3)),
            unique_types=len(set(classes)),
            # As the detect function stores it: before any verdict the model's assessment is the current one.
            model_risk_level=risk_level if status is AnalysisStatus.COMPLETED else None,
            model_risk_score=0.9 if status is AnalysisStatus.COMPLETED else None,
            model_high_risk_count=sum(1 for c in classes if c in (0, 2)),
            model_medium_risk_count=sum(1 for c in classes if c in (1, 3)),
            model_unique_types=len(set(classes)),
            created_at=created_at,
            updated_at=created_at,
        )
        session.add(analysis)
        session.flush()
        if status is AnalysisStatus.COMPLETED:
            for index, class_id in enumerate(classes):
                info = class_info(class_id)
                days = validity_days(
                    info.breeding_site_type, info.risk_level, confidence, detected_at=created_at, latitude=latitude
                )
                verdict = verdicts[index] if verdicts else ValidationStatus.PENDING
                session.add(
                    Detection(
                        analysis_id=analysis_id,
                        class_id=class_id,
                        class_name=info.class_name,
                        breeding_site_type=info.breeding_site_type,
                        confidence=confidence,
                        risk_level=info.risk_level,
                        polygon=[[1, 1], [10, 1], [10, 8], [1, 8]],
                        bbox_x_min=1,
                        bbox_y_min=1,
                        bbox_x_max=10,
                        bbox_y_max=8,
                        mask_area=63.0,
                        location=WKTElement(f"POINT({longitude} {latitude})", srid=4326) if has_point else None,
                        validation_status=verdict,
                        persistence_type=info.persistence,
                        is_weather_dependent=info.persistence.value in ("TRANSIENT", "SHORT_TERM"),
                        validity_days=days,
                        expires_at=expires_at(created_at, days),
                        created_at=created_at,
                    )
                )
    return analysis_id


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
