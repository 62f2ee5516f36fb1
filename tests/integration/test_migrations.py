"""Alembic builds the whole schema on real PostGIS, tears it down, and builds it again; models match it."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from sentrix.db import migrate
from sentrix.db.models import Base

pytestmark = pytest.mark.integration

TABLES = {
    "users",
    "refresh_tokens",
    "user_settings",
    "analyses",
    "detections",
    "rate_limit_hits",
    "login_failure_streaks",
    "map_public_cells",
    "map_public_points",
    "map_public_expiry",
    "map_public_people",
    "map_public_active",
    "map_stats_analyses",
    "map_stats_reporters",
    "map_stats_detections",
    "map_stats_found",
    "map_stats_zones",
    "deployment_keys",
    "sites",
    "site_actions",
    "territories",
    "official_territories",
    "alerts",
    "alert_sites",
    "alert_events",
    "alert_level_changes",
    "visits",
    "visit_containers",
    "visit_sites",
    "visit_analyses",
    "alert_subscriptions",
    "subscription_deliveries",
    "subscription_delivery_attempts",
}


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused")).get_current_head()


@pytest.fixture
def scratch_url(postgis):
    postgis.recreate_database("sentrix_migrations")
    return postgis.url("sentrix_migrations")


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url):
    migrate.upgrade(scratch_url)
    assert migrate.current(scratch_url) == head_revision()
    assert _tables(scratch_url) == TABLES

    migrate.downgrade(scratch_url, "base")
    assert migrate.current(scratch_url) is None
    assert _tables(scratch_url) == set()

    migrate.upgrade(scratch_url)
    assert migrate.current(scratch_url) == head_revision()
    assert _tables(scratch_url) == TABLES


def test_upgrade_is_idempotent(scratch_url):
    migrate.upgrade(scratch_url)
    migrate.upgrade(scratch_url)
    assert migrate.current(scratch_url) == head_revision()


def test_models_and_migrations_describe_the_same_schema(scratch_url):
    migrate.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": lambda obj, name, type_, *_: name != "spatial_ref_sys"}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_spatial_and_filter_indexes_exist(scratch_url):
    migrate.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"))
        indexes = dict(rows.all())
    engine.dispose()
    assert "USING gist (((location)::geography))" in indexes["ix_analyses_location_geog"]
    assert "USING gist (((location)::geography))" in indexes["ix_detections_location_geog"]
    assert "lower((email)::text)" in indexes["uq_users_email_lower"]
    assert "USING gist (geometry)" in indexes["ix_territories_geometry"]
    assert "(territory_code)" in indexes["ix_analyses_territory_code"]
    assert "WHERE (idempotency_key IS NOT NULL)" in indexes["uq_analyses_user_idempotency_key"]
    for name in (
        "ix_analyses_user_created",
        "ix_analyses_status",
        "ix_detections_expires_at",
        "ix_detections_validation_status_created_at",
    ):
        assert name in indexes


def test_enums_hold_their_final_values(scratch_url):
    migrate.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) "
                "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname"
            )
        )
        enums = {name: list(labels) for name, labels in rows.all()}
    engine.dispose()
    assert enums["analysis_status"] == ["pending_upload", "queued", "processing", "completed", "failed", "duplicate"]
    assert enums["risk_level"] == ["ALTO", "MEDIO", "BAJO", "MINIMO"]
    assert enums["validation_status"] == ["pending", "validated_positive", "validated_negative", "requires_review"]
    assert enums["breeding_site_type"] == ["Basura", "Calles mal hechas", "Charcos/Cumulo de agua", "Huecos"]
    assert enums["location_source"] == ["EXIF_GPS", "MANUAL", "NONE"]
    assert enums["user_role"] == ["user", "expert", "admin", "official"]
    assert enums["container_class"] == ["A1", "A2", "B", "C", "D1", "D2", "E"]


def test_updated_at_moves_on_raw_sql_updates(scratch_url):
    migrate.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    with engine.begin() as connection:
        user_id = connection.execute(
            text(
                "INSERT INTO users (id, email, updated_at) "
                "VALUES (gen_random_uuid(), 'a@example.org', now() - interval '1 day') RETURNING id"
            )
        ).scalar()
        stale = connection.execute(
            text("SELECT now() - updated_at > interval '23 hours' FROM users WHERE id = :id"), {"id": user_id}
        ).scalar()
    assert stale is True
    with engine.begin() as connection:
        connection.execute(text("UPDATE users SET display_name = 'Ana' WHERE id = :id"), {"id": user_id})
        age = connection.execute(
            text("SELECT now() - updated_at < interval '1 minute' FROM users WHERE id = :id"), {"id": user_id}
        ).scalar()
    engine.dispose()
    assert age is True
