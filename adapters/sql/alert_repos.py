"""SQL repositories of alerts and alert instances."""

from __future__ import annotations

from typing import Any


class SqlAlertRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn


class SqlAlertInstanceRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn
