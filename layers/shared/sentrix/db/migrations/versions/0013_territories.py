"""Territories: a hierarchy of polygons (city → health area → neighbourhood) that analyses and sites are tagged
with (docs/territories.md).

- `territories`: a unique code, a name, an optional parent code (FK, the hierarchy), its depth (0 for a root),
  a MultiPolygon in WGS 84 with a GiST index, its area in square metres (geography), who imported it and when.
- `analyses.territory_code` (indexed): the smallest territory covering the analysis' point; sites already
  carry theirs (0012).
- `territory_at(point)`: that smallest territory — ST_Covers (the border belongs to the polygon), the
  smallest area wins, equal areas the lowest code (the border rule, docs/territories.md).

The application role may SELECT, INSERT and UPDATE territories (an import updates an existing code; the
functions never delete one): the default privileges of 0009 would also give it DELETE, taken back here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from sentrix.db.migrations.earlier import migration

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


M9 = migration("0009_application_role.py")

TERRITORY_AT = """
CREATE FUNCTION territory_at(p geometry) RETURNS varchar
LANGUAGE sql STABLE AS $$
    SELECT t.code FROM territories t
    WHERE p IS NOT NULL AND t.geometry && p AND ST_Covers(t.geometry, p)
    ORDER BY t.area_m2, t.code
    LIMIT 1
$$
"""


def upgrade() -> None:
    op.create_table(
        "territories",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("depth", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("geometry", Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["territories.code"],
            name=op.f("fk_territories_parent_code_territories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_territories_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_territories")),
    )
    op.create_index("ix_territories_geometry", "territories", ["geometry"], postgresql_using="gist")
    op.create_index(op.f("ix_territories_parent_code"), "territories", ["parent_code"], unique=False)
    op.create_index(op.f("ix_territories_depth"), "territories", ["depth"], unique=False)

    op.add_column("analyses", sa.Column("territory_code", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_analyses_territory_code"), "analyses", ["territory_code"], unique=False)

    op.execute(TERRITORY_AT)

    role = M9.app_role()
    op.execute(f'REVOKE DELETE ON TABLE territories FROM "{role}"')


def downgrade() -> None:
    op.execute("DROP FUNCTION territory_at(geometry)")
    op.drop_index(op.f("ix_analyses_territory_code"), table_name="analyses")
    op.drop_column("analyses", "territory_code")
    op.drop_index(op.f("ix_territories_depth"), table_name="territories")
    op.drop_index(op.f("ix_territories_parent_code"), table_name="territories")
    op.drop_index("ix_territories_geometry", table_name="territories")
    op.drop_table("territories")
