"""Every table of DESIGN.md §3 (PostGIS, SRID 4326) as SQLAlchemy Core: the schema the migrations build.

Core `Table`s cost a fraction of declarative classes to import (issue 21, cold starts); `sentrix.db.models` maps
the ones the code reads and writes as objects onto them. Migrations, not create_all, build the tables, and
`tests/integration/test_migrations.py` compares this metadata with the migrated database.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
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
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

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


metadata = MetaData(naming_convention=NAMING)


def pg_enum(enum_cls: type[StrEnum], name: str) -> SAEnum:
    """A native PostgreSQL enum storing the enum's values (not its Python names)."""
    return SAEnum(
        enum_cls, name=name, values_callable=lambda cls: [member.value for member in cls], validate_strings=True
    )


POINT = Geometry(geometry_type="POINT", srid=4326, spatial_index=False)
MULTIPOLYGON = Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False)
# A detection's outline in pixels of its original image: no spatial reference (srid=-1 writes
# `geometry(MULTIPOLYGON)`, whose SRID is 0, as GeoAlchemy2 reflects it back), never indexed.
PIXEL_SHAPE = Geometry(geometry_type="MULTIPOLYGON", srid=-1, spatial_index=False)

user_role = pg_enum(Role, "user_role")
analysis_status = pg_enum(AnalysisStatus, "analysis_status")
risk_level = pg_enum(RiskLevel, "risk_level")
breeding_site_type = pg_enum(BreedingSiteType, "breeding_site_type")
location_source = pg_enum(LocationSource, "location_source")
validation_status = pg_enum(ValidationStatus, "validation_status")
persistence_type = pg_enum(PersistenceType, "persistence_type")
site_family = pg_enum(SiteFamily, "site_family")
site_status = pg_enum(SiteStatus, "site_status")
site_action = pg_enum(SiteAction, "site_action")
container_class = pg_enum(ContainerClass, "container_class")


users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("email", String(320), nullable=False),
    # Null for users whose identity lives in an external provider (Supabase).
    Column("password_hash", String(255)),
    Column("display_name", String(120)),
    Column("organization", String(200)),
    Column("role", user_role, nullable=False, server_default=Role.USER.value),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("is_verified", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()),
    Column("last_login", DateTime(timezone=True)),
    # Access tokens issued before this instant are refused (password change, forced logout).
    Column("tokens_valid_after", DateTime(timezone=True)),
    Index("uq_users_email_lower", func.lower(text("email")), unique=True),
)


refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("family_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", String(40)),
    Index(None, "family_id"),
    Index(None, "user_id"),
)


user_settings = Table(
    "user_settings",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("settings", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()),
)


