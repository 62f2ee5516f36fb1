"""Field visits: the premises inspections behind the larval indices (docs/visits.md).

- `visits`: one inspection of a block or area by a team on a day, in a territory: premises visited, closed,
  refused, inspected (= visited - closed - refused) and positive (at least one container with larvae or
  pupae); pupae counted (null: not counted); who recorded it. The counts' rules are CHECK constraints too.
- `visit_containers`: per visit and LIRAa container class (A1, A2, B, C, D1, D2, E), the water-holding
  containers inspected and the positive ones.
- `visit_sites`, `visit_analyses`: the sites the visit checked and the analyses photographed during it.

A visit is a record of what a team saw: the application role may SELECT and INSERT these tables, never UPDATE
or DELETE them (the default privileges of 0009 would give both; taken back here). A deleted analysis leaves its
links by ON DELETE CASCADE (owner's rights).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from sentrix.db.migrations.earlier import migration

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CLASSES = ("A1", "A2", "B", "C", "D1", "D2", "E")
TABLES = ("visits", "visit_containers", "visit_sites", "visit_analyses")


M9 = migration("0009_application_role.py")


def upgrade() -> None:
    container_class = postgresql.ENUM(*CLASSES, name="container_class", create_type=False)
    container_class.create(op.get_bind(), checkfirst=False)

    op.create_table(
        "visits",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("territory_code", sa.String(length=64), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("premises_visited", sa.Integer(), nullable=False),
        sa.Column("premises_closed", sa.Integer(), nullable=False),
        sa.Column("premises_refused", sa.Integer(), nullable=False),
        sa.Column("premises_inspected", sa.Integer(), nullable=False),
        sa.Column("premises_positive", sa.Integer(), nullable=False),
        sa.Column("pupae", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "premises_closed >= 0 AND premises_refused >= 0 AND premises_positive >= 0 AND premises_inspected >= 0 "
            "AND premises_inspected = premises_visited - premises_closed - premises_refused",
            name=op.f("ck_visits_premises_add_up"),
        ),
        sa.CheckConstraint("premises_positive <= premises_inspected", name=op.f("ck_visits_positive_premises")),
        sa.CheckConstraint("pupae IS NULL OR pupae >= 0", name=op.f("ck_visits_pupae")),
        sa.ForeignKeyConstraint(
            ["territory_code"],
            ["territories.code"],
            name=op.f("fk_visits_territory_code_territories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_visits_recorded_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index(op.f("ix_visits_territory_code_visited_on"), "visits", ["territory_code", "visited_on"])
    op.create_index(op.f("ix_visits_visited_on"), "visits", ["visited_on"])

    op.create_table(
        "visit_containers",
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("container_class", container_class, nullable=False),
        sa.Column("inspected", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.CheckConstraint("positive >= 0 AND positive <= inspected", name=op.f("ck_visit_containers_positive")),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_containers_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("visit_id", "container_class", name=op.f("pk_visit_containers")),
    )
    op.create_table(
        "visit_sites",
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("site_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_sites_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_visit_sites_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("visit_id", "site_id", name=op.f("pk_visit_sites")),
    )
    op.create_index(op.f("ix_visit_sites_site_id"), "visit_sites", ["site_id"])
    op.create_table(
        "visit_analyses",
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("analysis_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_analyses_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["analysis_id"], ["analyses.id"], name=op.f("fk_visit_analyses_analysis_id_analyses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("visit_id", "analysis_id", name=op.f("pk_visit_analyses")),
    )
    op.create_index(op.f("ix_visit_analyses_analysis_id"), "visit_analyses", ["analysis_id"])

    role = M9.app_role()
    for table in TABLES:
        op.execute(f'REVOKE UPDATE, DELETE ON TABLE {table} FROM "{role}"')


def downgrade() -> None:
    op.drop_index(op.f("ix_visit_analyses_analysis_id"), table_name="visit_analyses")
    op.drop_table("visit_analyses")
    op.drop_index(op.f("ix_visit_sites_site_id"), table_name="visit_sites")
    op.drop_table("visit_sites")
    op.drop_table("visit_containers")
    op.drop_index(op.f("ix_visits_visited_on"), table_name="visits")
    op.drop_index(op.f("ix_visits_territory_code_visited_on"), table_name="visits")
    op.drop_table("visits")
    op.execute("DROP TYPE container_class")
