"""Initial schema: users, refresh tokens, settings, analyses and detections on PostGIS.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


ENUMS = (
    "user_role",
    "analysis_status",
    "risk_level",
    "breeding_site_type",
    "location_source",
    "validation_status",
    "persistence_type",
)
UPDATED_AT_TABLES = ("users", "user_settings", "analyses")


def upgrade() -> None:
    # PostGIS is not a trusted extension: the migration runs as the database owner (rds_superuser in RDS).
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=120), nullable=True),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column(
            "role",
            sa.Enum("user", "expert", "admin", name="user_role"),
            server_default="user",
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_login", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True)
    op.create_table(
        "analyses",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending_upload",
                "queued",
                "processing",
                "completed",
                "failed",
                "duplicate",
                name="analysis_status",
            ),
            server_default="pending_upload",
            nullable=False,
        ),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("image_bucket", sa.String(length=63), nullable=False),
        sa.Column("image_key", sa.String(length=1024), nullable=False),
        sa.Column("image_etag", sa.String(length=128), nullable=True),
        sa.Column("processed_image_key", sa.String(length=1024), nullable=True),
        sa.Column("original_filename", sa.String(length=255), nullable=True),
        sa.Column("standardized_filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("image_format", sa.String(length=20), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("perceptual_hash", sa.BigInteger(), nullable=True),
        sa.Column("camera_make", sa.String(length=100), nullable=True),
        sa.Column("camera_model", sa.String(length=100), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("include_gps", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "location",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "location_source",
            sa.Enum("EXIF_GPS", "MANUAL", "NONE", name="location_source"),
            server_default="NONE",
            nullable=False,
        ),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.Column("manual_latitude", sa.Float(), nullable=True),
        sa.Column("manual_longitude", sa.Float(), nullable=True),
        sa.Column("confidence_threshold", sa.Float(), server_default=sa.text("0.5"), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("yolo_time_ms", sa.Integer(), nullable=True),
        sa.Column("pipeline_time_ms", sa.Integer(), nullable=True),
        sa.Column("risk_level", sa.Enum("ALTO", "MEDIO", "BAJO", "MINIMO", name="risk_level"), nullable=True),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("total_detections", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("high_risk_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("medium_risk_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unique_types", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("recommendations", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("duplicate_of", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["analyses.id"],
            name=op.f("fk_analyses_duplicate_of_analyses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_analyses_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyses")),
        sa.UniqueConstraint("image_bucket", "image_key", name=op.f("uq_analyses_image_bucket_image_key")),
    )
    op.create_index("ix_analyses_created_at", "analyses", [sa.literal_column("created_at DESC")], unique=False)
    op.create_index(
        "ix_analyses_location_geog",
        "analyses",
        [sa.literal_column("(location::geography)")],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index("ix_analyses_location_geom", "analyses", ["location"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_analyses_risk_level"), "analyses", ["risk_level"], unique=False)
    op.create_index(op.f("ix_analyses_sha256"), "analyses", ["sha256"], unique=False)
    op.create_index(op.f("ix_analyses_status"), "analyses", ["status"], unique=False)
    op.create_index(
        "ix_analyses_user_created",
        "analyses",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "uq_analyses_user_idempotency_key",
        "analyses",
        ["user_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_refresh_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index(op.f("ix_refresh_tokens_family_id"), "refresh_tokens", ["family_id"], unique=False)
    op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"], unique=False)
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_settings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_settings")),
    )
    op.create_table(
        "detections",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("analysis_id", sa.UUID(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("class_name", sa.String(length=100), nullable=False),
        sa.Column(
            "breeding_site_type",
            sa.Enum("Basura", "Calles mal hechas", "Charcos/Cumulo de agua", "Huecos", name="breeding_site_type"),
            nullable=True,
        ),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.Enum("ALTO", "MEDIO", "BAJO", "MINIMO", name="risk_level"), nullable=False),
        sa.Column("polygon", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("bbox_x_min", sa.Float(), nullable=False),
        sa.Column("bbox_y_min", sa.Float(), nullable=False),
        sa.Column("bbox_x_max", sa.Float(), nullable=False),
        sa.Column("bbox_y_max", sa.Float(), nullable=False),
        sa.Column("mask_area", sa.Float(), nullable=True),
        sa.Column(
            "location",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "validation_status",
            sa.Enum(
                "pending",
                "validated_positive",
                "validated_negative",
                "requires_review",
                name="validation_status",
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("validated_by", sa.UUID(), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validation_notes", sa.Text(), nullable=True),
        sa.Column(
            "persistence_type",
            sa.Enum("TRANSIENT", "SHORT_TERM", "MEDIUM_TERM", "LONG_TERM", "PERMANENT", name="persistence_type"),
            nullable=False,
        ),
        sa.Column("is_weather_dependent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("validity_extended_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name=op.f("fk_detections_analysis_id_analyses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["validated_by"], ["users.id"], name=op.f("fk_detections_validated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detections")),
    )
    op.create_index(op.f("ix_detections_analysis_id"), "detections", ["analysis_id"], unique=False)
    op.create_index(op.f("ix_detections_breeding_site_type"), "detections", ["breeding_site_type"], unique=False)
    op.create_index(op.f("ix_detections_created_at"), "detections", ["created_at"], unique=False)
    op.create_index(op.f("ix_detections_expires_at"), "detections", ["expires_at"], unique=False)
    op.create_index(
        "ix_detections_location_geog",
        "detections",
        [sa.literal_column("(location::geography)")],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index("ix_detections_location_geom", "detections", ["location"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_detections_risk_level"), "detections", ["risk_level"], unique=False)
    op.create_index(
        op.f("ix_detections_validation_status_created_at"),
        "detections",
        ["validation_status", "created_at"],
        unique=False,
    )
    # updated_at must move on raw SQL updates too, not only through the ORM's onupdate.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger AS $$
        BEGIN NEW.updated_at = now(); RETURN NEW; END;
        $$ LANGUAGE plpgsql
        """
    )
    for table in UPDATED_AT_TABLES:
        op.execute(
            f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    for table in UPDATED_AT_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_updated_at ON {table}")
    op.execute("DROP FUNCTION IF EXISTS set_updated_at()")
    op.drop_index(op.f("ix_detections_validation_status_created_at"), table_name="detections")
    op.drop_index(op.f("ix_detections_risk_level"), table_name="detections")
    op.drop_index("ix_detections_location_geom", table_name="detections", postgresql_using="gist")
    op.drop_index("ix_detections_location_geog", table_name="detections", postgresql_using="gist")
    op.drop_index(op.f("ix_detections_expires_at"), table_name="detections")
    op.drop_index(op.f("ix_detections_created_at"), table_name="detections")
    op.drop_index(op.f("ix_detections_breeding_site_type"), table_name="detections")
    op.drop_index(op.f("ix_detections_analysis_id"), table_name="detections")
    op.drop_table("detections")
    op.drop_table("user_settings")
    op.drop_index(op.f("ix_refresh_tokens_user_id"), table_name="refresh_tokens")
    op.drop_index(op.f("ix_refresh_tokens_family_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(
        "uq_analyses_user_idempotency_key",
        table_name="analyses",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index("ix_analyses_user_created", table_name="analyses")
    op.drop_index(op.f("ix_analyses_status"), table_name="analyses")
    op.drop_index(op.f("ix_analyses_sha256"), table_name="analyses")
    op.drop_index(op.f("ix_analyses_risk_level"), table_name="analyses")
    op.drop_index("ix_analyses_location_geom", table_name="analyses", postgresql_using="gist")
    op.drop_index("ix_analyses_location_geog", table_name="analyses", postgresql_using="gist")
    op.drop_index("ix_analyses_created_at", table_name="analyses")
    op.drop_table("analyses")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
    for enum in ENUMS:
        op.execute(f"DROP TYPE IF EXISTS {enum}")
    # The postgis extension stays: other schemas may use it, and dropping it needs superuser.
