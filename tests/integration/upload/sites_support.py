"""Helpers of the site tests: reports stored and merged as detect does, positions in metres, site rows."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from sentrix.db.engine import get_engine, session_scope
from sentrix.domain.classes import class_info
from sentrix.repositories import sites
from tests.integration.upload.support import Caller

BASURA, CALLES, CHARCOS, HUECOS = 0, 1, 2, 3
# A base point in Tucumán, and the length of one degree there, worked out by hand from WGS 84:
# meridian: 111132.954 - 559.822 cos(2φ) + 1.175 cos(4φ) at φ = 26.8° = 111132.954 - 332.19 - 0.35 = 110800.4 m
# parallel: 111412.84 cos φ - 93.5 cos(3φ) at φ = 26.8° = 99445.5 - 15.6 = 99429.9 m
BASE_LAT, BASE_LON = -26.8, -65.22
M_PER_DEG_LAT = 110_800.4
M_PER_DEG_LON = 99_429.9


def north(metres: float, lat: float = BASE_LAT) -> float:
    return lat + metres / M_PER_DEG_LAT


def east(metres: float, lon: float = BASE_LON) -> float:
    return lon + metres / M_PER_DEG_LON


def insert_report(
    session: Session,
    owner: Caller,
    latitude: float,
    longitude: float,
    classes: tuple[int, ...],
    created_at: datetime | None = None,
) -> tuple[uuid.UUID, list[tuple[uuid.UUID, Any]]]:
    """A completed analysis and its detections at one point, as detect's final transaction writes them."""
    analysis_id = uuid.uuid4()
    created_at = created_at or datetime.now(UTC)
    session.execute(
        text(
            "INSERT INTO analyses (id, user_id, status, image_bucket, image_key, processed_image_key, location, "
            "location_source, risk_level, created_at, completed_at) VALUES (:id, :user, 'completed', "
            ":bucket, :key, :processed, "
            "ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326), 'MANUAL', 'ALTO', :at, :at)"
        ),
        {
            "id": analysis_id,
            "user": owner.id,
            "bucket": os.environ["IMAGES_BUCKET"],  # this session's bucket (the `aws` fixture)
            "key": f"incoming/{owner.id}/{analysis_id}/photo.jpg",
            "processed": f"processed/{owner.id}/{analysis_id}.jpg",
            "lat": latitude,
            "lon": longitude,
            "at": created_at,
        },
    )
    detections = []
    for class_id in classes:
        info = class_info(class_id)
        detection_id = uuid.uuid4()
        session.execute(
            text(
                "INSERT INTO detections (id, analysis_id, class_id, class_name, breeding_site_type, confidence, "
                "risk_level, polygon, bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, location, persistence_type, "
                "validity_days, expires_at, created_at) VALUES (:id, :analysis, :class_id, :name, "
                "CAST(:type AS breeding_site_type), 0.8, CAST(:risk AS risk_level), '[[1,1],[2,1],[2,2]]', 1, 1, 2, "
                "2, ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326), "
                "CAST(:persistence AS persistence_type), 30, CAST(:at AS timestamptz) + interval '30 days', :at)"
            ),
            {
                "id": detection_id,
                "analysis": analysis_id,
                "class_id": class_id,
                "name": info.class_name,
                "type": info.breeding_site_type.value if info.breeding_site_type else None,
                "risk": info.risk_level.value,
                "persistence": info.persistence.value,
                "lat": latitude,
                "lon": longitude,
                "at": created_at,
            },
        )
        detections.append((detection_id, info.breeding_site_type))
    return analysis_id, detections


def report(
    owner: Caller,
    latitude: float,
    longitude: float,
    classes: tuple[int, ...] = (CHARCOS,),
    *,
    created_at: datetime | None = None,
    rules: sites.MergeRules | None = None,
) -> uuid.UUID:
    """Store a report and merge it in one transaction, as detect does; the analysis id."""
    with session_scope() as session:
        analysis_id, detections = insert_report(session, owner, latitude, longitude, classes, created_at)
        sites.join_or_create(session, detections, latitude, longitude, rules=rules)
    return analysis_id


def sql(statement: str, **params: Any) -> list[Any]:
    with session_scope() as session:
        result = session.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def sites_of(analysis_id: uuid.UUID) -> list[uuid.UUID]:
    """The sites of an analysis' detections, in the order of its detections' classes."""
    return [
        row.site_id
        for row in sql("SELECT site_id FROM detections WHERE analysis_id = :a ORDER BY class_id", a=analysis_id)
    ]


def site(site_id: uuid.UUID) -> Any:
    return sql("SELECT s.*, ST_Y(location) AS lat, ST_X(location) AS lon FROM sites s WHERE id = :id", id=site_id)[0]


def site_count() -> int:
    return sql("SELECT count(*) FROM sites")[0][0]


def timeline(site_id: uuid.UUID) -> list[tuple[str, str | None, str | None, str]]:
    """(action, cause, from, to) of the site's timeline, oldest first."""
    return [
        tuple(row)
        for row in sql(
            "SELECT action::text, cause, from_status::text, to_status::text FROM site_actions WHERE site_id = :id "
            "ORDER BY at, id",
            id=site_id,
        )
    ]


def detection_ids(analysis_id: uuid.UUID) -> list[uuid.UUID]:
    return [r.id for r in sql("SELECT id FROM detections WHERE analysis_id = :a ORDER BY class_id", a=analysis_id)]


def lock_waits() -> list[str]:
    """What the other backends of this database are waiting for, if they wait for a lock."""
    with get_engine().connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT wait_event FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
