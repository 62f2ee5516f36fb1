"""ORM models for every table of DESIGN.md §3 (PostGIS, SRID 4326). Migrations, not create_all, build them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from sentrix.db.geometry import Geometry  # GeoAlchemy2's, imported on first use
from sentrix.domain.classes import BreedingSiteType, PersistenceType, RiskLevel
from sentrix.domain.confidence import DEFAULT_CONFIDENCE_THRESHOLD
from sentrix.domain.larval_indices import ContainerClass
from sentrix.domain.location import LocationSource
from sentrix.domain.roles import Role
from sentrix.domain.sites import SiteAction, SiteFamily, SiteStatus
from sentrix.domain.status import AnalysisStatus, ValidationStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def pg_enum(enum_cls: type[StrEnum], name: str) -> SAEnum:
    """A native PostgreSQL enum storing the enum's values (not its Python names)."""
    return SAEnum(
        enum_cls, name=name, values_callable=lambda cls: [member.value for member in cls], validate_strings=True
    )


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _updated_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now())


POINT = Geometry(geometry_type="POINT", srid=4326, spatial_index=False)
MULTIPOLYGON = Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False)
# A detection's outline in pixels of its original image: no spatial reference (srid=-1 writes
# `geometry(MULTIPOLYGON)`, whose SRID is 0, as GeoAlchemy2 reflects it back), never indexed.
PIXEL_SHAPE = Geometry(geometry_type="MULTIPOLYGON", srid=-1, spatial_index=False)

user_role = pg_enum(Role, "user_role")
analysis_status = pg_enum(AnalysisStatus, "analysis_status")
risk_level = pg_enum(RiskLevel, "risk_level")
# The same type under a name the Analysis class body does not shadow with its own `risk_level` column.
RISK_LEVEL_TYPE = risk_level
breeding_site_type = pg_enum(BreedingSiteType, "breeding_site_type")
location_source = pg_enum(LocationSource, "location_source")
validation_status = pg_enum(ValidationStatus, "validation_status")
persistence_type = pg_enum(PersistenceType, "persistence_type")
site_family = pg_enum(SiteFamily, "site_family")
site_status = pg_enum(SiteStatus, "site_status")
site_action = pg_enum(SiteAction, "site_action")
container_class = pg_enum(ContainerClass, "container_class")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", func.lower(text("email")), unique=True),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    # Null for users whose identity lives in an external provider (Supabase).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(120))
    organization: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(user_role, nullable=False, server_default=Role.USER.value)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    is_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    last_login: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Access tokens issued before this instant are refused (password change, forced logout).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    settings: Mapped[UserSettings | None] = relationship(back_populates="user", cascade="all, delete-orphan")


