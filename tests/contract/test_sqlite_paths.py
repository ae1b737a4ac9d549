"""The SQLite-specific paths of SqlStorage (docs/adr/0001): reads on the loop through query_only
connections, scans offloaded to a thread, writers queued, and the one-trip aiosqlite driver."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from catalyst_adapters.sql import SqlStorage, create_engine, sqlite_driver
from catalyst_adapters.sql.storage import InlineConnection
from catalyst_adapters.sql.tables import users
from catalyst_contracts.strategies import any_task, make_client, make_task, make_user
from catalyst_core.errors import Unavailable
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import TaskQuery
from tests.conftest import sqlite_copy
from tests.contract.both_paths import stored_task_reads_the_same_both_ways


@pytest.fixture
async def sqlite(sqlite_template: Path, tmp_path: Path) -> Any:
    storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path)))
    yield storage
    await storage.close()


async def test_reads_run_inline_on_query_only_connections(sqlite: SqlStorage) -> None:
    with pytest.raises(Unavailable):  # sqlite3: "attempt to write a readonly database"
        async with sqlite.transaction(write=False) as tx:
            assert isinstance(tx.connection, InlineConnection)
            await tx.connection.execute(text("CREATE TABLE nope (x INTEGER)"))
    async with sqlite.transaction() as tx:
        assert not isinstance(tx.connection, InlineConnection)


async def test_inline_reads_see_what_writers_committed(sqlite: SqlStorage) -> None:
    user = make_user()
    async with sqlite.transaction(write=False) as tx:
        assert await tx.users.get(user.id) is None
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
    async with sqlite.transaction(write=False) as tx:
        assert (await tx.users.get(user.id)) == user


async def test_text_search_leaves_the_event_loop(sqlite: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    user, client = make_user(), make_client()
    tasks = [make_task(client, user, name=f"Banner {i}") for i in range(3)]
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
        await tx.clients.add(client)
        await tx.tasks.add_many(tasks)
    offloaded: list[Any] = []
    original = InlineConnection.execute_offloaded

    async def spy(self: InlineConnection, statement: Any, parameters: Any = None) -> Any:
        offloaded.append(statement)
        return await original(self, statement, parameters)

    monkeypatch.setattr(InlineConnection, "execute_offloaded", spy)
    async with sqlite.transaction(write=False) as tx:
        page = await tx.tasks.list(TaskQuery(text="banner"), PageRequest(1, 2), SortSpec())
        plain = await tx.tasks.list(TaskQuery(client_id=client.id), PageRequest(1, 2), SortSpec())
    assert page.total_items == 3 and len(page.items) == 2
    assert plain.total_items == 3
    assert len(offloaded) == 2  # the search's rows and count, and nothing of the plain list


async def test_writers_take_turns_without_busy_errors(sqlite: SqlStorage) -> None:
    new = [make_user() for _ in range(20)]

    async def add(user: Any) -> None:
        async with sqlite.transaction() as tx:
            await tx.users.add(user)
            await asyncio.sleep(0)  # hold the write lock across an await, as use cases do

    await asyncio.gather(*(add(u) for u in new))
    async with sqlite.transaction(write=False) as tx:
        stored = [await tx.users.get(u.id) for u in new]
    assert stored == new


async def test_one_trip_driver_is_used_and_reports_rowcounts(sqlite: SqlStorage) -> None:
    assert sqlite_driver.available()
    async with sqlite.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, sqlite_driver.OneTripConnection)
    user = make_user()
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
        result = await tx.connection.execute(
            sqlalchemy.update(users).where(users.c.id == user.id).values(name="Renamed"))
        assert result.rowcount == 1
        rows = (await tx.connection.execute(select(users.c.name).where(users.c.id == user.id))).all()
        assert [r.name for r in rows] == ["Renamed"]


async def test_reads_give_way_to_an_open_writer(sqlite: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    # A generous bound, so a slow machine cannot turn "waits for the writer" into "timed out".
    monkeypatch.setattr("catalyst_adapters.sql.storage.READS_WAIT_FOR_WRITER", 10.0)
    user = make_user()
    order: list[str] = []

    async def write() -> None:
        async with sqlite.transaction() as tx:
            await tx.users.add(user)
            await asyncio.sleep(0.01)
            order.append("writer done")

    async def read() -> Any:
        await asyncio.sleep(0)  # start while the writer holds its transaction open
        async with sqlite.transaction(write=False) as tx:
            order.append("read")
            return await tx.users.get(user.id)

    _, seen = await asyncio.gather(write(), read())
    assert order == ["writer done", "read"]
    assert seen == user  # the read ran after the commit


async def test_a_slow_writer_holds_reads_back_only_briefly(sqlite: SqlStorage) -> None:
    user = make_user()
    writer_may_finish = asyncio.Event()

    async def write() -> None:
        async with sqlite.transaction() as tx:
            await tx.users.add(user)
            await writer_may_finish.wait()

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.01)
    async with asyncio.timeout(1):
        async with sqlite.transaction(write=False) as tx:
            seen = await tx.users.get(user.id)
    writer_may_finish.set()
    await writer
    assert seen is None  # it read the last committed state instead of waiting for the writer


def _trace_reads(storage: SqlStorage) -> list[str]:
    """Every statement SQLite itself runs on the inline readers from now on (the hot ones bypass
    SQLAlchemy, so its events would not see them)."""
    statements: list[str] = []
    while storage._idle_readers:  # the next read connects anew, with the trace in place
        storage._idle_readers.pop().connection.close()
    sqlalchemy.event.listen(storage._reader, "connect",
                            lambda dbapi, _record: dbapi.set_trace_callback(statements.append))
    return statements


async def test_a_task_page_is_one_or_two_queries_whatever_its_size(sqlite: SqlStorage) -> None:
    user, other, client = make_user(), make_user(), make_client()
    new = [make_task(client, user, assignees=[user.id, other.id]) for _ in range(30)]
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
        await tx.users.add(other)
        await tx.clients.add(client)
        await tx.tasks.add_many(new)
    statements = _trace_reads(sqlite)

    async def page_of(query: TaskQuery, number: int) -> Any:
        statements.clear()
        async with sqlite.transaction(write=False) as tx:
            return await tx.tasks.list(query, PageRequest(number, 20), SortSpec())

    # A client's list carries its kept total in its one query, rows (assignees included) and all.
    page = await page_of(TaskQuery(client_id=client.id), 1)
    assert len(page.items) == 20 and page.total_items == 30
    assert all(t.assignees == [user.id, other.id] for t in page.items)
    assert len(statements) == 1, statements
    past = await page_of(TaskQuery(client_id=client.id), 3)  # no row to carry the total
    assert past.items == [] and past.total_items == 30 and len(statements) == 2
    # Other filters count apart: the rows, and the count. Never a query per task.
    page = await page_of(TaskQuery(client_id=client.id, assigned_to=other.id), 1)
    assert len(page.items) == 20 and page.total_items == 30
    assert len(statements) == 2, statements


async def test_the_hot_task_list_is_served_by_an_index(sqlite: SqlStorage) -> None:
    """The bench's query (client + status, newest first) must walk an index in order, never sort
    in a temporary b-tree (a new index can change SQLite's mind), and count from the kept counts."""
    from catalyst_adapters.sql.inline import _Prepared
    from catalyst_adapters.sql.task_repos import _task_list_statements
    from catalyst_core.paging import Order

    statements = _task_list_statements(("client_id", "status"), "created_at", Order.DESC, True)
    dialect = sqlite._reader.dialect
    values = {"client_id": make_client().id, "status": "pending", "limit": 20, "offset": 0}
    plans = []
    with sqlite._reader.connect() as conn:
        for statement in (statements.rows, statements.count):
            prepared = _Prepared(statement, dialect)
            plans.append(" ".join(r[-1] for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + prepared.sql, tuple(prepared.parameters(values))).all()))
    # The page's positions from the index alone, then only its rows by their keys.
    assert "USING COVERING INDEX ix_tasks_client_id_status_created_at_id" in plans[0], plans[0]
    assert "SEARCH tasks USING INTEGER PRIMARY KEY" in plans[0], plans[0]
    assert "TEMP B-TREE" not in plans[0], plans[0]
    for plan in plans:  # the total, in the page's query and alone, from the kept counts
        assert "SEARCH task_counts" in plan and "SCAN tasks" not in plan, plan
        assert "SCAN task_counts" not in plan, plan


