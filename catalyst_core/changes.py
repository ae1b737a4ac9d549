"""The marker partial updates use for "leave this field alone" where None means "clear it"."""

from __future__ import annotations

import enum


class Unchanged(enum.Enum):
    UNCHANGED = "unchanged"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged.UNCHANGED
