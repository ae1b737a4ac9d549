"""Every shape of task list either runs off the event loop or is an index walk bounded by the page
(issue #14, item 3; ADR 0001). The shapes are generated from TaskQuery's fields and the repository's
sorts, so a new filter or sort is covered as soon as it exists: it fails here until it is given a
value below, and then it must be routed off the loop or have a bounded plan."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy.dialects import sqlite as sqlite_dialect

from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_adapters.sql.storage import InlineConnection
from catalyst_adapters.sql.task_repos import (
    _TASK_CONDITIONS,
    _TASK_SORT,
    INDEXED_SHAPES,
    INLINE_MAX_OFFSET,
    _task_filter,
    _task_list_statements,
    on_loop,
)
from catalyst_contracts.strategies import make_client, make_task, make_user
from catalyst_core.ids import ClientId, UserId
from catalyst_core.paging import Order, PageRequest, SortSpec
from catalyst_core.tasks.model import Priority, TaskQuery, TaskStatus, TaskType
from tests.conftest import sqlite_copy

_USER, _CLIENT = UserId(uuid.uuid4()), ClientId(uuid.uuid4())
# A value for each filter of TaskQuery (due_before=date.max is the has_due_date condition).
_FILTER_VALUES: dict[str, list[Any]] = {
    "visible_to": [_USER], "status": [TaskStatus.PENDING], "task_type": [TaskType.OTHER],
    "priority": [Priority.HIGH], "assigned_to": [_USER], "assigned_to_other_than": [_USER],
    "assignee_id": [_USER], "text": ["banner"], "due_before": [date(2030, 1, 1), date.max],
    "due_after": [date(2020, 1, 1)],
}
_FILTERS = [f.name for f in attrs.fields(TaskQuery) if f.name != "client_id"]


def _queries() -> list[TaskQuery]:
    """No filter, each filter alone, and the indexed pair; each with and without client_id."""
    found = [TaskQuery(), TaskQuery(status=TaskStatus.PENDING, task_type=TaskType.OTHER)]
    found += [TaskQuery(**{name: value}) for name in _FILTERS for value in _FILTER_VALUES.get(name, [])]
    return found + [attrs.evolve(q, client_id=_CLIENT) for q in found]


_QUERIES = _queries()
_SHAPES = sorted({tuple(_task_filter(q)) for q in _QUERIES})
_SORTS = [(field, order) for field in _TASK_SORT for order in Order]


def test_every_filter_and_condition_is_covered() -> None:
    assert set(_FILTERS) <= set(_FILTER_VALUES), "give the new TaskQuery filter a value above"
    assert {name for shape in _SHAPES for name in shape} == set(_TASK_CONDITIONS)
    assert INDEXED_SHAPES <= set(_SHAPES)


def _plan(template: Path, statement: Any) -> list[str]:
    compiled = statement.compile(dialect=sqlite_dialect.dialect())
    parameters = [None] * len(compiled.positiontup or ())
    with sqlite3.connect(template) as conn:
        return [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {compiled}", parameters)]


def _bounded(plan: list[str]) -> bool:
    """An index walk in the order asked (stopping after offset + limit entries): no sort of what
    matched, and every read of `tasks` through an index or its rowid."""
    if any("TEMP B-TREE" in step for step in plan):
        return False
    reads = [step for step in plan if step.split()[:2] in (["SCAN", "tasks"], ["SEARCH", "tasks"])]
    return bool(reads) and all(" USING " in step for step in reads)


@pytest.mark.parametrize("shape", _SHAPES, ids="+".join)
@pytest.mark.parametrize(("sort", "order"), _SORTS, ids=lambda v: str(getattr(v, "value", v)))
def test_shape_is_bounded_by_an_index_or_runs_off_the_loop(
        sqlite_template: Path, shape: tuple[str, ...], sort: str, order: Order) -> None:
    if not on_loop(shape, sort, 0):
        return  # routed off the loop: test_lists_leave_the_loop_unless_bounded checks that it is
    statements = _task_list_statements(shape, sort, order, True)
    plan = _plan(sqlite_template, statements.rows)
    assert _bounded(plan), plan
    # Its total comes from the kept counts, not from counting rows.
    assert statements.counted
    assert all("tasks " not in step + " " for step in _plan(sqlite_template, statements.count))


def test_unbounded_plans_are_recognised(sqlite_template: Path) -> None:
    # The check itself must fail a shape that sorts what it matched or scans the table.
    by_name = _task_list_statements(("client_id",), "name", Order.ASC, True)
    everything = _task_list_statements((), "created_at", Order.DESC, True)
    assert not _bounded(_plan(sqlite_template, by_name.rows))
    assert not _bounded(_plan(sqlite_template, everything.rows))


@pytest.fixture
async def sqlite(sqlite_template: Path, tmp_path: Path) -> Any:
    storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path)))
    yield storage
    await storage.close()


async def test_lists_leave_the_loop_unless_bounded(sqlite: SqlStorage,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    user, client = make_user(), make_client()
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
        await tx.clients.add(client)
        await tx.tasks.add_many([make_task(client, user, name=f"Banner {i}") for i in range(3)])
    offloaded: list[Any] = []
    original = InlineConnection.execute_offloaded

    async def spy(self: InlineConnection, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        offloaded.append(statement)
        return await original(self, statement, parameters, **kw)

    monkeypatch.setattr(InlineConnection, "execute_offloaded", spy)
    pages = [PageRequest(1, 2), PageRequest(INLINE_MAX_OFFSET // 20 + 2, 20)]
    seen_on_loop = 0
    async with sqlite.transaction(write=False) as tx:
        for query in _QUERIES:
            if query.client_id is not None:
                query = attrs.evolve(query, client_id=client.id)
            shape = tuple(_task_filter(query))
            for sort, order in _SORTS:
                for page in pages:
                    offloaded.clear()
                    result = await tx.tasks.list(query, page, SortSpec(field=sort, order=order))
                    expected_on_loop = on_loop(shape, sort, page.offset)
                    assert (not offloaded) == expected_on_loop, (shape, sort, order, page)
                    seen_on_loop += expected_on_loop
                    if shape == ("client_id",):
                        assert result.total_items == 3
    assert seen_on_loop == len(INDEXED_SHAPES) * len(Order)  # only the first page of those
