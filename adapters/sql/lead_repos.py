"""SQL repository of lead scoring settings, results and history."""

from __future__ import annotations

from typing import Any


class SqlLeadRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn
