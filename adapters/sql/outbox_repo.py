"""SQL repository of the outbox."""

from __future__ import annotations

from typing import Any


class SqlOutboxRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn
