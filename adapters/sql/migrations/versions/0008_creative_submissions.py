"""Creative submissions: the creative, its media (a link or a stored file) and its review.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from catalyst_adapters.sql.types import UtcDateTime, folded_key_type

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "creative_submissions",
        sa.Column("id", sa.Uuid),
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("name_key", folded_key_type(255), nullable=False),
        sa.Column("ad_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("media_url", sa.String(2048)),
        sa.Column("media_key", sa.String(64)),
        sa.Column("media_filename", sa.String(255)),
        sa.Column("media_size", sa.BigInteger),
        sa.Column("media_content_type", sa.String(100)),
        sa.Column("media_width", sa.Integer),
        sa.Column("media_height", sa.Integer),
        sa.Column("ad_script", sa.Text),
        sa.Column("headline", sa.String(255)),
        sa.Column("primary_text", sa.Text),
        sa.Column("submitted_by", sa.Uuid, nullable=False),
        sa.Column("task_id", sa.Uuid),
        sa.Column("reviewed_by", sa.Uuid),
        sa.Column("reviewed_at", UtcDateTime),
        sa.Column("rejection_reason", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_creative_submissions"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_creative_submissions_client_id_clients"),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"],
                                name="fk_creative_submissions_submitted_by_users"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="SET NULL",
                                name="fk_creative_submissions_task_id_tasks"),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"],
                                name="fk_creative_submissions_reviewed_by_users"),
        sa.UniqueConstraint("media_key", name="uq_creative_submissions_media_key"),
    )
    for columns in (["client_id", "created_at", "id"], ["client_id", "updated_at", "id"],
                    ["client_id", "name_key", "id"], ["client_id", "status", "created_at", "id"]):
        op.create_index(f"ix_creative_submissions_{'_'.join(columns)}", "creative_submissions",
                        columns)


def downgrade() -> None:
    op.drop_table("creative_submissions")
