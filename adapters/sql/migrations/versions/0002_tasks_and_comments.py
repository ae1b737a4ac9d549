"""Tasks, their assignees and comments.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from catalyst_adapters.sql.types import UtcDateTime, sort_key_type

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid),
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("name_key", sort_key_type(255), nullable=False),
        sa.Column("task_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Uuid, nullable=False),
        sa.Column("assignees", sa.JSON, nullable=False),
        sa.Column("due_date", UtcDateTime),
        sa.Column("description", sa.Text),
        sa.Column("related_object_id", sa.String(255)),
        sa.Column("related_object_type", sa.String(64)),
        sa.Column("completed_by", sa.Uuid),
        sa.Column("completed_at", UtcDateTime),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_tasks_client_id_clients"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_tasks_created_by_users"),
        sa.ForeignKeyConstraint(["completed_by"], ["users.id"], name="fk_tasks_completed_by_users"),
    )
    op.create_index("ix_tasks_client_id_created_at_id", "tasks", ["client_id", "created_at", "id"])
    op.create_index("ix_tasks_client_id_status_created_at_id", "tasks",
                    ["client_id", "status", "created_at", "id"])
    op.create_index("ix_tasks_client_id_due_date", "tasks", ["client_id", "due_date"])
    op.create_table(
        "task_assignees",
        sa.Column("task_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.PrimaryKeyConstraint("task_id", "user_id", name="pk_task_assignees"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE",
                                name="fk_task_assignees_task_id_tasks"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_task_assignees_user_id_users"),
    )
    op.create_index("ix_task_assignees_user_id_task_id", "task_assignees", ["user_id", "task_id"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Uuid),
        sa.Column("task_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE",
                                name="fk_comments_task_id_tasks"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_comments_user_id_users"),
    )
    op.create_index("ix_comments_task_id_created_at_id", "comments", ["task_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("comments")
    op.drop_table("task_assignees")
    op.drop_table("tasks")
