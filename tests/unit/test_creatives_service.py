"""CreativesService under injected failures: whatever step fails (the upload's source, the blob
store, the row's transaction, a cancellation, the storage itself, or anything after the commit), a
submission's row and its file are kept together or not at all, and the orphan sweep takes what a
crash in between left. (The parse rules are in test_creatives_parse.py.)"""

from __future__ import annotations

import asyncio
import errno
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from catalyst_adapters.blobs import MemoryBlobStore
from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.media import HeaderMediaProbe
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_contracts.state_machines.creatives import png
from catalyst_core.auth.model import Actor, GlobalRole, User
from catalyst_core.clients.model import Client, ClientRole, Membership
from catalyst_core.creatives.model import SubmissionStatus
from catalyst_core.creatives.service import ORPHAN_AGE, CreativesService, Upload, media_key
from catalyst_core.errors import NotFound, Unavailable
from catalyst_core.events import CreativeSubmitted, Event
from catalyst_core.ids import ClientId, UserId, sequential_ids
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.service import TaskFilters, TasksService

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ADMIN, MEMBER, ROOT = (UserId(uuid.UUID(int=0xA00 + n)) for n in range(3))
C1 = ClientId(uuid.UUID(int=0xC01))
ALL = PageRequest(1, 100)
MAX_UPLOAD = 64 * 1024
PNG = png(3, 2)
# Sizeable enough that the store reads past the probe's look-ahead (the failure lands in `put`).
BIG_PNG = png(3, 2) + b"\x00" * 3000
MP4 = (b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41" + b"\x00\x00\x00\x08free"
       + b"\x00\x00\x00\x48mdat" + b"\x00" * 64)


def member(user_id: UserId) -> Actor:
    return Actor(user_id, GlobalRole.ADMIN if user_id == ROOT else GlobalRole.MEMBER)


def fields(**extra: Any) -> dict[str, Any]:
    return {"client_id": str(C1), "name": "Spring sale", "ad_type": "image", **extra}


async def chunks(data: bytes, size: int = 100, *, fail_at: int | None = None,
                 between: Callable[[], Awaitable[None]] | None = None) -> AsyncIterator[bytes]:
    """`data` in pieces; raises ConnectionResetError once `fail_at` bytes went out (a dropped
    client); awaits `between()` before each piece after the first."""
    for offset in range(0, len(data), size):
        if fail_at is not None and offset >= fail_at:
            raise ConnectionResetError("the client went away")
        if between is not None and offset:
            await between()
        yield data[offset:offset + size]


def upload(data: bytes = PNG, filename: str = "ad.png", **kwargs: Any) -> Upload:
    return Upload(chunks(data, **kwargs), filename=filename)


# -- a storage that fails where a test says -------------------------------------------------------

class _Repo:
    def __init__(self, real: Any, add: Callable[[Any], Awaitable[None]]) -> None:
        self._real, self.add = real, add

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _Tx:
    def __init__(self, real: Any, faults: dict[str, Callable[[Any], Awaitable[None]]]) -> None:
        self._real = real
        for repo, add in faults.items():
            setattr(self, repo, _Repo(getattr(real, repo), add))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class FaultyStorage:
    """Wraps a Storage. `faults` replaces `add` of a repository of write transactions;
    `reads_fail` makes every read transaction fail to connect; `after_commit` raises that
    exception once a write transaction has committed."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.faults: dict[str, Callable[[Any], Awaitable[None]]] = {}
        self.reads_fail = False
        self.after_commit: BaseException | None = None

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[Any]:
        if not write and self.reads_fail:
            raise Unavailable("the database is unreachable: ConnectionRefusedError")
        async with self.real.transaction(write=write) as tx:
            yield _Tx(tx, self.faults) if write else tx
        if write and self.after_commit is not None:
            raise self.after_commit

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def fail_with(error: BaseException) -> Callable[[Any], Awaitable[None]]:
    async def add(_: Any) -> None:
        raise error
    return add


class DiskFull(MemoryBlobStore):
    """Reads part of the upload, then the disk is full."""

    async def put(self, key: str, chunks: Any, *, max_bytes: int) -> Any:
        async for _ in chunks:
            raise OSError(errno.ENOSPC, "No space left on device")
        raise AssertionError("the upload had no bytes")


class World:
    def __init__(self, storage: Any, blobs: MemoryBlobStore | None = None) -> None:
        self.clock = FrozenClock(T0)
        self.storage = FaultyStorage(storage)
        self.notifier = RecordingNotifier()
        self.blobs = blobs or MemoryBlobStore(self.clock)
        self.service = CreativesService(self.storage, self.clock, self.notifier, sequential_ids(),
                                        self.blobs, HeaderMediaProbe(head_bytes=512),
                                        max_upload_bytes=MAX_UPLOAD)
        self.tasks = TasksService(storage, self.clock, RecordingNotifier(), sequential_ids())

    async def seed(self) -> World:
        async with self.storage.transaction() as tx:
            for user_id in (ADMIN, MEMBER, ROOT):
                role = GlobalRole.ADMIN if user_id == ROOT else GlobalRole.MEMBER
                tag = user_id.hex[-3:]
                await tx.users.add(User(user_id, f"{tag}@example.com", f"User {tag}", "hash", role, True,
                                        T0, T0))
            await tx.clients.add(Client(C1, "Acme", None, True, T0, T0))
            await tx.members.add(Membership(C1, ADMIN, ClientRole.ADMIN, T0))
            await tx.members.add(Membership(C1, MEMBER, ClientRole.MEMBER, T0))
        return self

    async def rows(self) -> list[Any]:
        found: list[Any] = []
        while len(found) % ALL.limit == 0:
            page = PageRequest(len(found) // ALL.limit + 1, ALL.limit)
            items = (await self.service.list(member(ROOT), None, None, page, SortSpec())).items
            if not items:
                break
            found += items
        return found

    async def task_ids(self) -> list[Any]:
        found: list[Any] = []
        while len(found) % ALL.limit == 0:
            page = PageRequest(len(found) // ALL.limit + 1, ALL.limit)
            items = (await self.tasks.list(member(ROOT), TaskFilters(), page, SortSpec())).items
            if not items:
                break
            found += [t.id for t in items]
        return found

    async def assert_nothing_kept(self) -> None:
        assert await self.rows() == []
        assert await self.task_ids() == []
        assert await self.blobs.keys() == []
        assert self.notifier.of_type(CreativeSubmitted) == []

    async def assert_kept_together(self) -> None:
        """Both or neither: every row's file is stored and every stored file has its row."""
        rows = await self.rows()
        assert sorted(await self.blobs.keys()) == sorted(r.media.key for r in rows)
        assert sorted(await self.task_ids()) == sorted(r.task_id for r in rows)


