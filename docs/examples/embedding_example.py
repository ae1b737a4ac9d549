"""Catalyst in-process: the core's use cases over the in-memory adapters, no HTTP, no database.

Run it with `python docs/examples/embedding_example.py`; tests/unit/test_embedding_example.py runs it too."""

from __future__ import annotations

import asyncio

from catalyst_adapters.clock import SystemClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_core.auth.model import Actor
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.model import ClientRole
from catalyst_core.clients.service import ClientsService
from catalyst_core.ids import random_ids
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import NewTask, Priority, TaskType
from catalyst_core.tasks.service import TaskFilters, TasksService


async def main() -> list[str]:
    storage, clock, notifier = MemoryStorage(), SystemClock(), RecordingNotifier()
    auth = AuthService(storage, PasslibHasher(), JwtTokenIssuer("an-embedding-secret-of-32-bytes-or-more"),
                       clock, random_ids)
    clients = ClientsService(storage, clock, random_ids)
    tasks = TasksService(storage, clock, notifier, random_ids)

    jane = await auth.register("jane@agency.example", "a long password", "Jane Doe")
    sam = await auth.register("sam@agency.example", "another password", "Sam Roe")
    as_jane = Actor(jane.id, jane.role)

    acme = await clients.create(as_jane, "Acme Corp")
    await clients.add_member(as_jane, acme.client.id, sam.email, ClientRole.MEMBER)

    task = await tasks.create(as_jane, NewTask(
        client_id=acme.client.id, name="Review the summer banner", task_type=TaskType.REVIEW_CREATIVE,
        priority=Priority.HIGH, assignees=[sam.id],
    ))
    await tasks.add_comment(Actor(sam.id), task.id, "On it.")
    await tasks.complete(Actor(sam.id), task.id)

    page = await tasks.list(as_jane, TaskFilters(client_id=acme.client.id), PageRequest(), SortSpec())
    for t in page.items:
        print(f"{t.name}: {t.status.value}, completed by {t.completed_by == sam.id and 'Sam'}")
    kinds = [event.kind for event in notifier.events]
    print("events:", ", ".join(kinds))
    return kinds


if __name__ == "__main__":
    asyncio.run(main())
