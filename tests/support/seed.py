"""Seed PostGIS with analyses and detections whose answers are known: the ORM for a few rows, SQL for many.

Every helper writes what the detect function would write for a finished analysis (status, counts, risk,
locations on the analysis and on each detection, validity), so read-side code sees realistic rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from sentrix.db.models import Analysis, Base, Detection, User
from sentrix.domain.classes import RiskLevel, class_info
from sentrix.domain.location import LocationSource
from sentrix.domain.risk import assess_risk
from sentrix.domain.roles import Role
from sentrix.domain.status import AnalysisStatus, ValidationStatus
from sentrix.domain.validity import validity_days as compute_validity_days


def utc_now() -> datetime:
    """Now, to the microsecond PostgreSQL keeps."""
    return datetime.now(UTC)


def point(latitude: float | None, longitude: float | None):
    """EWKT for a point (lon/lat order, SRID 4326), or None."""
    if latitude is None or longitude is None:
        return None
    return f"SRID=4326;POINT({longitude!r} {latitude!r})"


def make_user(session: Session, role: Role | str = Role.USER, email: str | None = None, **fields) -> User:
    """A user row (no password: these tests read data, they never log in)."""
    user = User(email=email or f"{uuid.uuid4().hex[:10]}@example.org", role=Role(role), **fields)
    session.add(user)
    session.flush()
    return user


_truncations = 0


def truncate_all() -> None:
    """Empty every application table (the schema stays): the `clean_db` fixture, and module-scoped worlds.

    As the owner: the application role may not TRUNCATE."""
    global _truncations
    from tests.support.admin import admin_engine

    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with admin_engine().begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    _truncations += 1


def truncations() -> int:
    """How many times truncate_all has run in this process: rows seeded before a change are gone."""
    return _truncations


@dataclass
class D:
    """One detection to seed; unset times follow the analysis, validity follows the domain rule."""

    class_id: int
    confidence: float = 0.8
    created_at: datetime | None = None
    expires_at: datetime | None = None
    validation_status: ValidationStatus | str = ValidationStatus.PENDING
    validated_by: uuid.UUID | None = None
    validated_at: datetime | None = None
    mask_area: float | None = 1200.0
    risk_level: RiskLevel | str | None = None  # default: the class's risk
    latitude: float | None = None
    longitude: float | None = None
    extra: dict = field(default_factory=dict)


def make_analysis(
    session: Session,
    *,
    user: User | uuid.UUID | None,
    latitude: float | None = None,
    longitude: float | None = None,
    detections: Sequence[D | int] = (),
    created_at: datetime | None = None,
    status: AnalysisStatus | str = AnalysisStatus.COMPLETED,
    risk_level: RiskLevel | str | None = None,
    risk_score: float | None = None,
    processed_image_key: str | None = None,
    location_source: LocationSource | str | None = None,
    **fields,
) -> Analysis:
    """An analysis with its detections; risk and counts come from the domain rule unless given."""
    user_id = user.id if isinstance(user, User) else user
    created_at = created_at or utc_now()
    items = [d if isinstance(d, D) else D(d) for d in detections]
    infos = [class_info(d.class_id) for d in items]
    assessment = assess_risk([i.class_name for i in infos])
    located = latitude is not None and longitude is not None
    analysis_id = fields.pop("id", None) or uuid.uuid4()
    completed = AnalysisStatus(status) is AnalysisStatus.COMPLETED
    analysis = Analysis(
        id=analysis_id,
        user_id=user_id,
        status=AnalysisStatus(status),
        image_bucket="seed-bucket",
        image_key=f"incoming/{user_id}/{analysis_id}/photo.jpg",
        processed_image_key=processed_image_key,
        original_filename=fields.pop("original_filename", "photo.jpg"),
        location=point(latitude, longitude),
        location_source=LocationSource(location_source or ("MANUAL" if located else "NONE")),
        created_at=created_at,
        updated_at=created_at,
        completed_at=created_at if completed else None,
        risk_level=RiskLevel(risk_level) if risk_level else (assessment.level if completed else None),
        risk_score=risk_score if risk_score is not None else (assessment.score if completed else None),
        total_detections=len(items),
        assessed_detections=len(items),
        high_risk_count=assessment.high,
        medium_risk_count=assessment.medium,
        unique_types=assessment.unique,
        # As the detect function stores it: before any verdict the model's assessment is the current one.
        model_risk_level=RiskLevel(risk_level) if risk_level else (assessment.level if completed else None),
        model_risk_score=risk_score if risk_score is not None else (assessment.score if completed else None),
        model_high_risk_count=assessment.high,
        model_medium_risk_count=assessment.medium,
        model_unique_types=assessment.unique,
        recommendations=list(assessment.recommendations) if completed else None,
        model_name=fields.pop("model_name", "yolo-standin"),
        confidence_threshold=fields.pop("confidence_threshold", 0.5),
        **fields,
    )
    session.add(analysis)
    session.flush()
    for item, info in zip(items, infos, strict=True):
        detected = item.created_at or created_at
        lat = item.latitude if item.latitude is not None else latitude
        lon = item.longitude if item.longitude is not None else longitude
        # As detect does: the season of the point's hemisphere (none without a point).
        days = compute_validity_days(
            info.class_name, info.risk_level, item.confidence, detected_at=detected, latitude=latitude
        )
        extra = dict(item.extra)
        polygon = extra.pop("polygon", [[10, 10], [60, 10], [60, 50], [10, 50]])
        session.add(
            Detection(
                analysis_id=analysis.id,
                class_id=info.class_id,
                class_name=info.class_name,
                breeding_site_type=info.breeding_site_type,
                confidence=item.confidence,
                risk_level=RiskLevel(item.risk_level) if item.risk_level else info.risk_level,
                polygon=polygon,
                bbox_x_min=min(x for x, _ in polygon),
                bbox_y_min=min(y for _, y in polygon),
                bbox_x_max=max(x for x, _ in polygon),
                bbox_y_max=max(y for _, y in polygon),
                mask_area=item.mask_area,
                location=point(lat, lon),
                validation_status=ValidationStatus(item.validation_status),
                validated_by=item.validated_by,
                validated_at=item.validated_at,
                persistence_type=info.persistence,
                validity_days=days,
                expires_at=item.expires_at or detected + timedelta(days=days),
                created_at=detected,
                **extra,
            )
        )
    session.flush()
    return analysis


def merge_sites(session: Session, analysis: Analysis, latitude: float, longitude: float) -> list[uuid.UUID]:
    """Put a seeded analysis' detections on their sites, as detect's final transaction does (docs/sites.md)."""
    from sentrix.repositories import sites

    detections = [(d.id, d.breeding_site_type) for d in analysis.detections]
    return sites.join_or_create(session, detections, latitude, longitude)


CITY_CENTRE = (-26.8083, -65.2176)  # San Miguel de Tucumán (lat, lon)
CITY_HALF_DEG = 0.06  # the city square is about 13 km across
PROVINCE_HALF_DEG = 1.0
HOTSPOTS = 40


def seed_city(
    session: Session,
    *,
    detections: int,
    per_analysis: int = 4,
    users: int = 200,
    days: int = 365,
    seed: float = 0.42,
) -> int:
    """A city-scale data set in four SQL statements (generate_series), deterministic for `seed`.

    (mod() rather than `%`: pg8000's paramstyle reserves the percent sign.)

    Analyses: 18% in 40 Gaussian hotspots (sigma about 80 m) inside the city, 42% uniform over the city,
    35% uniform over the province, 5% without a location; created uniformly over the last `days` days;
    1 in 37 failed (not counted). Each has `per_analysis` detections at its location, classes 0-3 in turn,
    valid for the class's base days (so many have expired). Returns the number of analyses.
    """
    n_analyses = max(1, detections // per_analysis)
    session.execute(text("SELECT setseed(:seed)"), {"seed": seed})
    session.execute(
        text(
            """
            INSERT INTO users (id, email, role)
            SELECT gen_random_uuid(), 'bench-' || g || '@example.org',
                   CAST(CASE WHEN g <= 5 THEN 'expert' ELSE 'user' END AS user_role)
            FROM generate_series(1, :users) AS g
            """
        ),
        {"users": users},
    )
    session.execute(
        text(
            """
            INSERT INTO analyses (id, user_id, status, image_bucket, image_key, location, location_source,
                                  created_at, updated_at, completed_at, risk_level, risk_score,
                                  total_detections, high_risk_count, medium_risk_count, unique_types,
                                  confidence_threshold, model_name)
            SELECT gen_random_uuid(), u.ids[1 + mod(g, cardinality(u.ids))],
                   CAST(CASE WHEN mod(g, 37) = 0 THEN 'failed' ELSE 'completed' END AS analysis_status),
                   'seed-bucket', 'bulk/' || g,
                   CASE WHEN p.kind = 3 THEN NULL ELSE ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) END,
                   CAST(CASE WHEN p.kind = 3 THEN 'NONE' ELSE 'EXIF_GPS' END AS location_source),
                   p.t, p.t, p.t, CAST((ARRAY['ALTO', 'MEDIO', 'BAJO', 'MINIMO'])[1 + mod(g, 4)] AS risk_level),
                   0.5, :per, 2, 2, least(:per, 4), 0.5, 'bulk'
            FROM generate_series(1, :n) AS g
            CROSS JOIN (SELECT array_agg(id ORDER BY email) AS ids FROM users) AS u
            CROSS JOIN LATERAL (
                SELECT r, kind, t,
                       CASE kind WHEN 0 THEN hy + sqrt(-2 * ln(u1)) * cos(2 * pi() * u2) * 0.00072
                                 WHEN 1 THEN :clat + (random() - 0.5) * 2 * :city
                                 ELSE :clat + (random() - 0.5) * 2 * :province END AS lat,
                       CASE kind WHEN 0 THEN hx + sqrt(-2 * ln(u1)) * sin(2 * pi() * u2) * 0.00081
                                 WHEN 1 THEN :clon + (random() - 0.5) * 2 * :city
                                 ELSE :clon + (random() - 0.5) * 2 * :province END AS lon
                FROM (
                    SELECT r, CASE WHEN r < 0.18 THEN 0 WHEN r < 0.60 THEN 1 WHEN r < 0.95 THEN 2 ELSE 3 END AS kind,
                           1 - random() AS u1, random() AS u2,
                           CAST(:now AS timestamptz) - random() * make_interval(days => :days) AS t,
                           :clat + (mod(mod(g, :hotspots) * 7919, 100) / 100.0 - 0.5) * 1.6 * :city AS hy,
                           :clon + (mod(mod(g, :hotspots) * 104729, 100) / 100.0 - 0.5) * 1.6 * :city AS hx
                    FROM (SELECT random() AS r) AS roll
                ) AS drawn
            ) AS p
            """
        ),
        {
            "per": per_analysis,
            "n": n_analyses,
            "clat": CITY_CENTRE[0],
            "clon": CITY_CENTRE[1],
            "city": CITY_HALF_DEG,
            "province": PROVINCE_HALF_DEG,
            "hotspots": HOTSPOTS,
            "now": utc_now(),
            "days": days,
        },
    )
    session.execute(
        text(
            """
            INSERT INTO detections (id, analysis_id, class_id, class_name, breeding_site_type, confidence,
                                    risk_level, polygon, bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max,
                                    mask_area, location, validation_status, persistence_type, validity_days,
                                    expires_at, created_at)
            SELECT gen_random_uuid(), a.id, c.class_id, c.class_name, CAST(c.class_name AS breeding_site_type),
                   0.5 + random() * 0.5, CAST(c.risk AS risk_level), '[[0,0],[10,0],[10,10]]'::jsonb,
                   0, 0, 10, 10, 100 + random() * 900, a.location,
                   CAST((ARRAY['pending', 'validated_positive', 'validated_negative', 'requires_review'])
                        [1 + mod(a.i + k, 4)] AS validation_status),
                   CAST(c.persistence AS persistence_type), c.days,
                   a.created_at + make_interval(days => c.days), a.created_at
            FROM (SELECT id, location, created_at, row_number() OVER (ORDER BY image_key) AS i
                  FROM analyses WHERE model_name = 'bulk') AS a
            CROSS JOIN generate_series(0, :per - 1) AS k
            JOIN (VALUES (0, 'Basura', 'ALTO', 'SHORT_TERM', 7),
                         (1, 'Calles mal hechas', 'MEDIO', 'LONG_TERM', 180),
                         (2, 'Charcos/Cumulo de agua', 'ALTO', 'TRANSIENT', 2),
                         (3, 'Huecos', 'MEDIO', 'MEDIUM_TERM', 30))
                 AS c (class_id, class_name, risk, persistence, days)
              ON c.class_id = mod(a.i + k, 4)
            """
        ),
        {"per": per_analysis},
    )
    return n_analyses


def site_timeline(session: Session, site_id: uuid.UUID, rows: Sequence[tuple]) -> None:
    """A site's timeline as given: (action, at, from_status, to_status, cause) rows into site_actions."""
    for action, when, before, after, cause in rows:
        session.execute(
            text(
                "INSERT INTO site_actions (id, site_id, action, at, from_status, to_status, cause) VALUES "
                "(gen_random_uuid(), :site, CAST(:action AS site_action), :at, "
                "CAST(:before AS site_status), CAST(:after AS site_status), :cause)"
            ),
            {"site": site_id, "action": action, "at": when, "before": before, "after": after, "cause": cause},
        )
