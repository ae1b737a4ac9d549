"""Ad performance data: the daily rows per ad, their rollups per day and per month, entity names.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from catalyst_adapters.sql.types import sort_key_type

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The base metrics as this revision stores them (money in integer micros).
_METRICS = ("spend", "impressions", "clicks", "landing_page_views", "leads", "conversions", "revenue")


def _metrics() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger, nullable=False) for name in _METRICS]


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_client_id_clients")


def upgrade() -> None:
    op.create_table(
        "performance_rows",
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("platform", sort_key_type(64), nullable=False),
        sa.Column("ad_id", sort_key_type(255), nullable=False),
        sa.Column("campaign_id", sort_key_type(255), nullable=False),
        sa.Column("campaign_name", sa.String(512)),
        sa.Column("adset_id", sort_key_type(255), nullable=False),
        sa.Column("adset_name", sa.String(512)),
        sa.Column("ad_name", sa.String(512)),
        *_metrics(),
        sa.PrimaryKeyConstraint("client_id", "date", "platform", "ad_id", name="pk_performance_rows"),
        _client_fk("performance_rows"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "performance_days",
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        *_metrics(),
        sa.PrimaryKeyConstraint("client_id", "date", name="pk_performance_days"),
        _client_fk("performance_days"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "performance_months",
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("platform", sort_key_type(64), nullable=False),
        sa.Column("campaign_id", sort_key_type(255), nullable=False),
        sa.Column("adset_id", sort_key_type(255), nullable=False),
        sa.Column("ad_id", sort_key_type(255), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        *_metrics(),
        sa.PrimaryKeyConstraint("client_id", "month", "platform", "campaign_id", "adset_id", "ad_id",
                                name="pk_performance_months"),
        _client_fk("performance_months"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "performance_names",
        sa.Column("client_id", sa.Uuid, nullable=False),
        sa.Column("platform", sort_key_type(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("entity_id", sort_key_type(255), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "platform", "level", "entity_id",
                                name="pk_performance_names"),
        _client_fk("performance_names"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in ("performance_names", "performance_months", "performance_days", "performance_rows"):
        op.drop_table(table)