async def test_pages_found_by_rowid_are_the_plain_pages_in_the_same_order(sqlite: SqlStorage) -> None:
    """SQLite's page form finds a page's keys first and relies on the LEFT JOIN running them as
    the outer loop for the order. Same rows, same order as the plain statement, for every sort
    (ties in every sort key included) and for pages before, at and past the end."""
    from catalyst_adapters.sql.task_repos import _task_filter, _task_list_statements
    from catalyst_core.paging import Order
    from catalyst_core.tasks.model import Priority, TaskStatus

    user, client = make_user(), make_client()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    new = [make_task(client, user, name=f"Task {i % 7}", created_at=at.replace(day=1 + i % 5),
                     priority=list(Priority)[i % 4], status=list(TaskStatus)[i % 2],
                     due_date=None if i % 3 else at.replace(month=1 + i % 4))
           for i in range(57)]
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
        await tx.clients.add(client)
        await tx.tasks.add_many(new)
    queries = [TaskQuery(), TaskQuery(client_id=client.id),
               TaskQuery(client_id=client.id, status=TaskStatus.PENDING),
               TaskQuery(visible_to=user.id), TaskQuery(client_id=client.id, text="task 3")]
    with sqlite._reader.connect() as conn:
        for query in queries:
            values = _task_filter(query)
            for field in ("created_at", "updated_at", "name", "due_date", "priority"):
                for order in Order:
                    plain, by_rowid = (_task_list_statements(tuple(values), field, order, form)
                                       for form in (False, True))
                    for offset in (0, 7, 50, 57, 80):
                        params = {**values, "limit": 10, "offset": offset}
                        expected = conn.execute(plain.rows, params).all()
                        assert conn.execute(by_rowid.rows, params).all() == expected, (query, field, order)


