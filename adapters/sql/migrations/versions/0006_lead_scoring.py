"""Lead scoring: each client's settings, its leads' current results, and their earlier scorings.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from catalyst_adapters.sql.types import UtcDateTime, sort_key_type

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _scoring_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("score", sa.Double, nullable=False),
            sa.Column("engagement", sa.Double, nullable=False),
            sa.Column("demographic", sa.Double, nullable=False),
            sa.Column("behavioral", sa.Double, nullable=False),
            sa.Column("label", sa.String(8), nullable=False),
            sa.Column("explanation", sa.JSON, nullable=False),
            sa.Column("raw_data", sa.JSON, nullable=False),
            sa.Column("source", sort_key_type(100)),
            sa.Column("scored_at", UtcDateTime, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "lead_settings",
        sa.Column("client_id", sa.Uuid),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.Column("ideal_customer", sa.JSON, nullable=False),
        sa.Column("thresholds", sa.JSON, nullable=False),
        sa.Column("updated_at", UtcDateTime),
        sa.Column("updated_by", sa.Uuid),
        sa.PrimaryKeyConstraint("client_id", name="pk_lead_settings"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_lead_settings_client_id_clients"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_lead_settings_updated_by_users"),
    )
    op.create_table(
        "lead_results",
        sa.Column("id", sa.Uuid),
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("email", sort_key_type(254), nullable=False),
        *_scoring_columns(),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("scored_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lead_results"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                name="fk_lead_results_client_id_clients"),
        sa.UniqueConstraint("client_id", "email", name="uq_lead_results_client_id_email"),
    )
    for columns in (["client_id", "score", "id"], ["client_id", "scored_at", "id"],
                    ["client_id", "created_at", "id"]):
        op.create_index(f"ix_lead_results_{'_'.join(columns)}", "lead_results", columns)
    op.create_table(
        "lead_history",
        sa.Column("id", sa.Uuid),
        sa.Column("lead_id", sa.Uuid, nullable=False),
        *_scoring_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_lead_history"),
        sa.ForeignKeyConstraint(["lead_id"], ["lead_results.id"], ondelete="CASCADE",
                                name="fk_lead_history_lead_id_lead_results"),
    )
    op.create_index("ix_lead_history_lead_id_scored_at_id", "lead_history", ["lead_id", "scored_at", "id"])


def downgrade() -> None:
    for table in ("lead_history", "lead_results", "lead_settings"):
        op.drop_table(table)