class RefreshToken(Base):
    """Opaque refresh tokens, stored hashed; a family shares one login so reuse can revoke all of it."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "family_id"), Index(None, "user_id"))

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class UserSettings(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    user: Mapped[User] = relationship(back_populates="settings")


class Analysis(Base):
    __tablename__ = "analyses"
    __table_args__ = (
        # One analysis per stored object: a redelivered S3 notification finds the row it already made.
        UniqueConstraint("image_bucket", "image_key"),
        Index(
            "uq_analyses_user_idempotency_key",
            "user_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_analyses_user_created", "user_id", text("created_at DESC")),
        Index("ix_analyses_created_at", text("created_at DESC")),
        Index(None, "status"),
        Index(None, "risk_level"),
        Index(None, "sha256"),
        Index(None, "territory_code"),
        Index("ix_analyses_location_geog", text("(location::geography)"), postgresql_using="gist"),
        Index("ix_analyses_location_geom", "location", postgresql_using="gist"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[AnalysisStatus] = mapped_column(
        analysis_status, nullable=False, server_default=AnalysisStatus.PENDING_UPLOAD.value
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # Claims that ended with the YOLO host busy (429): not failures, so not part of the attempt budget (0011).
    backpressure_delays: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))

    image_bucket: Mapped[str] = mapped_column(String(63), nullable=False)
    image_key: Mapped[str] = mapped_column(String(1024), nullable=False)
    image_etag: Mapped[str | None] = mapped_column(String(128))
    processed_image_key: Mapped[str | None] = mapped_column(String(1024))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    standardized_filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    image_format: Mapped[str | None] = mapped_column(String(20))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    perceptual_hash: Mapped[int | None] = mapped_column(BigInteger)

    camera_make: Mapped[str | None] = mapped_column(String(100))
    camera_model: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    include_gps: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    location = mapped_column(POINT)
    location_source: Mapped[LocationSource] = mapped_column(
        location_source, nullable=False, server_default=LocationSource.NONE.value
    )
    altitude_m: Mapped[float | None] = mapped_column(Float)
    manual_latitude: Mapped[float | None] = mapped_column(Float)
    manual_longitude: Mapped[float | None] = mapped_column(Float)
    # The photo's own GPS point, kept beside a manual location as evidence (never on public outputs), its
    # distance to the manual point, and whether that distance is beyond the threshold (migration 0006).
    exif_location = mapped_column(POINT)
    location_discrepancy_m: Mapped[float | None] = mapped_column(Float)
    location_flagged: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    # When validity counts from: "captured_at" or "uploaded_at", the moment, why not the capture time, and
    # the zone local times were read in ("+02:00" from the photo, or the uploader's IANA zone, or UTC).
    validity_basis: Mapped[str | None] = mapped_column(String(16))
    validity_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validity_basis_reason: Mapped[str | None] = mapped_column(String(40))
    local_time_zone: Mapped[str | None] = mapped_column(String(64))

    confidence_threshold: Mapped[float] = mapped_column(
        Float, nullable=False, server_default=text(repr(DEFAULT_CONFIDENCE_THRESHOLD))
    )
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(100))
    yolo_time_ms: Mapped[int | None] = mapped_column(Integer)
    pipeline_time_ms: Mapped[int | None] = mapped_column(Integer)

    risk_level: Mapped[RiskLevel | None] = mapped_column(risk_level)
    risk_score: Mapped[float | None] = mapped_column(Float)
    total_detections: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    high_risk_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    medium_risk_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    unique_types: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    recommendations: Mapped[list[str] | None] = mapped_column(JSONB)
    # The risk columns above are the current assessment: recomputed from the detections an expert has not
    # rejected (sentrix.repositories.verdicts). `assessed_detections` is how many it counted; the model's
    # own assessment at detection time stays below, for audit.
    assessed_detections: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    model_risk_level: Mapped[RiskLevel | None] = mapped_column(RISK_LEVEL_TYPE)
    model_risk_score: Mapped[float | None] = mapped_column(Float)
    model_high_risk_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    model_medium_risk_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    model_unique_types: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("analyses.id", ondelete="SET NULL"))
    # The smallest territory covering the location (`territory_at`, migration 0013), set at detect time and
    # re-set by every territory import (docs/territories.md).
    territory_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    processing_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    detections: Mapped[list[Detection]] = relationship(
        back_populates="analysis", cascade="all, delete-orphan", passive_deletes=True
    )


class Detection(Base):
    __tablename__ = "detections"
    __table_args__ = (
        Index(None, "analysis_id"),
        Index(None, "validation_status", "created_at"),
        Index(None, "expires_at"),
        # Active sites for the hotspot query, index-only (migration 0004; the verdict since 0007).
        Index(
            "ix_detections_expires_at_points",
            "expires_at",
            postgresql_include=[
                "analysis_id",
                "location",
                "place",
                "id",
                "created_at",
                "breeding_site_type",
                "risk_level",
                "validation_status",
            ],
        ),
        Index(None, "risk_level"),
        Index(None, "breeding_site_type"),
        Index(None, "created_at"),
        Index("ix_detections_location_geog", text("(location::geography)"), postgresql_using="gist"),
        Index("ix_detections_location_geom", "location", postgresql_using="gist"),
        Index(None, "site_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    analysis_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False)
    class_id: Mapped[int] = mapped_column(Integer, nullable=False)
    class_name: Mapped[str] = mapped_column(String(100), nullable=False)
    breeding_site_type: Mapped[BreedingSiteType | None] = mapped_column(breeding_site_type)
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    risk_level: Mapped[RiskLevel] = mapped_column(risk_level, nullable=False)
    polygon: Mapped[list[list[float]]] = mapped_column(JSONB, nullable=False)
    bbox_x_min: Mapped[float] = mapped_column(Float, nullable=False)
    bbox_y_min: Mapped[float] = mapped_column(Float, nullable=False)
    bbox_x_max: Mapped[float] = mapped_column(Float, nullable=False)
    bbox_y_max: Mapped[float] = mapped_column(Float, nullable=False)
    # Square pixels of the original image, measured on the cleaned outline (docs/detect.md, *Shapes*).
    mask_area: Mapped[float | None] = mapped_column(Float)
    # The outline cleaned at ingest, every part of a fragmented mask (migration 0010); NULL when degenerate.
    shape = mapped_column(PIXEL_SHAPE)
    # The YOLO host's own mask_area, unconverted: the original service counts its model's mask-grid pixels.
    mask_area_model_px: Mapped[float | None] = mapped_column(Float)
    location = mapped_column(POINT)
    # Geohash of the location (Z-order), generated by PostgreSQL: the hotspot query's sort key (migration 0004).
    place: Mapped[str | None] = mapped_column(String(collation="C"), Computed("ST_GeoHash(location)", persisted=True))

    validation_status: Mapped[ValidationStatus] = mapped_column(
        validation_status, nullable=False, server_default=ValidationStatus.PENDING.value
    )
    validated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validation_notes: Mapped[str | None] = mapped_column(Text)

    persistence_type: Mapped[PersistenceType] = mapped_column(persistence_type, nullable=False)
    is_weather_dependent: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    validity_days: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # A rejection ends the validity at once; the expiry it ended is kept here and restored if it is taken back.
    unrejected_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validity_extended_reason: Mapped[str | None] = mapped_column(Text)
    validity_extended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    validity_extended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()
    # The site this detection belongs to (migration 0012). A rejected detection keeps it, but no longer counts
    # among the site's members; taking the rejection back puts it back.
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))

    analysis: Mapped[Analysis] = relationship(back_populates="detections")


class Site(Base):
    """One breeding site however many detections show it (docs/sites.md, migration 0012).

    Everything but status, territory and the lifecycle times is derived from the members (detections with this
    site that are not rejected) by `sentrix.repositories.sites.refresh`, in the transaction that changed them.
    """

    __tablename__ = "sites"
    __table_args__ = (
        Index("ix_sites_location_geog", text("(location::geography)"), postgresql_using="gist"),
        Index(None, "family", "status"),
        Index(None, "last_report_at"),
        Index(None, "territory_code"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    family: Mapped[SiteFamily] = mapped_column(site_family, nullable=False)
    status: Mapped[SiteStatus] = mapped_column(site_status, nullable=False, server_default=SiteStatus.OPEN.value)
    # The centroid of the members.
    location = mapped_column(POINT, nullable=False)
    # The radius the site was merged with (its family's when it started, widened by GPS accuracy if known).
    radius_m: Mapped[float] = mapped_column(Float, nullable=False)
    first_report_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_report_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    report_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    detection_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    reporter_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    recurrences: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # The smallest territory containing the site, once territories exist (issue #19, point 5).
    territory_code: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class SiteActionRecord(Base):
    """The site's timeline: who did what, when, with which team and evidence, and the status it moved."""

    __tablename__ = "site_actions"
    __table_args__ = (Index(None, "site_id", "at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    action: Mapped[SiteAction] = mapped_column(site_action, nullable=False)
    # Null for what the system recorded (a site started, reopened by a recurrence).
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The clock, not the transaction's start: two actions of one transaction keep their order.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp())
    team: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    evidence_analysis_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("analyses.id", ondelete="SET NULL"))
    # A close without verifying evidence, on an expert's word (the reason is in `notes`).
    override: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    # Why the system acted: recurrence, all_members_rejected, member_restored (catalogue `site.cause.<cause>`).
    cause: Mapped[str | None] = mapped_column(String(40))
    from_status: Mapped[SiteStatus | None] = mapped_column(site_status)
    to_status: Mapped[SiteStatus] = mapped_column(site_status, nullable=False)


class Territory(Base):
    """A polygon of the territorial hierarchy (city → health area → neighbourhood; docs/territories.md, 0013)."""

    __tablename__ = "territories"
    __table_args__ = (
        Index("ix_territories_geometry", "geometry", postgresql_using="gist"),
        Index(None, "parent_code"),
        Index(None, "depth"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("territories.code", ondelete="RESTRICT"))
    # 0 for a root, its parent's depth + 1 below.
    depth: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    geometry = mapped_column(MULTIPOLYGON, nullable=False)
    # Square metres on the spheroid: the smallest covering territory wins the tag.
    area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = _updated_at()


class OfficialTerritory(Base):
    """A territory an official is scoped to (with every territory below it; docs/territories.md, 0014)."""

    __tablename__ = "official_territories"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    territory_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("territories.code", ondelete="CASCADE"), primary_key=True
    )
    assigned_at: Mapped[datetime] = _created_at()
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Visit(Base):
    """A field visit: premises inspected in a block or area by a team on a day (docs/visits.md, 0016)."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(
            "premises_closed >= 0 AND premises_refused >= 0 AND premises_positive >= 0 AND premises_inspected >= 0 "
            "AND premises_inspected = premises_visited - premises_closed - premises_refused",
            name="premises_add_up",
        ),
        CheckConstraint("premises_positive <= premises_inspected", name="positive_premises"),
        CheckConstraint("pupae IS NULL OR pupae >= 0", name="pupae"),
        Index(None, "territory_code", "visited_on"),
        Index(None, "visited_on"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    territory_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("territories.code", ondelete="RESTRICT"), nullable=False
    )
    visited_on: Mapped[date] = mapped_column(Date, nullable=False)
    area: Mapped[str] = mapped_column(String(200), nullable=False)
    team: Mapped[str] = mapped_column(String(200), nullable=False)
    premises_visited: Mapped[int] = mapped_column(Integer, nullable=False)
    premises_closed: Mapped[int] = mapped_column(Integer, nullable=False)
    premises_refused: Mapped[int] = mapped_column(Integer, nullable=False)
    # visited - closed - refused: H of the indices
    premises_inspected: Mapped[int] = mapped_column(Integer, nullable=False)
    # H+: premises with at least one container holding larvae or pupae
    premises_positive: Mapped[int] = mapped_column(Integer, nullable=False)
    # Null: the team did not count pupae (the visit then stays out of the pupal figures)
    pupae: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created_at()


class VisitContainers(Base):
    """Water-holding containers a visit inspected, and the positive ones, per LIRAa class."""

    __tablename__ = "visit_containers"
    __table_args__ = (CheckConstraint("positive >= 0 AND positive <= inspected", name="positive"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    container_class: Mapped[ContainerClass] = mapped_column(container_class, primary_key=True)
    inspected: Mapped[int] = mapped_column(Integer, nullable=False)
    positive: Mapped[int] = mapped_column(Integer, nullable=False)


class VisitSite(Base):
    """A site a visit checked."""

    __tablename__ = "visit_sites"
    __table_args__ = (Index(None, "site_id"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)


class VisitAnalysis(Base):
    """An analysis photographed during a visit."""

    __tablename__ = "visit_analyses"
    __table_args__ = (Index(None, "analysis_id"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    analysis_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), primary_key=True)


class AlertSubscription(Base):
    """Who is told about a territory's alert level changes, by e-mail (SNS) or signed webhook (docs/alerts.md, 0015)."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
        CheckConstraint(
            "cardinality(levels) > 0 AND levels <@ ARRAY['green', 'yellow', 'red']::varchar[]", name="levels"
        ),
        CheckConstraint("(channel = 'webhook') = (secret_ciphertext IS NOT NULL)", name="secret"),
        UniqueConstraint("user_id", "territory_code", "channel", "target"),
        Index(None, "territory_code"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    territory_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("territories.code", ondelete="CASCADE"), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str] = mapped_column(String(2048), nullable=False)
    levels: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    # AES-256-GCM of the webhook's signing secret (nonce first); the key is not in the database.
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    sns_subscription_arn: Mapped[str | None] = mapped_column(String(512))
    # Also the territory's weekly bulletin each epidemiological week (0019).
    weekly_bulletin: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = _created_at()


class SubscriptionDelivery(Base):
    """One level change, or one week's bulletin (0019), for one subscription: sent once (the unique pair, or the
    unique (subscription, week) of bulletins), retried with backoff, or dead."""

    __tablename__ = "subscription_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
        UniqueConstraint("subscription_id", "change_id"),
        Index("ix_subscription_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        CheckConstraint(
            "(kind = 'level_change' AND change_id IS NOT NULL AND week IS NULL) "
            "OR (kind = 'weekly_bulletin' AND change_id IS NULL AND week ~ '^[0-9]{4}-SE[0-9]{2}$')",
            name="kind",
        ),
        Index(
            "uq_subscription_deliveries_subscription_id_week",
            "subscription_id",
            "week",
            unique=True,
            postgresql_where=text("kind = 'weekly_bulletin'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alert_subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'level_change'"))
    change_id: Mapped[int | None] = mapped_column(BigInteger)  # a level change's id (null for a bulletin)
    week: Mapped[str | None] = mapped_column(String(16))  # a bulletin's epidemiological week, 2025-SE53
    change: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SubscriptionDeliveryAttempt(Base):
    """Every attempt of a delivery: its number, the receiver's HTTP status or the error, and when."""

    __tablename__ = "subscription_delivery_attempts"
    __table_args__ = (Index(None, "delivery_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("subscription_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    change_id: Mapped[int | None] = mapped_column(BigInteger)  # null for a bulletin's delivery
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class RateLimitHit(Base):
    """Hits per bucket (e.g. `login:ip:203.0.113.7`) per fixed window; shared by all Lambda instances."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index(None, "window_start"),)

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class LoginFailureStreak(Base):
    """Consecutive failed sign-ins of one account (hashed email), from any source; a success deletes the row.

    Drives the per-account backoff and the NIST SP 800-63B ceiling (`sentrix.ratelimit.Backoff`)."""

    __tablename__ = "login_failure_streaks"
    __table_args__ = (Index(None, "last_failure_at"),)

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    consecutive: Mapped[int] = mapped_column(Integer, nullable=False)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class DeploymentKey(Base):
    """Random keys made once per deployment (migration 0007), e.g. the key of reporter pseudonyms in reports."""

    __tablename__ = "deployment_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class MapPublicCell(Base):
    """Counted analyses per public map cell (0.01°); the row is also the lock of the cell's maintenance.

    Maintained by triggers (migration 0004), never written by the application.
    """

    __tablename__ = "map_public_cells"

    cx: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    cy: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    reports: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class MapPublicPoint(Base):
    """The public heatmap's point per cell and breeding-site type (`type_key` '' for none), from triggers."""

    __tablename__ = "map_public_points"
    __table_args__ = (Index("ix_map_public_points_rank", text("n DESC"), "cx", "cy", "site_type"),)

    cx: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    cy: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    type_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    site_type: Mapped[BreedingSiteType | None] = mapped_column(breeding_site_type)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    risk: Mapped[RiskLevel] = mapped_column(risk_level, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # For public vector tiles (migration 0005): ALTO detections, and the highest risk among detections only.
    high_n: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    detection_risk: Mapped[RiskLevel | None] = mapped_column(risk_level)


class MapPublicExpiry(Base):
    """Detections of counted analyses per public cell expiring on each UTC day (from yesterday on), from triggers.

    A public tile's active count: the days after today from here, today's remainder live (migration 0005).
    """

    __tablename__ = "map_public_expiry"

    cx: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    cy: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class MapPublicPerson(Base):
    """Counted detections per public cell and user, and the last UTC day one is active, from triggers: a cell's
    rows are its people (k-anonymity of the public heatmap and tiles, migration 0022)."""

    __tablename__ = "map_public_people"

    cx: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    cy: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    last_day: Mapped[date | None] = mapped_column(Date)


class MapPublicActive(Base):
    """The anonymous active heatmap's rows per public cell, breeding-site type (`type_key` '' for none) and UTC
    day its detections stop being active (from yesterday on), from triggers (migration 0022)."""

    __tablename__ = "map_public_active"

    cx: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    cy: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    type_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    site_type: Mapped[BreedingSiteType | None] = mapped_column(breeding_site_type)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    high_n: Mapped[int] = mapped_column(Integer, nullable=False)
    risk: Mapped[RiskLevel] = mapped_column(risk_level, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class MapStatsAnalyses(Base):
    """Counted analyses per UTC day of upload, risk level ('' for none) and located or not (migration 0020)."""

    __tablename__ = "map_stats_analyses"

    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    risk_key: Mapped[str] = mapped_column(String(10), primary_key=True)
    located: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))


class MapStatsReporter(Base):
    """Counted analyses per person: the public map-stats' k-anonymity counts people with n > 0 (0020)."""

    __tablename__ = "map_stats_reporters"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))


class MapStatsDetections(Base):
    """Detections of counted analyses per type ('Otro' for none), ALTO or not, verdict and the UTC day of the last
    midnight they outlive, with their mask areas (0020)."""

    __tablename__ = "map_stats_detections"

    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    site_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    alto: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    status: Mapped[ValidationStatus] = mapped_column(validation_status, primary_key=True)
    expiry_day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    mask_area: Mapped[float] = mapped_column(Float(precision=53), nullable=False, server_default=text("0"))


class MapStatsFound(Base):
    """Detections of counted analyses per UTC day found and verdict: the public 7-day trend (0020)."""

    __tablename__ = "map_stats_found"

    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[ValidationStatus] = mapped_column(validation_status, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))


