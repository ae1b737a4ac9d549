"""The storage contract for transactions: rollback, visibility of commits, datetimes, concurrency.
Each holds for `brief` transactions too (SQLite runs those on the event loop, ADR 0007)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from catalyst_contracts.storage.helpers import (
    ALL,
    put,
    read,
)
from catalyst_contracts.strategies import (
    make_client,
    make_comment,
    make_membership,
    make_task,
    make_user,
)
from catalyst_core.auth.model import User
from catalyst_core.clients.model import Client, ClientRole
from catalyst_core.errors import Conflict
from catalyst_core.paging import SortSpec
from catalyst_core.tasks.model import (
    Comment,
    Task,
    TaskQuery,
    TaskStatus,
)


class TransactionsContract:
    """What a transaction promises across repositories. Needs an async fixture `storage`."""

    # -- storage -------------------------------------------------------------------------------------

    async def test_ping_answers(self, storage: Any) -> None:
        assert await storage.ping() is None

    # -- transactions --------------------------------------------------------------------------------

    @pytest.mark.parametrize("brief", [False, True], ids=["write", "brief"])
    async def test_exception_rolls_back_every_write_across_repos(self, storage: Any, brief: bool) -> None:
        user, client = make_user(name="Kept"), make_client(name="Kept")
        member = make_user()
        task = make_task(client, user, name="Kept")
        comment = make_comment(task, user, comment="Kept")
        membership = make_membership(client, member, ClientRole.VIEWER)
        await put(storage, user, member, client, membership, task, comment)
        before = await snapshot(storage, user, member, client, task, comment)

        new_user, new_client = make_user(), make_client()
        new_task = make_task(client, user)

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with storage.transaction(brief=brief) as tx:
                await tx.users.add(new_user)
                await tx.clients.add(new_client)
                await tx.members.add(make_membership(new_client, new_user, ClientRole.ADMIN))
                await tx.tasks.add(new_task)
                await tx.comments.add(make_comment(new_task, new_user))
                changed_user = await tx.users.get(user.id)
                changed_user.name = "Changed"
                await tx.users.save(changed_user)
                changed_client = await tx.clients.get(client.id)
                changed_client.name = "Changed"
                await tx.clients.save(changed_client)
                await tx.members.remove(client.id, member.id)
                changed_comment = await tx.comments.get(comment.id)
                changed_comment.comment = "Changed"
                await tx.comments.save(changed_comment)
                changed_task = await tx.tasks.get(task.id)
                changed_task.name, changed_task.assignees = "Changed", [member.id]
                await tx.tasks.save(changed_task)
                await tx.tasks.delete(task.id)
                raise Boom

        assert await snapshot(storage, user, member, client, task, comment) == before
        assert await read(storage, lambda tx: tx.users.get(new_user.id)) is None
        assert await read(storage, lambda tx: tx.users.get_by_email(new_user.email)) is None
        assert await read(storage, lambda tx: tx.clients.get(new_client.id)) is None
        assert await read(storage, lambda tx: tx.tasks.get(new_task.id)) is None
        assert await read(storage, lambda tx: tx.members.get(new_client.id, new_user.id)) is None
        # The rolled back email is free again.
        await put(storage, make_user(email=new_user.email))

    @pytest.mark.parametrize("brief", [False, True], ids=["write", "brief"])
    async def test_a_domain_error_rolls_back_earlier_writes(self, storage: Any, brief: bool) -> None:
        taken = make_user(email="taken@example.com")
        await put(storage, taken)
        client = make_client()
        with pytest.raises(Conflict):
            async with storage.transaction(brief=brief) as tx:
                await tx.clients.add(client)
                await tx.users.add(make_user(email="taken@example.com"))
        assert await read(storage, lambda tx: tx.clients.get(client.id)) is None

    @pytest.mark.parametrize("brief", [False, True], ids=["write", "brief"])
    async def test_committed_writes_are_visible_to_the_next_transaction(self, storage: Any,
                                                                        brief: bool) -> None:
        user, client = make_user(), make_client()
        async with storage.transaction(brief=brief) as tx:
            await tx.users.add(user)
            await tx.clients.add(client)
            # and inside the same transaction, too
            assert await tx.users.get(user.id) == user
        async with storage.transaction(brief=brief) as tx:
            assert await tx.users.get(user.id) == user
            await tx.members.add(make_membership(client, user, ClientRole.ADMIN))
        async with storage.transaction(write=False) as tx:
            assert await tx.members.count_admins(client.id) == 1
            assert await tx.clients.get(client.id) == client

    async def test_datetimes_round_trip_as_aware_utc(self, storage: Any) -> None:
        plus5 = timezone(timedelta(hours=5, minutes=30))
        stamps = [datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
                  datetime(2024, 7, 1, 3, 4, 5, 123_456, tzinfo=plus5),
                  datetime(1999, 12, 31, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),
                  datetime(2038, 1, 19, 3, 14, 8, 654_321, tzinfo=UTC)]
        user = make_user(created_at=stamps[0], updated_at=stamps[1])
        client = make_client(created_at=stamps[2], updated_at=stamps[3])
        membership = make_membership(client, user, ClientRole.ADMIN, stamps[1])
        task = make_task(client, user, due_date=stamps[2], created_at=stamps[3], updated_at=stamps[0],
                         completed_at=stamps[1], completed_by=user.id, status=TaskStatus.COMPLETED)
        comment = make_comment(task, user, created_at=stamps[1], updated_at=stamps[2])
        await put(storage, user, client, membership, task, comment)
        got = [
            *_stamps(await read(storage, lambda tx: tx.users.get(user.id)), "created_at", "updated_at"),
            *_stamps(await read(storage, lambda tx: tx.clients.get(client.id)), "created_at", "updated_at"),
            *_stamps(await read(storage, lambda tx: tx.members.get(client.id, user.id)), "added_at"),
            *_stamps(await read(storage, lambda tx: tx.tasks.get(task.id)), "due_date", "created_at",
                     "updated_at", "completed_at"),
            *_stamps(await read(storage, lambda tx: tx.comments.get(comment.id)), "created_at", "updated_at"),
            *_stamps(await read(storage, lambda tx: tx.comments.view(comment.id)),
                     "created_at", "updated_at"),
        ]
        want = [stamps[0], stamps[1], stamps[2], stamps[3], stamps[1], stamps[2], stamps[3], stamps[0],
                stamps[1], stamps[1], stamps[2], stamps[1], stamps[2]]
        assert got == want
        for value in got:
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value
            assert value.microsecond == value.astimezone(UTC).microsecond
        listed = await read(storage, lambda tx: tx.members.list(client.id, ALL, SortSpec("added_at")))
        assert listed.items[0].added_at == stamps[1] and listed.items[0].added_at.utcoffset() == timedelta(0)

    # -- concurrency ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("brief", [False, True], ids=["write", "brief"])
    async def test_concurrent_saves_of_the_same_version_one_wins(self, storage: Any, brief: bool) -> None:
        """Two writers that loaded the same version: exactly one save succeeds, the other is Conflict."""
        user, client = make_user(), make_client()
        task = make_task(client, user, description="0")
        await put(storage, user, client, task)
        loaded = [await read(storage, lambda tx: tx.tasks.get(task.id)) for _ in range(2)]

        async def save(i: int) -> None:
            loaded[i].name = f"writer {i}"
            async with storage.transaction(brief=brief) as tx:
                await tx.tasks.save(loaded[i])

        results = await asyncio.gather(save(0), save(1), return_exceptions=True)
        winners = [i for i, r in enumerate(results) if r is None]
        assert len(winners) == 1, results
        assert isinstance(results[1 - winners[0]], Conflict), results
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored.name == f"writer {winners[0]}" and stored.version == 2

    @pytest.mark.parametrize("brief", [False, True], ids=["write", "brief"])
    async def test_concurrent_load_and_save_transactions_never_lose_an_update(
            self, storage: Any, brief: bool) -> None:
        """Two transactions that each load the task, change it and save it. Where the storage lets them
        overlap (both loaded before either committed) exactly one succeeds and the other is Conflict;
        where it serialises them both succeed, the second seeing the first's write. Never a lost update."""
        user, client = make_user(), make_client()
        task = make_task(client, user, description="0")
        await put(storage, user, client, task)
        log: list[str] = []
        loaded = asyncio.Event()
        count = [0]

        async def increment(i: int) -> None:
            async with storage.transaction(brief=brief) as tx:
                current = await tx.tasks.get(task.id)
                log.append(f"load {i}")
                count[0] += 1
                if count[0] == 2:
                    loaded.set()
                # Give the other transaction the chance to load too; a storage that serialises
                # transactions keeps it out, so do not wait forever.
                try:
                    await asyncio.wait_for(loaded.wait(), timeout=0.3)
                except TimeoutError:
                    pass
                current.description = str(int(current.description) + 1)
                current.name = f"writer {i}"
                await tx.tasks.save(current)
            log.append(f"commit {i}")

        results = await asyncio.gather(increment(0), increment(1), return_exceptions=True)
        for r in results:
            assert r is None or isinstance(r, Conflict), results
        successes = sum(r is None for r in results)
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored.description == str(successes), (results, log)
        assert stored.version == 1 + successes
        overlapped = log[:2] in (["load 0", "load 1"], ["load 1", "load 0"])
        if overlapped:
            assert successes == 1, (results, log)
        else:
            assert successes == 2, (results, log)



def _stamps(obj: Any, *fields: str) -> list[datetime]:
    assert obj is not None
    return [getattr(obj, f) for f in fields]


async def snapshot(storage: Any, user: User, member: User, client: Client, task: Task,
                   comment: Comment) -> tuple[Any, ...]:
    async with storage.transaction(write=False) as tx:
        return (await tx.users.get(user.id), await tx.users.get(member.id), await tx.clients.get(client.id),
                await tx.members.get(client.id, member.id), await tx.tasks.get(task.id),
                await tx.comments.get(comment.id), await tx.members.count_admins(client.id),
                list((await tx.comments.list(task.id, ALL)).items),
                list((await tx.tasks.list(TaskQuery(assignee_id=member.id), ALL, SortSpec())).items))

