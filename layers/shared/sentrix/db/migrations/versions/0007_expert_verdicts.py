"""Expert verdicts drive every read: a rejected detection ends its validity and leaves the current risk and
the public map rollup; the model's own assessment is kept beside the current one.

- `analyses.model_*`: the model's assessment at detection time (level, score, ALTO/MEDIO counts, types);
  the existing risk columns become the *current* assessment, recomputed from the detections an expert has
  not rejected in the same transaction as every verdict (`sentrix.repositories.verdicts`);
  `assessed_detections` is how many detections the current assessment counts.
- `detections.unrejected_expires_at`: a rejection ends the validity at once (`expires_at` = the rejection,
  or earlier if it had already ended); the expiry it ended is kept here and restored if the verdict is taken
  back.
- The map rollup (0004, 0005) counts only detections that are not rejected, and a verdict that rejects or
  un-rejects a detection recomputes its cell. Analyses without detections are no longer points (they are
  no heat); they still count among a cell's reports.
- The covering index of active sites carries the verdict, so the hotspot query stays index-only.

Backfill: model columns copied from the current ones; existing rejections end their detections' validity;
analyses with rejected detections get their current risk recomputed (the same rules the functions use).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from sentrix.db.migrations.earlier import migration

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NOT_REJECTED = "d.validation_status <> 'validated_negative'"
POINTS_INCLUDE = ["analysis_id", "location", "place", "id", "created_at", "breeding_site_type", "risk_level"]


M5 = migration("0005_public_tile_rollup.py")


def _replace(text: str, old: str, new: str, count: int) -> str:
    # Each rewrite must hit exactly the places it is meant for: a frozen text that changed fails loudly.
    found = text.count(old)
    if found != count:
        raise RuntimeError(f"expected {count} occurrence(s) of {old!r}, found {found}")
    return text.replace(old, new)


def _rollup_join(text: str, count: int) -> str:
    return _replace(
        text,
        "FROM an JOIN detections d ON d.analysis_id = an.id",
        f"FROM an JOIN detections d ON d.analysis_id = an.id AND {NOT_REJECTED}",
        count,
    )


# Analyses without detections are no heat (nor tile features): the rollup's points no longer hold them.
BARE_POINTS = """
    UNION ALL
    SELECT cx, cy, NULL, 0, min(coalesce(risk_level, 'BAJO')), max(created_at), 0, NULL
    FROM an WHERE total_detections = 0
    GROUP BY 1, 2"""


def _points_without_bare(text: str) -> str:
    return _replace(text, BARE_POINTS, "", 1)


REFRESH = _points_without_bare(_rollup_join(M5.REFRESH, 2))
REBUILD = _points_without_bare(_rollup_join(M5.REBUILD, 2))
# Analyses becoming counted add to their cells' report counts only (0004 also added a bare point).
ADD_ANALYSES = """
CREATE OR REPLACE FUNCTION map_public_add_analyses(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    xs float8[];
    ys float8[];
BEGIN
    SELECT array_agg(cx ORDER BY cx, cy), array_agg(cy ORDER BY cx, cy) INTO xs, ys FROM (
        SELECT DISTINCT floor(ST_X(location) / CAST(0.01 AS float8)) AS cx,
                        floor(ST_Y(location) / CAST(0.01 AS float8)) AS cy
        FROM unnest(ids) AS i (id) JOIN analyses USING (id) WHERE status = 'completed' AND location IS NOT NULL
    ) AS c;
    IF xs IS NULL THEN
        RETURN;
    END IF;
    PERFORM map_public_lock(xs, ys);
    UPDATE map_public_cells m SET reports = m.reports + k.c
    FROM (
        SELECT floor(ST_X(location) / CAST(0.01 AS float8)) AS cx, floor(ST_Y(location) / CAST(0.01 AS float8)) AS cy,
               count(*) AS c
        FROM unnest(ids) AS i (id) JOIN analyses USING (id) WHERE status = 'completed' AND location IS NOT NULL
        GROUP BY 1, 2
    ) AS k
    WHERE m.cx = k.cx AND m.cy = k.cy;
END $$
"""
M4_ADD_ANALYSES = next(f for f in M5.M4.FUNCTIONS if "CREATE FUNCTION map_public_add_analyses" in f).replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
)
ADD_DETECTIONS = _replace(
    M5.ADD_DETECTIONS,
    "WHERE a.status = 'completed' AND a.location IS NOT NULL",
    f"WHERE a.status = 'completed' AND a.location IS NOT NULL AND {NOT_REJECTED}",
    3,
)
DETECTIONS_UPDATED = _replace(
    _replace(
        M5.DETECTIONS_UPDATED,
        "-- Validations change nothing here: only the analysis, type, risk and expiry count.",
        "-- The analysis, type, risk and expiry count, and whether an expert rejected the detection.",
        1,
    ),
    """        WHERE (o.analysis_id, o.breeding_site_type, o.risk_level, o.expires_at)
              IS DISTINCT FROM (n.analysis_id, n.breeding_site_type, n.risk_level, n.expires_at)""",
    """        WHERE (o.analysis_id, o.breeding_site_type, o.risk_level, o.expires_at,
               o.validation_status = 'validated_negative')
              IS DISTINCT FROM (n.analysis_id, n.breeding_site_type, n.risk_level, n.expires_at,
               n.validation_status = 'validated_negative')""",
    1,
)
FUNCTIONS = [REFRESH, REBUILD, ADD_ANALYSES, ADD_DETECTIONS, DETECTIONS_UPDATED]

MODEL_COLUMNS = {
    "model_risk_level": "risk_level",
    "model_risk_score": "risk_score",
    "model_high_risk_count": "high_risk_count",
    "model_medium_risk_count": "medium_risk_count",
    "model_unique_types": "unique_types",
}


def _points_index(include: list[str]) -> None:
    op.drop_index("ix_detections_expires_at_points", table_name="detections")
    op.create_index(
        "ix_detections_expires_at_points", "detections", ["expires_at"], unique=False, postgresql_include=include
    )


def _recompute_current_risk(bind: sa.engine.Connection) -> None:
    """Current risk of every analysis with a rejected detection, from the others (the functions' own rules)."""
    from sentrix.domain.risk import assess_risk

    found = bind.execute(
        sa.text(
            """
            SELECT a.id, d.class_name, d.validation_status = 'validated_negative' AS rejected
            FROM analyses a JOIN detections d ON d.analysis_id = a.id
            WHERE a.risk_level IS NOT NULL AND EXISTS (
                SELECT 1 FROM detections r WHERE r.analysis_id = a.id AND r.validation_status = 'validated_negative')
            ORDER BY a.id
            """
        )
    ).all()
    kept: dict = {}
    for analysis_id, class_name, rejected in found:
        kept.setdefault(analysis_id, [])  # every such analysis is recomputed, even when nothing is left
        if not rejected:
            kept[analysis_id].append(class_name)
    update = sa.text(
        """
        UPDATE analyses SET risk_level = CAST(:level AS risk_level), risk_score = :score,
               assessed_detections = :total, high_risk_count = :high, medium_risk_count = :medium,
               unique_types = :unique_, recommendations = CAST(:advice AS jsonb)
        WHERE id = :id
        """
    )
    for analysis_id, names in kept.items():
        risk = assess_risk(names)
        bind.execute(
            update,
            {
                "id": analysis_id,
                "level": risk.level.value,
                "score": risk.score,
                "total": risk.total,
                "high": risk.high,
                "medium": risk.medium,
                "unique_": risk.unique,
                "advice": json.dumps(list(risk.recommendations), ensure_ascii=False),
            },
        )


def upgrade() -> None:
    # Random keys per deployment (reporter pseudonyms in reports): made by the application on first use.
    op.create_table(
        "deployment_keys",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_deployment_keys")),
    )
    op.add_column(
        "analyses", sa.Column("assessed_detections", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "analyses",
        sa.Column("model_risk_level", postgresql.ENUM(name="risk_level", create_type=False), nullable=True),
    )
    op.add_column("analyses", sa.Column("model_risk_score", sa.Float(), nullable=True))
    for name in ("model_high_risk_count", "model_medium_risk_count", "model_unique_types"):
        op.add_column("analyses", sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("detections", sa.Column("unrejected_expires_at", sa.DateTime(timezone=True), nullable=True))
    _points_index([*POINTS_INCLUDE, "validation_status"])
    for statement in FUNCTIONS:
        op.execute(statement)

    copies = ", ".join(f"{model} = {current}" for model, current in MODEL_COLUMNS.items())
    op.execute(f"UPDATE analyses SET {copies}, assessed_detections = total_detections")  # noqa: S608
    op.execute(
        """
        UPDATE detections SET unrejected_expires_at = expires_at,
                              expires_at = LEAST(expires_at, coalesce(validated_at, now()))
        WHERE validation_status = 'validated_negative'
        """
    )
    _recompute_current_risk(op.get_bind())
    op.execute("SELECT map_public_rebuild()")


def downgrade() -> None:
    op.execute(
        """
        UPDATE detections SET expires_at = unrejected_expires_at
        WHERE validation_status = 'validated_negative' AND unrejected_expires_at IS NOT NULL
        """
    )
    restore = ", ".join(f"{current} = {model}" for model, current in MODEL_COLUMNS.items())
    op.execute(f"UPDATE analyses SET {restore} WHERE model_risk_level IS NOT NULL")  # noqa: S608
    for statement in (M5.REFRESH, M5.REBUILD, M4_ADD_ANALYSES, M5.ADD_DETECTIONS, M5.DETECTIONS_UPDATED):
        op.execute(statement)
    _points_index(POINTS_INCLUDE)
    op.drop_column("detections", "unrejected_expires_at")
    for name in (*MODEL_COLUMNS, "assessed_detections"):
        op.drop_column("analyses", name)
    op.drop_table("deployment_keys")
    op.execute("SELECT map_public_rebuild()")
