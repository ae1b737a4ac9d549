"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out.

    SQLite has no time zones and hands back naive values, so we store naive UTC there and put the
    zone back on the way out; PostgreSQL's timestamptz is converted to UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sort_key_type(length: int) -> String:
    """A column compared code point by code point on every database (PostgreSQL's default collation
    would sort by locale rules and disagree with SQLite and with the in-memory adapter)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# Casefolding can make a text up to three times longer ("ΐ" is three code points folded).
FOLD_GROWTH = 3


def folded_key_type(length: int) -> String:
    """sort_key_type for a casefolded copy of a text of at most `length` characters: room for it
    to grow when folded. PostgreSQL checks a VARCHAR's length; SQLite does not (its declared type
    stays as it was, so no table is rebuilt)."""
    return String(length).with_variant(String(length * FOLD_GROWTH, collation="C"), "postgresql")


def text_key_type() -> Text:
    """An unbounded casefolded text (a search key) compared code point by code point, as
    sort_key_type: PostgreSQL's substring search must not depend on the database's collation."""
    return Text().with_variant(Text(collation="C"), "postgresql")
