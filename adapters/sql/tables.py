"""The schema, as SQLAlchemy Core tables. Migrations under migrations/ must produce exactly this."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from catalyst_adapters.sql.types import UtcDateTime, folded_key_type, sort_key_type, text_key_type
from catalyst_core.auth.model import MAX_EMAIL_LENGTH
from catalyst_core.creatives.model import MAX_FILENAME, MAX_HEADLINE, MAX_MEDIA_URL, MAX_NAME
from catalyst_core.leads.model import COMPONENTS, MAX_SOURCE
from catalyst_core.metrics.model import MAX_ENTITY_ID, MAX_ENTITY_NAME, MAX_PLATFORM
from catalyst_core.metrics.registry import BASE_NAMES

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

users = Table(
    "users", metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", sort_key_type(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("name_key", folded_key_type(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Bumped by a password change; tokens issued under another version are refused (migration 0007).
    Column("token_version", Integer, nullable=False, server_default="0"),
)

clients = Table(
    "clients", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", folded_key_type(200), nullable=False),
    Column("logo", String(2048)),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

memberships = Table(
    "memberships", metadata,
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    # "Which clients does this user belong to?" runs on every scoped request.
    Index(None, "user_id", "client_id"),
)

tasks = Table(
    "tasks", metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("name_key", folded_key_type(255), nullable=False),
    Column("task_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=False),
    # The assignees in their given order, so a page of tasks is one query; task_assignees below
    # indexes the same list for the by_me / other_people / assignee_id filters.
    Column("assignees", JSON, nullable=False),
    Column("due_date", UtcDateTime),
    Column("description", Text),
    # The description casefolded (NULL without one): what text search looks in, with name_key
    # (migration 0009, adapters/sql/text_search.py).
    Column("description_key", text_key_type()),
    Column("related_object_id", String(255)),
    Column("related_object_type", String(64)),
    Column("completed_by", Uuid, ForeignKey("users.id")),
    Column("completed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "client_id", "created_at", "id"),
    Index(None, "client_id", "status", "created_at", "id"),
    Index(None, "client_id", "due_date"),
)

# Maintained by triggers (migration 0003): the number of tasks per client and status, so the most
# common task lists answer total_items without counting rows.
task_counts = Table(
    "task_counts", metadata,
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("n", Integer, nullable=False),
)

task_assignees = Table(
    "task_assignees", metadata,
    Column("task_id", Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "user_id", "task_id"),
)

comments = Table(
    "comments", metadata,
    Column("id", Uuid, primary_key=True),
    Column("task_id", Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "task_id", "created_at", "id"),
)


# -- performance data (migration 0004) --------------------------------------------------------------
# Money columns hold integer micros (exact sums on both databases); text keys compare code point by
# code point. SQLite keeps these tables clustered by their primary key (WITHOUT ROWID): a report
# reads a client's days in key order.


def _sums() -> list[Column[int]]:
    """The summed columns of the rollups: how many rows, then each base metric."""
    return [Column("row_count", BigInteger, nullable=False),
            *(Column(name, BigInteger, nullable=False) for name in BASE_NAMES)]


performance_rows = Table(
    "performance_rows", metadata,
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("platform", sort_key_type(MAX_PLATFORM), primary_key=True),
    Column("ad_id", sort_key_type(MAX_ENTITY_ID), primary_key=True),
    Column("campaign_id", sort_key_type(MAX_ENTITY_ID), nullable=False),
    Column("campaign_name", String(MAX_ENTITY_NAME)),
    Column("adset_id", sort_key_type(MAX_ENTITY_ID), nullable=False),
    Column("adset_name", String(MAX_ENTITY_NAME)),
    Column("ad_name", String(MAX_ENTITY_NAME)),
    *(Column(name, BigInteger, nullable=False) for name in BASE_NAMES),
    sqlite_with_rowid=False,
)

# Kept exact at ingestion (SqlPerformanceRepo.upsert applies each batch's differences): a client's
# totals per day, for the growth report, and per month and ad, for the performance report, which
# reads raw rows only for the partial months at the ends of its range.
performance_days = Table(
    "performance_days", metadata,
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("date", Date, primary_key=True),
    *_sums(),
    sqlite_with_rowid=False,
)

performance_months = Table(
    "performance_months", metadata,
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("month", Date, primary_key=True),  # the first day of the month
    Column("platform", sort_key_type(MAX_PLATFORM), primary_key=True),
    Column("campaign_id", sort_key_type(MAX_ENTITY_ID), primary_key=True),
    Column("adset_id", sort_key_type(MAX_ENTITY_ID), primary_key=True),
    Column("ad_id", sort_key_type(MAX_ENTITY_ID), primary_key=True),
    *_sums(),
    sqlite_with_rowid=False,
)

# The newest name of each campaign, ad set and ad, with the date of the row that gave it.
performance_names = Table(
    "performance_names", metadata,
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("platform", sort_key_type(MAX_PLATFORM), primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("entity_id", sort_key_type(MAX_ENTITY_ID), primary_key=True),
    Column("name", String(MAX_ENTITY_NAME), nullable=False),
    Column("as_of", Date, nullable=False),
    sqlite_with_rowid=False,
)


# -- alerts, their instances, and the outbox (migration 0005) ----------------------------------------
# A configuration's nested parts (condition, action, frequency) are JSON in their wire form, money
# and thresholds as decimal text so they stay exact; the scheduler finds due alerts by next_run_at,
# which is NULL while an alert is disabled.

alerts = Table(
    "alerts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("alert_type", String(32), nullable=False),
    Column("is_enabled", Boolean, nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("data_level", String(16), nullable=False),
    Column("condition", JSON, nullable=False),
    Column("action", JSON, nullable=False),
    Column("data_source", String(64), nullable=False),
    Column("frequency", JSON, nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("next_run_at", UtcDateTime),
    Column("last_run_at", UtcDateTime),
    Index(None, "client_id", "created_at", "id"),
    Index(None, "next_run_at", "id"),
)

# entity_hash is the SHA-256 of entity_key (hex): the key can be longer than an index entry may be,
# and at most one triggered instance per alert and entity is enforced by a partial unique index.
alert_instances = Table(
    "alert_instances", metadata,
    Column("id", Uuid, primary_key=True),
    Column("alert_id", Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("alert_name", String(200), nullable=False),
    Column("entity_key", Text, nullable=False),
    Column("entity_hash", String(64), nullable=False),
    Column("alert_data", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("triggered_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("trigger_count", Integer, nullable=False),
    Column("task_id", Uuid, ForeignKey("tasks.id", ondelete="SET NULL")),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", Uuid, ForeignKey("users.id")),
    Column("resolution_notes", Text),
    Column("version", Integer, nullable=False),
    Index("uq_alert_instances_triggered_entity", "alert_id", "entity_hash", unique=True,
          sqlite_where=text("status = 'triggered'"), postgresql_where=text("status = 'triggered'")),
    Index(None, "client_id", "triggered_at", "id"),
    Index(None, "alert_id", "triggered_at", "id"),
    Index(None, "task_id"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("failed_at", UtcDateTime),
    Index(None, "next_attempt_at", "id"),
)


# -- lead scoring (migration 0006) -------------------------------------------------------------------
# Scores are doubles, exact on both databases; a scoring's explanation and raw data are JSON as the
# caller gave them. Emails and sources compare code point by code point, as the in-memory adapter does.

lead_settings = Table(
    "lead_settings", metadata,
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("weights", JSON, nullable=False),
    Column("ideal_customer", JSON, nullable=False),
    Column("thresholds", JSON, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("updated_by", Uuid, ForeignKey("users.id")),
)


def _scoring_columns() -> list[Column[Any]]:
    """A scoring: the current one of a result, or an earlier one in its history."""
    return [Column("score", Double, nullable=False),
            *(Column(name, Double, nullable=False) for name in COMPONENTS),
            Column("label", String(8), nullable=False),
            Column("explanation", JSON, nullable=False),
            Column("raw_data", JSON, nullable=False),
            Column("source", sort_key_type(MAX_SOURCE)),
            Column("scored_at", UtcDateTime, nullable=False)]


lead_results = Table(
    "lead_results", metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("email", sort_key_type(MAX_EMAIL_LENGTH), nullable=False),
    *_scoring_columns(),
    Column("created_at", UtcDateTime, nullable=False),
    Column("scored_count", Integer, nullable=False),
    UniqueConstraint("client_id", "email"),  # also serves by_emails and the list sorted by email
    Index(None, "client_id", "score", "id"),
    Index(None, "client_id", "scored_at", "id"),
    Index(None, "client_id", "created_at", "id"),
)

lead_history = Table(
    "lead_history", metadata,
    Column("id", Uuid, primary_key=True),
    Column("lead_id", Uuid, ForeignKey("lead_results.id", ondelete="CASCADE"), nullable=False),
    *_scoring_columns(),
    Index(None, "lead_id", "scored_at", "id"),
)


# -- creative submissions (migration 0008) ---------------------------------------------------------
# The media is a link (media_url) or a file in the BlobStore under media_key; the review task is
# linked both ways (tasks.related_object_id names the submission) and may be deleted on its own.

creative_submissions = Table(
    "creative_submissions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("client_id", Uuid, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(MAX_NAME), nullable=False),
    Column("name_key", folded_key_type(MAX_NAME), nullable=False),
    Column("ad_type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("media_url", String(MAX_MEDIA_URL)),
    Column("media_key", String(64), unique=True),
    Column("media_filename", String(MAX_FILENAME)),
    Column("media_size", BigInteger),
    Column("media_content_type", String(100)),
    Column("media_width", Integer),
    Column("media_height", Integer),
    Column("ad_script", Text),
    Column("headline", String(MAX_HEADLINE)),
    Column("primary_text", Text),
    Column("submitted_by", Uuid, ForeignKey("users.id"), nullable=False),
    Column("task_id", Uuid, ForeignKey("tasks.id", ondelete="SET NULL")),
    Column("reviewed_by", Uuid, ForeignKey("users.id")),
    Column("reviewed_at", UtcDateTime),
    Column("rejection_reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "client_id", "created_at", "id"),
    Index(None, "client_id", "updated_at", "id"),
    Index(None, "client_id", "name_key", "id"),
    Index(None, "client_id", "status", "created_at", "id"),
)
