"""The fast lane (docs/adr/0001, 0002, 0006) can be turned off, and does not depend on the order of
the core entities' fields.

The fast lane reads rows as plain tuples, in the order of the statement's columns; the entities are
built from them by field name. Each test here swaps an entity for a class with the same fields in
reverse order (all mandatory, so a positional call would fill them silently wrong) and demands the
same values, field by field."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from catalyst_adapters.sql import (
    SqlStorage,
    create_engine,
    performance_levels,
    performance_repos,
    sqlite_driver,
    task_repos,
)
from catalyst_adapters.sql.inline import entity_builder
from catalyst_adapters.sql.storage import InlineConnection
from catalyst_api.container import build_container
from catalyst_api.settings import Settings
from catalyst_contracts.strategies import make_client, make_task, make_user
from catalyst_core.metrics.model import Level
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import Priority, TaskQuery, TaskStatus, TaskType
from tests.conftest import TEST_SECRET, sqlite_copy


def reordered(cls: type) -> type:
    """`cls`'s fields in reverse order, every one mandatory."""
    fields = list(reversed(attrs.fields(cls)))
    assert len(fields) > 1
    return attrs.make_class(cls.__name__, {f.name: attrs.field() for f in fields})


def test_an_entity_is_built_from_a_row_by_field_name() -> None:
    @attrs.define
    class Point:
        x: int
        y: int
        label: str = attrs.field(kw_only=True, default="")

    build = entity_builder(Point, ("label", "y", "x"), {"label": str.upper})
    assert build(("a", 2, 1)) == Point(1, 2, label="A")
    assert entity_builder(reordered(Point), ("label", "y", "x"))(("a", 2, 1)).x == 1
    with pytest.raises(TypeError):
        entity_builder(Point, ("x", "y"))  # a field the row lacks would be left to its default
    with pytest.raises(TypeError):
        entity_builder(Point, ("x", "y", "label", "z"))


def by_name(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in attrs.fields(type(value))}


@pytest.fixture
async def sqlite(sqlite_template: Path, tmp_path: Path) -> Any:
    storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path)))
    yield storage
    await storage.close()


async def test_tasks_read_on_the_fast_lane_do_not_depend_on_the_order_of_tasks_fields(
        sqlite: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    user, client = make_user(), make_client()
    moment = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    task = make_task(client, user, assignees=[user.id], due_date=moment, description="Dé",
                     related_object_id="ad-1", related_object_type="alert_instance",
                     status=TaskStatus.COMPLETED, completed_by=user.id, completed_at=moment,
                     task_type=TaskType.REVIEW_CREATIVE, priority=Priority.HIGH, created_at=moment)
    async with sqlite.transaction() as tx:
        await tx.users.add(user)
        await tx.clients.add(client)
        await tx.tasks.add(task)
    # _task is built for Task at import; build the same for the reordered class.
    monkeypatch.setattr(task_repos, "_task", task_repos._task_builder(reordered(type(task))))
    async with sqlite.transaction(write=False) as tx:
        assert isinstance(tx.connection, InlineConnection)
        read = await tx.tasks.get(task.id)
        page = await tx.tasks.list(TaskQuery(client_id=client.id), PageRequest(1, 20), SortSpec())
    assert by_name(read) == by_name(task)
    assert [by_name(t) for t in page.items] == [by_name(task)]


def test_performance_lines_do_not_depend_on_the_order_of_their_fields(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sums = (3, 1_500_000, 100, 10, 9, 2, 1, 4_000_000)  # row_count, then BASE_NAMES' sums
    ids = ("facebook", "c1", "Campaign", "s1", "Set", "a1", "Ad")
    monkeypatch.setattr(performance_levels, "LevelTotals", reordered(performance_levels.LevelTotals))
    line = performance_levels._level_converter(Level.ADSET)((*ids[:5], *sums))
    assert (line.platform, line.campaign_id, line.campaign_name, line.adset_id, line.adset_name,
            line.ad_id, line.ad_name) == (*ids[:5], None, None)
    assert line.totals.rows == 3 and line.totals["spend"] == 1_500_000

    monkeypatch.setattr(performance_repos, "EntityTotals", reordered(performance_repos.EntityTotals))
    entity = performance_repos._entity_totals(("facebook", "c1", "s1", "a1", "C", "S", "A", *sums))
    assert (entity.platform, entity.campaign_id, entity.adset_id, entity.ad_id, entity.campaign_name,
            entity.adset_name, entity.ad_name) == ("facebook", "c1", "s1", "a1", "C", "S", "A")
    assert entity.totals.rows == 3

    monkeypatch.setattr(performance_repos, "PerformanceRow", reordered(performance_repos.PerformanceRow))
    client_id = uuid.uuid4()
    fields = performance_repos._ROW_FIELDS
    stored = {name: i for i, name in enumerate(fields)} | {"date": date(2026, 1, 2), "spend": 1_230_000}
    row = performance_repos._performance_row(client_id, [stored[name] for name in fields])
    assert row.client_id == client_id and row.date == date(2026, 1, 2)
    assert row.spend == Decimal("1.23") and row.platform == fields.index("platform")
    assert [getattr(row, name) for name in fields[2:8]] == [fields.index(n) for n in fields[2:8]]


async def test_catalyst_fast_lane_0_reads_through_sqlalchemy_on_the_async_connection(
        sqlite_template: Path, tmp_path: Path) -> None:
    url = sqlite_copy(sqlite_template, tmp_path)
    env = {"CATALYST_DATABASE_URL": url, "CATALYST_DATA_DIR": str(tmp_path),
           "CATALYST_JWT_SECRET": TEST_SECRET, "CATALYST_READ_PROCESSES": "0"}
    for value, fast in (("0", False), ("off", False), ("1", True), (None, True)):
        settings = Settings.from_env(env if value is None else {**env, "CATALYST_FAST_LANE": value})
        assert settings.fast_lane is fast
        storage = build_container(settings).storage()
        try:
            async with storage.transaction(write=False) as tx:
                assert isinstance(tx.connection, InlineConnection) is fast
                assert await tx.users.get(uuid.uuid4()) is None
            one_trip = isinstance(storage.engine.dialect.dbapi, sqlite_driver.OneTripDbapi)
            assert one_trip is (fast and sqlite_driver.available())
        finally:
            await storage.close()