class MapStatsZone(Base):
    """The latest expiry of the detections no expert rejected per 0.001° zone: active zones at T (0020)."""

    __tablename__ = "map_stats_zones"
    __table_args__ = (Index(None, "expires"),)

    zx: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    zy: Mapped[float] = mapped_column(Float(precision=53), primary_key=True)
    expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Alert(Base):
    """A cluster of confirmed open sites followed over time (docs/alerts.md, migration 0015)."""

    __tablename__ = "alerts"
    __table_args__ = (Index(None, "status", "level"), Index(None, "territory_code"), Index(None, "updated_at"))

    id: Mapped[uuid.UUID] = _uuid_pk()
    status: Mapped[str] = mapped_column(String(8), nullable=False, server_default="open")  # open, closed
    level: Mapped[str] = mapped_column(String(8), nullable=False)  # yellow, red (the last while open)
    # The territory holding most of its sites (ties: the lowest code); a cache, like sites.territory_code.
    territory_code: Mapped[str | None] = mapped_column(String(64))
    site_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    location = mapped_column(POINT)  # the centroid of its current sites
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_growth_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_reason: Mapped[str | None] = mapped_column(String(16))  # quiet, merged
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id"))
    split_from: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AlertSite(Base):
    """A site of an alert: when it joined, when it left (a split), and how (cluster, merge, split)."""

    __tablename__ = "alert_sites"
    __table_args__ = (Index(None, "site_id"),)

    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    via: Mapped[str] = mapped_column(String(8), nullable=False)


class AlertEvent(Base):
    """The alert's timeline: opened, grew, level, merged, split, closed (details in JSON)."""

    __tablename__ = "alert_events"
    __table_args__ = (Index(None, "alert_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")


class AlertLevelChange(Base):
    """A territory's alert level changed (its level history; what delivery sends, after the last id sent)."""

    __tablename__ = "alert_level_changes"
    __table_args__ = (Index(None, "territory_code", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    territory_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("territories.code", ondelete="CASCADE"), nullable=False
    )
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    old_level: Mapped[str] = mapped_column(String(8), nullable=False)
    new_level: Mapped[str] = mapped_column(String(8), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
