"""What the fast read paths (SQLite's inline readers, PostgreSQL's kept connections) must answer
as SQLAlchemy's path does: shared by their property tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import Task, TaskQuery


async def stored_task_reads_the_same_both_ways(storage: Any, users: Sequence[Any], client: Any,
                                               task: Task) -> None:
    """Stores `task`, then reads it in a read transaction (the fast path) and in a write
    transaction (SQLAlchemy's): both give the task that was stored, and so does its list page."""
    async with storage.transaction() as tx:
        for u in users:
            await tx.users.add(u)
        await tx.clients.add(client)
        await tx.tasks.add(task)
    async with storage.transaction(write=False) as tx:
        fast = await tx.tasks.get(task.id)
        fast_page = await tx.tasks.list(TaskQuery(client_id=client.id), PageRequest(1, 5), SortSpec())
    async with storage.transaction() as tx:
        slow = await tx.tasks.get(task.id)
    assert fast == slow == task
    assert fast_page.items == [task] and fast_page.total_items == 1