async def test_a_write_transaction_costs_one_trip_per_statement_plus_commit(
        sqlite: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    import aiosqlite

    async with sqlite.transaction() as tx:  # open the pooled connection before counting
        await tx.users.add(make_user())
    trips: list[Any] = []
    original = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with sqlite.transaction():
        pass
    assert trips == []  # nothing ran, so nothing began and nothing is committed
    user = make_user()
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
    assert len(trips) == 2  # BEGIN IMMEDIATE + INSERT in one trip, then COMMIT
    async with sqlite.transaction(write=False) as tx:
        assert await tx.users.get(user.id) == user


async def test_the_fast_lane_reads_what_sqlalchemy_reads(sqlite: SqlStorage,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Hot statements on inline readers skip SQLAlchemy's result processing (adapters/sql/inline.py).
    Every repository read that uses them must return what the same read returns through SQLAlchemy
    (ordinary write transactions still run every statement through it): UUIDs, aware datetimes
    with microseconds, JSON assignees, booleans, enums and NULLs alike. Brief writes run on the
    loop's own connection and take the fast lane too (ADR 0007)."""
    from datetime import UTC, datetime

    from catalyst_adapters.sql import inline
    from catalyst_contracts.strategies import make_comment, make_membership
    from catalyst_core.clients.model import ClientRole
    from catalyst_core.paging import Order
    from catalyst_core.tasks.model import Priority, TaskStatus, TaskType

    user, other, client = make_user(), make_user(is_active=False), make_client()
    moment = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    full = make_task(client, user, assignees=[user.id, other.id], due_date=moment, description="Dé",
                     related_object_id="ad-1", related_object_type="alert_instance",
                     status=TaskStatus.COMPLETED, completed_by=other.id, completed_at=moment,
                     task_type=TaskType.REVIEW_CREATIVE, priority=Priority.HIGH, created_at=moment)
    bare = make_task(client, user)
    comment = make_comment(full, other, comment="Dé\U0001f600", created_at=moment)
    async with sqlite.transaction() as tx:
        for u in (user, other):
            await tx.users.add(u)
        await tx.clients.add(client)
        await tx.members.add(make_membership(client, user, ClientRole.ADMIN))
        await tx.tasks.add_many([full, bare])
        await tx.comments.add(comment)

    async def reads(tx: Any) -> list[Any]:
        out = [await tx.users.get(user.id), await tx.users.get(other.id),
               await tx.users.get_by_email(user.email), await tx.members.get(client.id, user.id),
               await tx.members.get(client.id, other.id), await tx.tasks.get(full.id),
               await tx.tasks.get(bare.id), await tx.tasks.get(full.id, for_update=True),
               await tx.comments.get(comment.id), await tx.comments.view(comment.id)]
        for query in (TaskQuery(client_id=client.id),
                      TaskQuery(client_id=client.id, status=TaskStatus.PENDING),
                      TaskQuery(visible_to=user.id, assigned_to=other.id), TaskQuery(text="dé")):
            for sort in (SortSpec(), SortSpec("priority", Order.ASC), SortSpec("due_date", Order.DESC)):
                out.append(await tx.tasks.list(query, PageRequest(1, 1), sort))
        return out

    fast_runs: list[str] = []
    original = inline._Prepared.fetch  # every fast-lane statement, on the loop or on a thread

    def counted(self: Any, conn: Any, values: Any) -> Any:
        fast_runs.append(self.sql)
        return original(self, conn, values)

    monkeypatch.setattr(inline._Prepared, "fetch", counted)
    async with sqlite.transaction(write=False) as tx:
        assert isinstance(tx.connection, InlineConnection)
        fast = await reads(tx)
    fast_lane = len(fast_runs)
    async with sqlite.transaction() as tx:
        assert not isinstance(tx.connection, InlineConnection)
        slow = await reads(tx)
    assert fast_lane >= 10 + 12 and len(fast_runs) == fast_lane  # every read above; none on the writer
    assert fast == slow
    assert fast[5] == full and fast[6] == bare and fast[0] == user and fast[1] == other
    assert fast[7] == full and fast[8] == comment and fast[9].comment == comment.comment


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_task_reads_the_same_on_both_lanes(sqlite_template: Path, tmp_path: Path,
                                               data: st.DataObject) -> None:
    """Property: whatever a task holds, the fast lane returns the task that was stored, as
    SQLAlchemy's lane does (texts in any script, microseconds, NULLs, every enum value)."""
    users_ = [make_user() for _ in range(3)]
    client = make_client()
    task = data.draw(any_task(client, users_))

    async def check() -> None:
        storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path)))
        try:
            await stored_task_reads_the_same_both_ways(storage, users_, client, task)
        finally:
            await storage.close()

    asyncio.run(check())


@given(st.uuids() | st.text("0123456789abcdefABCDEF-x_+ ", min_size=30, max_size=36))
def test_the_fast_uuid_parser_agrees_with_uuid_uuid(value: Any) -> None:
    from catalyst_adapters.sql.inline import _parse_uuid_hex

    text = value.hex if isinstance(value, uuid.UUID) else value
    try:
        expected: Any = uuid.UUID(text)
    except ValueError:
        expected = ValueError
    try:
        got: Any = _parse_uuid_hex(text)
    except ValueError:
        got = ValueError
    assert got == expected