@pytest.fixture
async def w() -> World:
    from catalyst_adapters.memory import MemoryStorage
    return await World(MemoryStorage()).seed()


@pytest.fixture(params=["memory", "sqlite"])
async def sw(request: pytest.FixtureRequest,
             storage_factory: Callable[[str], Awaitable[Any]]) -> World:
    """The same world over memory and SQLite storage."""
    return await World(await storage_factory(request.param)).seed()


async def outcome(coroutine: Awaitable[Any]) -> BaseException | Any:
    """What a use case run as a task of its own ends with: its result or its exception."""
    [result] = await asyncio.gather(asyncio.ensure_future(coroutine), return_exceptions=True)
    return result


# -- the upload's source, the blob store ------------------------------------------------------------

@pytest.mark.parametrize("fail_at", [100, 1000], ids=["while-probing", "while-storing"])
async def test_a_source_failing_mid_stream_keeps_nothing(w: World, fail_at: int) -> None:
    with pytest.raises(ConnectionResetError):
        await w.service.submit(member(MEMBER), fields(), upload(BIG_PNG, fail_at=fail_at))
    await w.assert_nothing_kept()


async def test_a_full_disk_keeps_no_row_and_no_task(sw: World) -> None:
    world = World(sw.storage.real, DiskFull())
    with pytest.raises(OSError) as raised:
        await world.service.submit(member(MEMBER), fields(), upload())
    assert raised.value.errno == errno.ENOSPC
    await world.assert_nothing_kept()


# -- the row's transaction ------------------------------------------------------------------------

@pytest.mark.parametrize("repo", ["creatives", "tasks"])
async def test_a_failing_row_transaction_deletes_the_file(sw: World, repo: str) -> None:
    sw.storage.faults[repo] = fail_with(RuntimeError("connection lost"))
    with pytest.raises(RuntimeError, match="connection lost"):
        await sw.service.submit(member(MEMBER), fields(), upload())
    sw.storage.faults.clear()
    await sw.assert_nothing_kept()
    # And the store works again afterwards.
    created = await sw.service.submit(member(MEMBER), fields(), upload())
    assert await sw.blobs.keys() == [media_key(created.id)]


async def test_a_member_who_left_during_the_upload_leaves_no_file(sw: World) -> None:
    """The role is checked again in the row's transaction: the file already stored goes again."""
    left = []

    async def leave() -> None:
        if not left:  # once, after the probe saw the head: while the rest is being stored
            async with sw.storage.real.transaction() as tx:
                await tx.members.remove(C1, MEMBER)
            left.append(await sw.blobs.keys())
    with pytest.raises(NotFound, match="client not found"):
        await sw.service.submit(member(MEMBER), fields(), upload(BIG_PNG, size=600, between=leave))
    assert left == [[]]
    await sw.assert_nothing_kept()


async def test_cancelled_inside_the_row_transaction_keeps_neither(w: World) -> None:
    entered, never = asyncio.Event(), asyncio.Event()

    async def stall(_: Any) -> None:
        entered.set()
        await never.wait()
    w.storage.faults["creatives"] = stall
    task = asyncio.create_task(w.service.submit(member(MEMBER), fields(), upload()))
    await entered.wait()
    assert await w.blobs.keys() != []  # the file went first
    task.cancel()
    assert isinstance(await outcome(task), asyncio.CancelledError)
    w.storage.faults.clear()
    await w.assert_nothing_kept()


