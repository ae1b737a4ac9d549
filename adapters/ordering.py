"""Sort keys shared by the adapters, so memory and SQL order rows identically.

Names sort case-insensitively by their casefolded form compared code point by code point (SQL
stores that form in a `*_key` column with a binary collation)."""

from __future__ import annotations


def name_key(name: str) -> str:
    return name.casefold()
