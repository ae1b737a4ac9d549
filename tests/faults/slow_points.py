"""Slow points injected into a write, between two of its statements, so a test can act while the
transaction is half done (cancel the request, cut the database)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from catalyst_adapters.sql import performance_ingest, task_repos
from catalyst_adapters.sql.tables import performance_names


class SlowPoint:
    """`reached` is set when a write gets there; it goes on when `go_on` is set (never, if the
    test cancels it instead); `cancelled` is set if it was cancelled while waiting."""

    def __init__(self) -> None:
        self.reached, self.go_on, self.cancelled = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def wait(self) -> None:
        self.reached.set()
        try:
            await self.go_on.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def _pause_on(monkeypatch: pytest.MonkeyPatch, module: Any, is_the_statement: Callable[[Any], bool]
              ) -> SlowPoint:
    point = SlowPoint()
    original = module.execute_many

    async def execute_many(conn: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if is_the_statement(statement) and not point.reached.is_set():
            await point.wait()
        return await original(conn, statement, *args, **kwargs)

    monkeypatch.setattr(module, "execute_many", execute_many)
    return point


def pause_before_assignees(monkeypatch: pytest.MonkeyPatch) -> SlowPoint:
    """In a task create: after the task's row is inserted, before its assignees are."""
    return _pause_on(monkeypatch, task_repos, lambda s: s is task_repos._INSERT_ASSIGNEE)


def pause_before_names(monkeypatch: pytest.MonkeyPatch) -> SlowPoint:
    """In a metrics batch: after the rows and both rollups are written, before the names are."""
    return _pause_on(monkeypatch, performance_ingest,
                     lambda s: getattr(s, "table", None) is performance_names)
