"""Sort and search keys shared by the adapters, so memory and SQL order and search identically.

Names sort case-insensitively by their casefolded form compared code point by code point (SQL
stores that form in a `*_key` column with a binary collation). Text search looks for the
casefolded query inside those same casefolded forms, code point by code point: neither database
has Unicode's casefold (SQLite's lower() folds ASCII only, PostgreSQL's follows its locale), so the
keys are computed here, in Python, when a row is written."""

from __future__ import annotations


def name_key(name: str) -> str:
    return name.casefold()


def text_key(text: str | None) -> str | None:
    """The searchable form of an optional text (a task's description): None stays None."""
    return None if text is None else text.casefold()