analyses = Table(
    "analyses",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("status", analysis_status, nullable=False, server_default=AnalysisStatus.PENDING_UPLOAD.value),
    Column("failure_reason", Text),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # Claims that ended with the YOLO host busy (429): not failures, so not part of the attempt budget (0011).
    Column("backpressure_delays", Integer, nullable=False, server_default=text("0")),
    Column("idempotency_key", String(128)),
    Column("image_bucket", String(63), nullable=False),
    Column("image_key", String(1024), nullable=False),
    Column("image_etag", String(128)),
    Column("processed_image_key", String(1024)),
    Column("original_filename", String(255)),
    Column("standardized_filename", String(255)),
    Column("content_type", String(100)),
    Column("image_format", String(20)),
    Column("size_bytes", BigInteger),
    Column("width", Integer),
    Column("height", Integer),
    Column("sha256", String(64)),
    Column("perceptual_hash", BigInteger),
    Column("camera_make", String(100)),
    Column("camera_model", String(100)),
    Column("taken_at", DateTime(timezone=True)),
    Column("include_gps", Boolean, nullable=False, server_default=text("true")),
    Column("location", POINT),
    Column("location_source", location_source, nullable=False, server_default=LocationSource.NONE.value),
    Column("altitude_m", Float),
    Column("manual_latitude", Float),
    Column("manual_longitude", Float),
    # The photo's own GPS point, kept beside a manual location as evidence (never on public outputs), its
    # distance to the manual point, and whether that distance is beyond the threshold (migration 0006).
    Column("exif_location", POINT),
    Column("location_discrepancy_m", Float),
    Column("location_flagged", Boolean, nullable=False, server_default=text("false")),
    # When validity counts from: "captured_at" or "uploaded_at", the moment, why not the capture time, and
    # the zone local times were read in ("+02:00" from the photo, or the uploader's IANA zone, or UTC).
    Column("validity_basis", String(16)),
    Column("validity_from", DateTime(timezone=True)),
    Column("validity_basis_reason", String(40)),
    Column("local_time_zone", String(64)),
    Column("confidence_threshold", Float, nullable=False, server_default=text(repr(DEFAULT_CONFIDENCE_THRESHOLD))),
    Column("model_name", String(200)),
    Column("model_version", String(100)),
    Column("yolo_time_ms", Integer),
    Column("pipeline_time_ms", Integer),
    Column("risk_level", risk_level),
    Column("risk_score", Float),
    Column("total_detections", Integer, nullable=False, server_default=text("0")),
    Column("high_risk_count", Integer, nullable=False, server_default=text("0")),
    Column("medium_risk_count", Integer, nullable=False, server_default=text("0")),
    Column("unique_types", Integer, nullable=False, server_default=text("0")),
    Column("recommendations", JSONB),
    # The risk columns above are the current assessment: recomputed from the detections an expert has not
    # rejected (sentrix.repositories.verdicts). `assessed_detections` is how many it counted; the model's
    # own assessment at detection time stays below, for audit.
    Column("assessed_detections", Integer, nullable=False, server_default=text("0")),
    Column("model_risk_level", risk_level),
    Column("model_risk_score", Float),
    Column("model_high_risk_count", Integer, nullable=False, server_default=text("0")),
    Column("model_medium_risk_count", Integer, nullable=False, server_default=text("0")),
    Column("model_unique_types", Integer, nullable=False, server_default=text("0")),
    Column("duplicate_of", ForeignKey("analyses.id", ondelete="SET NULL")),
    # The smallest territory covering the location (`territory_at`, migration 0013), set at detect time and
    # re-set by every territory import (docs/territories.md).
    Column("territory_code", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()),
    Column("processing_started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
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


detections = Table(
    "detections",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("analysis_id", ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("class_id", Integer, nullable=False),
    Column("class_name", String(100), nullable=False),
    Column("breeding_site_type", breeding_site_type),
    Column("confidence", Float, nullable=False),
    Column("risk_level", risk_level, nullable=False),
    Column("polygon", JSONB, nullable=False),
    Column("bbox_x_min", Float, nullable=False),
    Column("bbox_y_min", Float, nullable=False),
    Column("bbox_x_max", Float, nullable=False),
    Column("bbox_y_max", Float, nullable=False),
    # Square pixels of the original image, measured on the cleaned outline (docs/detect.md, *Shapes*).
    Column("mask_area", Float),
    # The outline cleaned at ingest, every part of a fragmented mask (migration 0010); NULL when degenerate.
    Column("shape", PIXEL_SHAPE),
    # The YOLO host's own mask_area, unconverted: the original service counts its model's mask-grid pixels.
    Column("mask_area_model_px", Float),
    Column("location", POINT),
    # Geohash of the location (Z-order), generated by PostgreSQL: the hotspot query's sort key (migration 0004).
    Column("place", String(collation="C"), Computed("ST_GeoHash(location)", persisted=True)),
    Column("validation_status", validation_status, nullable=False, server_default=ValidationStatus.PENDING.value),
    Column("validated_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("validated_at", DateTime(timezone=True)),
    Column("validation_notes", Text),
    Column("persistence_type", persistence_type, nullable=False),
    Column("is_weather_dependent", Boolean, nullable=False, server_default=text("false")),
    Column("validity_days", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    # A rejection ends the validity at once; the expiry it ended is kept here and restored if it is taken back.
    Column("unrejected_expires_at", DateTime(timezone=True)),
    Column("validity_extended_reason", Text),
    Column("validity_extended_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("validity_extended_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The site this detection belongs to (migration 0012). A rejected detection keeps it, but no longer counts
    # among the site's members; taking the rejection back puts it back.
    Column("site_id", ForeignKey("sites.id", ondelete="SET NULL")),
    # Active sites for the hotspot query, index-only (migration 0004; the verdict since 0007).
    Index(None, "analysis_id"),
    Index(None, "validation_status", "created_at"),
    Index(None, "expires_at"),
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


sites = Table(
    "sites",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("family", site_family, nullable=False),
    Column("status", site_status, nullable=False, server_default=SiteStatus.OPEN.value),
    # The centroid of the members.
    Column("location", POINT, nullable=False),
    # The radius the site was merged with (its family's when it started, widened by GPS accuracy if known).
    Column("radius_m", Float, nullable=False),
    Column("first_report_at", DateTime(timezone=True), nullable=False),
    Column("last_report_at", DateTime(timezone=True), nullable=False),
    Column("report_count", Integer, nullable=False, server_default=text("0")),
    Column("detection_count", Integer, nullable=False, server_default=text("0")),
    Column("reporter_count", Integer, nullable=False, server_default=text("0")),
    Column("confirmed", Boolean, nullable=False, server_default=text("false")),
    Column("recurrences", Integer, nullable=False, server_default=text("0")),
    # The smallest territory containing the site, once territories exist (issue #19, point 5).
    Column("territory_code", String(64)),
    Column("closed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()),
    Index("ix_sites_location_geog", text("(location::geography)"), postgresql_using="gist"),
    Index(None, "family", "status"),
    Index(None, "last_report_at"),
    Index(None, "territory_code"),
)


site_actions = Table(
    "site_actions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("action", site_action, nullable=False),
    # Null for what the system recorded (a site started, reopened by a recurrence).
    Column("actor_id", ForeignKey("users.id", ondelete="SET NULL")),
    # The clock, not the transaction's start: two actions of one transaction keep their order.
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
    Column("team", String(200)),
    Column("notes", Text),
    Column("evidence_analysis_id", ForeignKey("analyses.id", ondelete="SET NULL")),
    # A close without verifying evidence, on an expert's word (the reason is in `notes`).
    Column("override", Boolean, nullable=False, server_default=text("false")),
    # Why the system acted: recurrence, all_members_rejected, member_restored (catalogue `site.cause.<cause>`).
    Column("cause", String(40)),
    Column("from_status", site_status),
    Column("to_status", site_status, nullable=False),
    Index(None, "site_id", "at"),
)


territories = Table(
    "territories",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent_code", ForeignKey("territories.code", ondelete="RESTRICT")),
    # 0 for a root, its parent's depth + 1 below.
    Column("depth", Integer, nullable=False, server_default=text("0")),
    Column("geometry", MULTIPOLYGON, nullable=False),
    # Square metres on the spheroid: the smallest covering territory wins the tag.
    Column("area_m2", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()),
    Index("ix_territories_geometry", "geometry", postgresql_using="gist"),
    Index(None, "parent_code"),
    Index(None, "depth"),
)


official_territories = Table(
    "official_territories",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("territory_code", String(64), ForeignKey("territories.code", ondelete="CASCADE"), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("assigned_by", ForeignKey("users.id", ondelete="SET NULL")),
)


visits = Table(
    "visits",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("territory_code", String(64), ForeignKey("territories.code", ondelete="RESTRICT"), nullable=False),
    Column("visited_on", Date, nullable=False),
    Column("area", String(200), nullable=False),
    Column("team", String(200), nullable=False),
    Column("premises_visited", Integer, nullable=False),
    Column("premises_closed", Integer, nullable=False),
    Column("premises_refused", Integer, nullable=False),
    # visited - closed - refused: H of the indices
    Column("premises_inspected", Integer, nullable=False),
    # H+: premises with at least one container holding larvae or pupae
    Column("premises_positive", Integer, nullable=False),
    # Null: the team did not count pupae (the visit then stays out of the pupal figures)
    Column("pupae", Integer),
    Column("notes", Text),
    Column("recorded_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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


visit_containers = Table(
    "visit_containers",
    metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("container_class", container_class, primary_key=True),
    Column("inspected", Integer, nullable=False),
    Column("positive", Integer, nullable=False),
    CheckConstraint("positive >= 0 AND positive <= inspected", name="positive"),
)


visit_sites = Table(
    "visit_sites",
    metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "site_id"),
)


visit_analyses = Table(
    "visit_analyses",
    metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("analysis_id", ForeignKey("analyses.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "analysis_id"),
)


# Who is told about a territory's alert level changes, by e-mail (SNS) or signed webhook (docs/alerts.md, 0015).
alert_subscriptions = Table(
    "alert_subscriptions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("territory_code", String(64), ForeignKey("territories.code", ondelete="CASCADE"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("target", String(2048), nullable=False),
    Column("levels", ARRAY(String(16)), nullable=False),
    # AES-256-GCM of the webhook's signing secret (nonce first); the key is not in the database.
    Column("secret_ciphertext", LargeBinary),
    Column("sns_subscription_arn", String(512)),
    # Also the territory's weekly bulletin each epidemiological week (0019).
    Column("weekly_bulletin", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
    CheckConstraint("cardinality(levels) > 0 AND levels <@ ARRAY['green', 'yellow', 'red']::varchar[]", name="levels"),
    CheckConstraint("(channel = 'webhook') = (secret_ciphertext IS NOT NULL)", name="secret"),
    UniqueConstraint("user_id", "territory_code", "channel", "target"),
    Index(None, "territory_code"),
)


# One level change, or one week's bulletin (0019), for one subscription: sent once (the unique pair, or the
# unique (subscription, week) of bulletins), retried with backoff, or dead.
subscription_deliveries = Table(
    "subscription_deliveries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("subscription_id", ForeignKey("alert_subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False, server_default=text("'level_change'")),
    Column("change_id", BigInteger),
    Column("week", String(16)),
    Column("change", JSONB, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
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


# Every attempt of a delivery: its number, the receiver's HTTP status or the error, and when.
subscription_delivery_attempts = Table(
    "subscription_delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("delivery_id", ForeignKey("subscription_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("subscription_id", UUID(as_uuid=True), nullable=False),
    Column("change_id", BigInteger),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", String(500)),
    Column("at", DateTime(timezone=True), nullable=False),
    Index(None, "delivery_id"),
)


# Hits per bucket (e.g. `login:ip:203.0.113.7`) per fixed window; shared by all Lambda instances.
rate_limit_hits = Table(
    "rate_limit_hits",
    metadata,
    Column("bucket", String(200), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("hits", Integer, nullable=False, server_default=text("0")),
    Index(None, "window_start"),
)


# Consecutive failed sign-ins of one account (hashed email), from any source; a success deletes the row.
#
# Drives the per-account backoff and the NIST SP 800-63B ceiling (`sentrix.ratelimit.Backoff`).
login_failure_streaks = Table(
    "login_failure_streaks",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("consecutive", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Index(None, "last_failure_at"),
)


# Random keys made once per deployment (migration 0007), e.g. the key of reporter pseudonyms in reports.
deployment_keys = Table(
    "deployment_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# Counted analyses per public map cell (0.01°); the row is also the lock of the cell's maintenance.
#
# Maintained by triggers (migration 0004), never written by the application.
map_public_cells = Table(
    "map_public_cells",
    metadata,
    Column("cx", Float(precision=53), primary_key=True),
    Column("cy", Float(precision=53), primary_key=True),
    Column("reports", Integer, nullable=False, server_default=text("0")),
)


# The public heatmap's point per cell and breeding-site type (`type_key` '' for none), from triggers.
map_public_points = Table(
    "map_public_points",
    metadata,
    Column("cx", Float(precision=53), primary_key=True),
    Column("cy", Float(precision=53), primary_key=True),
    Column("type_key", String(100), primary_key=True),
    Column("site_type", breeding_site_type),
    Column("n", Integer, nullable=False),
    Column("risk", risk_level, nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    # For public vector tiles (migration 0005): ALTO detections, and the highest risk among detections only.
    Column("high_n", Integer, nullable=False, server_default=text("0")),
    Column("detection_risk", risk_level),
    Index("ix_map_public_points_rank", text("n DESC"), "cx", "cy", "site_type"),
)


# Detections of counted analyses per public cell expiring on each UTC day (from yesterday on), from triggers.
#
# A public tile's active count: the days after today from here, today's remainder live (migration 0005).
map_public_expiry = Table(
    "map_public_expiry",
    metadata,
    Column("cx", Float(precision=53), primary_key=True),
    Column("cy", Float(precision=53), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("n", Integer, nullable=False),
)


# Counted detections per public cell and user, and the last UTC day one is active, from triggers: a cell's
# rows are its people (k-anonymity of the public heatmap and tiles, migration 0022).
map_public_people = Table(
    "map_public_people",
    metadata,
    Column("cx", Float(precision=53), primary_key=True),
    Column("cy", Float(precision=53), primary_key=True),
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("last_day", Date),
)


# The anonymous active heatmap's rows per public cell, breeding-site type (`type_key` '' for none) and UTC
# day its detections stop being active (from yesterday on), from triggers (migration 0022).
map_public_active = Table(
    "map_public_active",
    metadata,
    Column("cx", Float(precision=53), primary_key=True),
    Column("cy", Float(precision=53), primary_key=True),
    Column("type_key", String(100), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("site_type", breeding_site_type),
    Column("n", Integer, nullable=False),
    Column("high_n", Integer, nullable=False),
    Column("risk", risk_level, nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)


# Counted analyses per UTC day of upload, risk level ('' for none) and located or not (migration 0020).
map_stats_analyses = Table(
    "map_stats_analyses",
    metadata,
    Column("shard", SmallInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("risk_key", String(10), primary_key=True),
    Column("located", Boolean, primary_key=True),
    Column("n", BigInteger, nullable=False, server_default=text("0")),
)


# Counted analyses per person: the public map-stats' k-anonymity counts people with n > 0 (0020).
map_stats_reporters = Table(
    "map_stats_reporters",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("n", BigInteger, nullable=False, server_default=text("0")),
)


# Detections of counted analyses per type ('Otro' for none), ALTO or not, verdict and the UTC day of the last
# midnight they outlive, with their mask areas (0020).
map_stats_detections = Table(
    "map_stats_detections",
    metadata,
    Column("shard", SmallInteger, primary_key=True),
    Column("site_key", String(100), primary_key=True),
    Column("alto", Boolean, primary_key=True),
    Column("status", validation_status, primary_key=True),
    Column("expiry_day", Date, primary_key=True),
    Column("n", BigInteger, nullable=False, server_default=text("0")),
    Column("mask_area", Float(precision=53), nullable=False, server_default=text("0")),
)


# Detections of counted analyses per UTC day found and verdict: the public 7-day trend (0020).
map_stats_found = Table(
    "map_stats_found",
    metadata,
    Column("shard", SmallInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("status", validation_status, primary_key=True),
    Column("n", BigInteger, nullable=False, server_default=text("0")),
)


# The latest expiry of the detections no expert rejected per 0.001° zone: active zones at T (0020).
map_stats_zones = Table(
    "map_stats_zones",
    metadata,
    Column("zx", Float(precision=53), primary_key=True),
    Column("zy", Float(precision=53), primary_key=True),
    Column("expires", DateTime(timezone=True)),
    Index(None, "expires"),
)


# A cluster of confirmed open sites followed over time (docs/alerts.md, migration 0015).
alerts = Table(
    "alerts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
    Column("status", String(8), nullable=False, server_default="open"),
    Column("level", String(8), nullable=False),
    # The territory holding most of its sites (ties: the lowest code); a cache, like sites.territory_code.
    Column("territory_code", String(64)),
    Column("site_count", Integer, nullable=False, server_default=text("0")),
    Column("location", POINT),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_growth_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_reason", String(16)),
    Column("merged_into", ForeignKey("alerts.id")),
    Column("split_from", ForeignKey("alerts.id")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "status", "level"),
    Index(None, "territory_code"),
    Index(None, "updated_at"),
)


# A site of an alert: when it joined, when it left (a split), and how (cluster, merge, split).
alert_sites = Table(
    "alert_sites",
    metadata,
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("left_at", DateTime(timezone=True)),
    Column("via", String(8), nullable=False),
    Index(None, "site_id"),
)


# The alert's timeline: opened, grew, level, merged, split, closed (details in JSON).
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Index(None, "alert_id", "at"),
)


# A territory's alert level changed (its level history; what delivery sends, after the last id sent).
alert_level_changes = Table(
    "alert_level_changes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("territory_code", String(64), ForeignKey("territories.code", ondelete="CASCADE"), nullable=False),
    Column("alert_id", ForeignKey("alerts.id", ondelete="SET NULL")),
    Column("old_level", String(8), nullable=False),
    Column("new_level", String(8), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index(None, "territory_code", "id"),
)
