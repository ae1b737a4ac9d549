"""Substring search that means the same on SQLite, PostgreSQL and in Python (`needle in text`).

LIKE is no good for it: SQLite's LIKE ignores the case of ASCII letters only, PostgreSQL's is
case-sensitive, and both treat `%` and `_` as wildcards. A plain position function compares code
points exactly (`instr` on SQLite; `strpos` on PostgreSQL, exact on the `C`-collated key columns of
types.text_key_type and sort_key_type). Case is handled before: both sides are casefolded in
Python (catalyst_adapters.ordering), the stored side when the row is written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class _Position(FunctionElement[int]):
    """1 + where `needle` first starts in `haystack`, 0 when it is absent, NULL for a NULL side;
    an empty needle is found at 1, as `"" in text` is True in Python."""

    type = Integer()
    inherit_cache = True


@compiles(_Position)
def _instr(element: _Position, compiler: Any, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "postgresql")
def _strpos(element: _Position, compiler: Any, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def contains(haystack: ColumnElement[Any], needle: ColumnElement[Any]) -> ColumnElement[bool]:
    """True where `needle` occurs in `haystack`, code point by code point (no wildcards, no case
    rules); NULL (not a match) where `haystack` is NULL."""
    return _Position(haystack, needle) > 0
