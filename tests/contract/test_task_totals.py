"""Task list totals stay exact through every kind of write, on every storage (SQL answers the
common shapes from counts kept by triggers, migration 0003)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from catalyst_contracts.strategies import make_client, make_task, make_user
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import TaskQuery, TaskStatus


async def totals(storage: Any, **filters: Any) -> int:
    async with storage.transaction(write=False) as tx:
        # A page of 1 that is not the first forces the count (a full first page would not need it).
        return (await tx.tasks.list(TaskQuery(**filters), PageRequest(2, 1), SortSpec())).total_items


async def test_totals_follow_inserts_status_changes_deletes_and_rollbacks(storage: Any) -> None:
    user, acme, globex = make_user(), make_client(), make_client()
    statuses = [TaskStatus.PENDING] * 5 + [TaskStatus.IN_PROGRESS] * 3 + [TaskStatus.COMPLETED] * 2
    acme_tasks = [make_task(acme, user, status=s) for s in statuses]
    async with storage.transaction() as tx:
        await tx.users.add(user)
        await tx.clients.add(acme)
        await tx.clients.add(globex)
        await tx.tasks.add_many(acme_tasks)
        await tx.tasks.add(make_task(globex, user))
    expected = Counter(t.status for t in acme_tasks)

    async def check() -> None:
        assert await totals(storage, client_id=acme.id) == sum(expected.values())
        for status in TaskStatus:
            assert await totals(storage, client_id=acme.id, status=status) == expected[status]
        assert await totals(storage, client_id=globex.id) == 1

    await check()
    moved = acme_tasks[0]
    async with storage.transaction() as tx:
        task = await tx.tasks.get(moved.id)
        task.status = TaskStatus.CANCELLED
        await tx.tasks.save(task)
    expected[TaskStatus.PENDING] -= 1
    expected[TaskStatus.CANCELLED] += 1
    await check()

    async with storage.transaction() as tx:
        await tx.tasks.delete(acme_tasks[5].id)
    expected[TaskStatus.IN_PROGRESS] -= 1
    await check()

    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            await tx.tasks.add(make_task(acme, user))
            task = await tx.tasks.get(acme_tasks[1].id)
            task.status = TaskStatus.COMPLETED
            await tx.tasks.save(task)
            await tx.tasks.delete(acme_tasks[2].id)
            raise RuntimeError("roll it all back")
    await check()

    async with storage.transaction() as tx:  # saving without a status change leaves totals alone
        task = await tx.tasks.get(acme_tasks[3].id)
        task.name = "Renamed"
        await tx.tasks.save(task)
    await check()
