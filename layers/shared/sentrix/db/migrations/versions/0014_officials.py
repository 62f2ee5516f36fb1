"""Officials: the role `official` and the territories each official is scoped to (docs/territories.md).

- `user_role` gains `official`.
- `official_territories` (user, territory code): an official sees everything inside these territories and
  every territory below them. Admins replace a user's set (PUT /users/{id}/territories).

The application role may SELECT, INSERT and DELETE official_territories (a new set replaces the old one); the
default privileges of 0009 would also give it UPDATE, taken back here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sentrix.db.migrations.earlier import migration

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


M9 = migration("0009_application_role.py")


def upgrade() -> None:
    op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'official'")
    op.create_table(
        "official_territories",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("territory_code", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("assigned_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_official_territories_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["territory_code"],
            ["territories.code"],
            name=op.f("fk_official_territories_territory_code_territories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["users.id"], name=op.f("fk_official_territories_assigned_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("user_id", "territory_code", name=op.f("pk_official_territories")),
    )
    role = M9.app_role()
    op.execute(f'REVOKE UPDATE ON TABLE official_territories FROM "{role}"')


def downgrade() -> None:
    op.drop_table("official_territories")
    # PostgreSQL cannot drop an enum value: officials become users, and the type is rebuilt without it.
    op.execute("UPDATE users SET role = 'user' WHERE role = 'official'")
    op.execute("ALTER TABLE users ALTER COLUMN role DROP DEFAULT")
    op.execute("ALTER TYPE user_role RENAME TO user_role_old")
    op.execute("CREATE TYPE user_role AS ENUM ('user', 'expert', 'admin')")
    op.execute("ALTER TABLE users ALTER COLUMN role TYPE user_role USING role::text::user_role")
    op.execute("ALTER TABLE users ALTER COLUMN role SET DEFAULT 'user'")
    op.execute("DROP TYPE user_role_old")