async def test_cancelled_at_any_point_keeps_both_or_neither(
        storage_factory: Callable[[str], Awaitable[Any]]) -> None:
    """SQLite gives many real await points (its thread, the write lock): cancel ever later, a
    tenth of a millisecond more each time, until a submission gets through untouched."""
    world = await World(await storage_factory("sqlite")).seed()
    seen = set()
    for attempt in range(2_000):
        before = len(await world.rows())
        task = asyncio.create_task(world.service.submit(
            member(MEMBER), fields(name=f"Ad {attempt}"), upload(between=lambda: asyncio.sleep(0))))
        await asyncio.sleep(attempt / 10_000)
        cancelled = task.cancel()
        await outcome(task)
        await world.assert_kept_together()
        seen.add(len(await world.rows()) - before)
        if not cancelled:
            break
    assert seen == {0, 1}  # some cancellations undid the submission, the last one came too late


# -- after the commit -------------------------------------------------------------------------------

class RaisingNotifier(RecordingNotifier):
    async def notify(self, event: Event) -> None:
        raise RuntimeError("the notifier broke its promise")


class StallingNotifier(RecordingNotifier):
    def __init__(self) -> None:
        super().__init__()
        self.reached = asyncio.Event()

    async def notify(self, event: Event) -> None:
        self.reached.set()
        await asyncio.Event().wait()


async def test_a_notifier_failing_after_the_commit_keeps_row_and_file(sw: World) -> None:
    sw.service.publisher.notifier = RaisingNotifier()
    with pytest.raises(RuntimeError):
        await sw.service.submit(member(MEMBER), fields(), upload())
    [row] = await sw.rows()
    assert await sw.blobs.keys() == [row.media.key]
    await sw.assert_kept_together()


async def test_cancelled_while_publishing_keeps_row_and_file(w: World) -> None:
    notifier = StallingNotifier()
    w.service.publisher.notifier = notifier
    task = asyncio.create_task(w.service.submit(member(MEMBER), fields(), upload()))
    await notifier.reached.wait()
    task.cancel()
    assert isinstance(await outcome(task), asyncio.CancelledError)
    [row] = await w.rows()
    assert await w.blobs.keys() == [row.media.key]


@pytest.mark.parametrize("error", [asyncio.CancelledError(), RuntimeError("lost the reply")])
async def test_a_failure_after_the_commit_itself_keeps_row_and_file(sw: World,
                                                                   error: BaseException) -> None:
    """The commit went through but the caller sees an exception: the row decides, the file stays."""
    sw.storage.after_commit = error
    result = await outcome(sw.service.submit(member(MEMBER), fields(), upload()))
    assert type(result) is type(error)
    sw.storage.after_commit = None
    [row] = await sw.rows()
    assert (row.status, await sw.blobs.keys()) == (SubmissionStatus.PENDING, [row.media.key])
    await sw.assert_kept_together()


# -- orphans ----------------------------------------------------------------------------------------

async def test_the_sweep_takes_old_orphans_only(sw: World) -> None:
    kept = await sw.service.submit(member(MEMBER), fields(), upload())
    old_orphan = uuid.uuid4().hex  # a crash between the file and its row
    await sw.blobs.put(old_orphan, chunks(PNG), max_bytes=MAX_UPLOAD)
    sw.clock.advance(seconds=ORPHAN_AGE.total_seconds() - 1)
    assert await sw.service.sweep_orphans() == 0  # maybe an upload still in flight
    sw.clock.advance(seconds=1)
    young_orphan = uuid.uuid4().hex
    await sw.blobs.put(young_orphan, chunks(PNG), max_bytes=MAX_UPLOAD)
    assert await sw.service.sweep_orphans() == 1
    assert sorted(await sw.blobs.keys()) == sorted([kept.media.key, young_orphan])
    sw.clock.advance(days=30)
    assert await sw.service.sweep_orphans() == 1
    assert await sw.blobs.keys() == [kept.media.key]
    assert await sw.service.sweep_orphans() == 0


async def test_an_unreachable_storage_leaves_the_file_to_the_sweep(sw: World) -> None:
    async def fail_and_go_down(_: Any) -> None:
        sw.storage.reads_fail = True  # the compensating check cannot reach the database either
        raise RuntimeError("connection lost")
    sw.storage.faults["creatives"] = fail_and_go_down
    with pytest.raises(RuntimeError, match="connection lost"):  # the first failure, not the check's
        await sw.service.submit(member(MEMBER), fields(), upload())
    [left] = await sw.blobs.keys()  # not known to be an orphan: kept for now
    sw.storage.faults.clear()
    sw.storage.reads_fail = False
    assert await sw.rows() == []
    assert await sw.service.sweep_orphans() == 0
    sw.clock.advance(seconds=ORPHAN_AGE.total_seconds())
    assert await sw.service.sweep_orphans() == 1
    await sw.assert_nothing_kept()
    assert left not in await sw.blobs.keys()
