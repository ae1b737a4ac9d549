"""PostgreSQL's read path (adapters/sql/pg_fast.py): kept autocommit connections, hot statements as
prepared statements on asyncpg itself, and the key-first task page. Every read must return what
the same read returns through SQLAlchemy (write transactions still run every statement through
it), the Storage contract must hold with reads on this path, and the kept connections must behave
as a pool: bounded, fair, writers never starved, a lost connection replaced on the next read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from catalyst_adapters.sql import SqlStorage, create_engine, pg_fast, storage, task_repos
from catalyst_adapters.sql.pg_fast import PgReadConnection, PgReads
from catalyst_adapters.sql.storage import SqlTransaction
from catalyst_contracts.storage import StorageContract
from catalyst_contracts.strategies import any_task, make_client, make_membership, make_task, make_user
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Unavailable
from catalyst_core.paging import Order, PageRequest, SortSpec
from catalyst_core.tasks.model import Priority, TaskQuery, TaskStatus, TaskType
from tests.conftest import run_in_thread
from tests.contract.both_paths import stored_task_reads_the_same_both_ways


class FastReadStorage(SqlStorage):
    """SqlStorage whose read transactions take pg_fast's path (as SqlStorage's own hook does once
    wired; this keeps the test independent of that wiring)."""

    def __init__(self, engine: Any, *, statement_cache_size: int = 100, timeout: float = 10) -> None:
        super().__init__(engine, lock_timeout=timeout)
        self.reads = PgReads(engine, SqlTransaction, storage._unavailable,
                             statement_cache_size=statement_cache_size, timeout=timeout)

    def transaction(self, *, write: bool = True, brief: bool = False) -> Any:
        if not write:
            return self.reads.transaction()
        return super().transaction(write=write, brief=brief)

    async def close(self) -> None:
        await self.reads.close()
        await super().close()


async def fast_storage(postgres_url: tuple[str, dict[str, Any]], **options: Any) -> FastReadStorage:
    url, kwargs = postgres_url
    engine_options = {k: options.pop(k) for k in ("pool_size", "max_overflow") if k in options}
    made = FastReadStorage(create_engine(url, **kwargs, **engine_options), **options)
    await made.reset()
    return made


@pytest.fixture
async def pg(postgres_url: tuple[str, dict[str, Any]]) -> Any:
    made = await fast_storage(postgres_url)
    yield made
    await made.close()


class TestStorageContractWithFastReads(StorageContract):
    @pytest.fixture
    async def storage(self, postgres_url: tuple[str, dict[str, Any]]) -> Any:
        made = await fast_storage(postgres_url)
        yield made
        await made.close()


def _spy_fast_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runs: list[str] = []
    original = PgReadConnection._run

    async def counted(self: PgReadConnection, compiled: Any, values: Any) -> Any:
        runs.append(compiled.sql)
        return await original(self, compiled, values)

    monkeypatch.setattr(PgReadConnection, "_run", counted)
    return runs


async def test_the_fast_path_reads_what_sqlalchemy_reads(pg: FastReadStorage,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """UUIDs, aware datetimes with microseconds, JSON assignees, booleans, enums and NULLs alike,
    for every hot read a request makes and every shape and sort of the task list."""
    user, other, client = make_user(), make_user(is_active=False), make_client()
    moment = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    full = make_task(client, user, assignees=[user.id, other.id], due_date=moment, description="Dé",
                     related_object_id="ad-1", related_object_type="alert_instance",
                     status=TaskStatus.COMPLETED, completed_by=other.id, completed_at=moment,
                     task_type=TaskType.REVIEW_CREATIVE, priority=Priority.HIGH, created_at=moment)
    bare = make_task(client, user)
    more = [make_task(client, other, status=TaskStatus.PENDING, created_at=moment.replace(second=s))
            for s in range(7)]
    async with pg.transaction() as tx:
        for u in (user, other):
            await tx.users.add(u)
        await tx.clients.add(client)
        await tx.members.add(make_membership(client, user, ClientRole.ADMIN))
        await tx.tasks.add_many([full, bare, *more])

    async def reads(tx: Any) -> list[Any]:
        out = [await tx.users.get(user.id), await tx.users.get(other.id),
               await tx.users.get_by_email(user.email), await tx.members.get(client.id, user.id),
               await tx.members.get(client.id, other.id), await tx.tasks.get(full.id),
               await tx.tasks.get(bare.id)]
        for query in (TaskQuery(client_id=client.id),
                      TaskQuery(client_id=client.id, status=TaskStatus.PENDING),
                      TaskQuery(visible_to=user.id, assigned_to=other.id), TaskQuery(text="dé")):
            for sort in (SortSpec(), SortSpec("created_at", Order.ASC), SortSpec("priority", Order.ASC),
                         SortSpec("due_date", Order.DESC)):
                for page in (PageRequest(1, 3), PageRequest(2, 3), PageRequest(9, 3)):
                    out.append(await tx.tasks.list(query, page, sort))
        return out

    fast_runs = _spy_fast_runs(monkeypatch)
    async with pg.transaction(write=False) as tx:
        assert isinstance(tx.connection, PgReadConnection)
        fast = await reads(tx)
    on_the_fast_path = len(fast_runs)
    async with pg.transaction() as tx:
        assert not isinstance(tx.connection, PgReadConnection)
        slow = await reads(tx)
    assert on_the_fast_path >= 7 + 48 and len(fast_runs) == on_the_fast_path  # none on the writer
    assert fast == slow
    assert fast[5] == full and fast[6] == bare and fast[0] == user and fast[1] == other


async def test_key_first_pages_are_the_plain_pages_in_the_same_order(pg: FastReadStorage) -> None:
    """The page's ids from the index, then its rows (`by_key`), for each covered shape, both orders
    and pages past the end: the rows and totals of the plain statement. Ties on created_at are
    broken by id in both."""
    user, client = make_user(), make_client()
    same = datetime(2026, 1, 1, tzinfo=UTC)
    tasks = [make_task(client, user, status=(TaskStatus.PENDING, TaskStatus.COMPLETED)[i % 2],
                     created_at=same if i % 3 == 0 else same.replace(minute=i)) for i in range(23)]
    async with pg.transaction() as tx:
        await tx.users.add(user)
        await tx.clients.add(client)
        await tx.tasks.add_many(tasks)
    rows_seen = 0
    async with pg.transaction(write=False) as tx:
        conn = tx.connection
        for values in ({"client_id": client.id}, {"client_id": client.id, "status": "pending"}):
            shape = tuple(values)
            assert task_repos.key_first("postgresql", shape, "created_at")
            for order in Order:
                plain, by_key = (task_repos._task_list_statements(shape, "created_at", order, False, k)
                                 for k in (False, True))
                for offset in (0, 5, 10, 22, 30):
                    params = {**values, "limit": 5, "offset": offset}
                    expected = (await conn.execute(plain.rows, params)).all()
                    assert (await conn.execute(by_key.rows, params)).all() == expected
                    rows_seen += len(expected)
    assert rows_seen == 2 * (5 + 5 + 5 + 1) + 2 * (5 + 5 + 2)  # every page of both shapes


async def test_a_failed_read_drops_its_connection_and_the_next_read_is_served(
        pg: FastReadStorage) -> None:
    user = make_user()
    async with pg.transaction() as tx:
        await tx.users.add(user)
    with pytest.raises(Exception, match="nope"):
        async with pg.transaction(write=False) as tx:
            failed = tx.connection
            await tx.connection.execute(text("SELECT * FROM nope"))
    async with pg.transaction(write=False) as tx:
        assert tx.connection is not failed
        assert await tx.users.get(user.id) == user


async def test_reads_keep_their_connections_and_skip_the_pool(pg: FastReadStorage) -> None:
    user = make_user()
    async with pg.transaction() as tx:
        await tx.users.add(user)
    async with pg.transaction(write=False) as tx:
        first = tx.connection
    checkouts = []
    event.listen(pg.engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
    for _ in range(5):
        async with pg.transaction(write=False) as tx:
            assert tx.connection is first
            assert await tx.users.get(user.id) == user
    assert checkouts == []  # no pool checkout, so no pre-ping


async def test_a_lost_read_connection_is_replaced_on_the_next_read(pg: FastReadStorage) -> None:
    user = make_user()
    async with pg.transaction() as tx:
        await tx.users.add(user)
    async with pg.transaction(write=False) as tx:
        lost = tx.connection
        pid = lost._raw.get_server_pid()
    async with pg.transaction() as tx:  # as a restart or a failover would
        await tx.connection.execute(text(f"SELECT pg_terminate_backend({pid})"))
    for _ in range(50):  # the driver learns of it from the socket, on the loop
        if lost._raw.is_closed():
            break
        await asyncio.sleep(0.01)
    async with pg.transaction(write=False) as tx:
        assert tx.connection is not lost
        assert await tx.users.get(user.id) == user


async def test_reads_wait_their_turn_and_writers_are_never_starved(
        postgres_url: tuple[str, dict[str, Any]]) -> None:
    """A pool of two: reads keep one (one is always the writers'); a second read waits for the
    first, then is served; a read waiting past the bound is answered Unavailable."""
    small = await fast_storage(postgres_url, pool_size=2, max_overflow=0, timeout=0.5)
    try:
        assert pg_fast.kept_readers(small.engine) == 1
        user = make_user()
        async with small.transaction() as tx:
            await tx.users.add(user)
        order: list[str] = []
        release = asyncio.Event()

        async def long_read() -> None:
            async with small.transaction(write=False) as tx:
                await tx.users.get(user.id)
                order.append("first in")
                async with small.transaction() as wtx:  # a writer meanwhile: not starved
                    await wtx.users.get(user.id)
                    order.append("writer")
                await release.wait()
            order.append("first out")

        async def second_read() -> None:
            async with small.transaction(write=False) as tx:
                order.append("second in")
                assert await tx.users.get(user.id) == user

        first = asyncio.create_task(long_read())
        await asyncio.sleep(0.05)
        second = asyncio.create_task(second_read())
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(first, second)
        assert order == ["first in", "writer", "first out", "second in"]

        async with small.transaction(write=False):
            with pytest.raises(Unavailable):
                async with small.transaction(write=False):
                    pass
            cancelled = asyncio.create_task(second_read())  # a waiting read, given up on
            await asyncio.sleep(0.05)
            cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await second_read()  # the connection was not lost with it
        assert small.reads._open == 1 and not small.reads._waiters
    finally:
        await small.close()


async def test_a_statement_gone_stale_is_prepared_again(pg: FastReadStorage,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that changes a table under a kept prepared statement: asyncpg refuses the next
    run of it once; the read prepares it again and is served."""
    import asyncpg
    from asyncpg.prepared_stmt import PreparedStatement

    user = make_user()
    async with pg.transaction() as tx:
        await tx.users.add(user)
    async with pg.transaction(write=False) as tx:
        assert await tx.users.get(user.id) == user
    original, refused = PreparedStatement.fetch, []

    async def stale_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not refused:
            refused.append(1)
            raise asyncpg.InvalidCachedStatementError("cached plan must not change result type")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(PreparedStatement, "fetch", stale_once)
    async with pg.transaction(write=False) as tx:
        kept = tx.connection
        assert await tx.users.get(user.id) == user
    assert refused and kept.alive()


async def test_with_statement_caching_off_hot_statements_go_through_sqlalchemy(
        postgres_url: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    off = await fast_storage(postgres_url, statement_cache_size=0)
    try:
        fast_runs = _spy_fast_runs(monkeypatch)
        user = make_user()
        async with off.transaction() as tx:
            await tx.users.add(user)
        async with off.transaction(write=False) as tx:
            assert await tx.users.get(user.id) == user
        assert fast_runs == []
    finally:
        await off.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_task_reads_the_same_on_both_paths(postgres_url: tuple[str, dict[str, Any]],
                                               data: st.DataObject) -> None:
    """Property: whatever a task holds, the fast path returns the task that was stored, as
    SQLAlchemy's path does (texts in any script, microseconds, NULLs, every enum value)."""
    users_ = [make_user() for _ in range(3)]
    client = make_client()
    task = data.draw(any_task(client, users_))

    async def check() -> None:
        made = await fast_storage(postgres_url)
        try:
            await stored_task_reads_the_same_both_ways(made, users_, client, task)
        finally:
            await made.close()

    run_in_thread(check)
