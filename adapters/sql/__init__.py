"""The SQL storage: SQLAlchemy Core over SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from catalyst_adapters.sql.engine import create_engine
from catalyst_adapters.sql.migrate import migrate
from catalyst_adapters.sql.storage import SqlStorage

__all__ = ["SqlStorage", "create_engine", "migrate"]
