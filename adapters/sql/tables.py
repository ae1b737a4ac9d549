"""The schema, as SQLAlchemy Core tables. Migrations under migrations/ must produce exactly this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

from catalyst_adapters.sql.types import UtcDateTime, sort_key_type

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
    Column("name_key", sort_key_type(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

clients = Table(
    "clients", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", sort_key_type(200), nullable=False),
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
    Column("name_key", sort_key_type(255), nullable=False),
    Column("task_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=False),
    # The assignees in their given order, so a page of tasks is one query; task_assignees below
    # indexes the same list for the by_me / other_people / assignee_id filters.
    Column("assignees", JSON, nullable=False),
    Column("due_date", UtcDateTime),
    Column("description", Text),
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
