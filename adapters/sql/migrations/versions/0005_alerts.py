"""Alerts, their instances, and the outbox of durable notifications.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from catalyst_adapters.sql.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# At most one triggered instance per alert and entity; resolved and dismissed ones may repeat.
_TRIGGERED = sa.text("status = 'triggered'")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid),
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("alert_type", sa.String(32), nullable=False),
        sa.Column("is_enabled", sa.Boolean, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("data_level", sa.String(16), nullable=False),
        sa.Column("condition", sa.JSON, nullable=False),
        sa.Column("action", sa.JSON, nullable=False),
        sa.Column("data_source", sa.String(64), nullable=False),
        sa.Column("frequency", sa.JSON, nullable=False),
        sa.Column("created_by", sa.Uuid, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("next_run_at", UtcDateTime),
        sa.Column("last_run_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_alerts_client_id_clients"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_alerts_created_by_users"),
    )
    op.create_index("ix_alerts_client_id_created_at_id", "alerts", ["client_id", "created_at", "id"])
    op.create_index("ix_alerts_next_run_at_id", "alerts", ["next_run_at", "id"])
    op.create_table(
        "alert_instances",
        sa.Column("id", sa.Uuid),
        sa.Column("alert_id", sa.Uuid, nullable=False),
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("alert_name", sa.String(200), nullable=False),
        sa.Column("entity_key", sa.Text, nullable=False),
        sa.Column("entity_hash", sa.String(64), nullable=False),
        sa.Column("alert_data", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("triggered_at", UtcDateTime, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
        sa.Column("trigger_count", sa.Integer, nullable=False),
        sa.Column("task_id", sa.Uuid),
        sa.Column("resolved_at", UtcDateTime),
        sa.Column("resolved_by", sa.Uuid),
        sa.Column("resolution_notes", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_instances"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE",
                                name="fk_alert_instances_alert_id_alerts"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_alert_instances_client_id_clients"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="SET NULL",
                                name="fk_alert_instances_task_id_tasks"),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"],
                                name="fk_alert_instances_resolved_by_users"),
    )
    op.create_index("uq_alert_instances_triggered_entity", "alert_instances",
                    ["alert_id", "entity_hash"], unique=True,
                    sqlite_where=_TRIGGERED, postgresql_where=_TRIGGERED)
    op.create_index("ix_alert_instances_client_id_triggered_at_id", "alert_instances",
                    ["client_id", "triggered_at", "id"])
    op.create_index("ix_alert_instances_alert_id_triggered_at_id", "alert_instances",
                    ["alert_id", "triggered_at", "id"])
    op.create_index("ix_alert_instances_task_id", "alert_instances", ["task_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("failed_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_next_attempt_at_id", "outbox", ["next_attempt_at", "id"])


def downgrade() -> None:
    for table in ("outbox", "alert_instances", "alerts"):
        op.drop_table(table)
