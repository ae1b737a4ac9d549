"""Users, clients and memberships.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from catalyst_adapters.sql.types import UtcDateTime, sort_key_type

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("email", sort_key_type(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sort_key_type(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.Uuid),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sort_key_type(200), nullable=False),
        sa.Column("logo", sa.String(2048)),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clients"),
    )
    op.create_table(
        "memberships",
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("added_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "user_id", name="pk_memberships"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_memberships_client_id_clients"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_memberships_user_id_users"),
    )
    op.create_index("ix_memberships_user_id_client_id", "memberships", ["user_id", "client_id"])


def downgrade() -> None:
    op.drop_table("memberships")
    op.drop_table("clients")
    op.drop_table("users")
