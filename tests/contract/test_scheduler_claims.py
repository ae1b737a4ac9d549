"""Two schedulers over one database run each alert once per slot (SQLite file and PostgreSQL).

Each scheduler is a service over a storage of its own (its own engine and connections), as two
processes would be; both run their passes at the same moment, slot after slot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_contracts.storage.helpers import put
from catalyst_contracts.strategies import make_client, make_user
from catalyst_core.alerts.config import parse_config
from catalyst_core.alerts.model import AlertId
from catalyst_core.alerts.service import AlertsService, new_alert
from catalyst_core.ids import random_ids
from tests.conftest import sqlite_copy

ALERTS = 30
SLOTS = 3
START = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def _storages(kind: str, request: pytest.FixtureRequest, tmp_path: Path,
                    sqlite_template: Path) -> list[SqlStorage]:
    if kind == "sqlite":
        url = sqlite_copy(sqlite_template, tmp_path)
        return [SqlStorage(create_engine(url)) for _ in range(2)]
    url, kwargs = request.getfixturevalue("postgres_url")
    storages = [SqlStorage(create_engine(url, **kwargs)) for _ in range(2)]
    await storages[0].reset()
    return storages


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_two_schedulers_run_each_alert_once_per_slot(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> None:
    storages = await _storages(kind, request, tmp_path, sqlite_template)
    try:
        clock = FrozenClock(START)
        owner, client = make_user(), make_client()
        await put(storages[0], owner, client)
        hourly = parse_config({"name": "Hourly", "alert_type": "ctr",
                               "frequency": {"type": "hourly", "timezone": "Europe/Berlin"},
                               "condition_config": {"operator": "less_than", "value": "0.01"}})
        alerts = [new_alert(hourly, alert_id=AlertId(random_ids()), client_id=client.id,
                            created_by=owner.id, now=START) for _ in range(ALERTS)]
        async with storages[0].transaction() as tx:
            await tx.alerts.add_many(alerts)
        services = [AlertsService(s, clock, RecordingNotifier(), random_ids) for s in storages]
        ran: list[int] = []
        for _ in range(SLOTS):
            clock.advance(hours=1)
            passes = await asyncio.gather(*(s.run_due(limit=7) for s in services for _ in range(3)))
            ran.append(sum(p.ran for p in passes))
            # Passes are capped at 7 alerts: drain whatever is left, still concurrently.
            while any(p.ran for p in passes):
                passes = await asyncio.gather(*(s.run_due(limit=7) for s in services))
                ran[-1] += sum(p.ran for p in passes)
        assert ran == [ALERTS] * SLOTS
        async with storages[1].transaction(write=False) as tx:
            stored = await tx.alerts.list(client.id, None)
        now = clock.now()
        assert {a.last_run_at for a in stored} == {now}
        assert {a.next_run_at for a in stored} == {now + timedelta(hours=1)}
    finally:
        for storage in storages:
            await storage.close()


async def test_a_scheduler_that_was_down_runs_each_alert_once(storage: Any) -> None:
    clock = FrozenClock(START)
    owner, client = make_user(), make_client()
    await put(storage, owner, client)
    daily = parse_config({"name": "Daily", "alert_type": "cpl",
                          "frequency": {"type": "daily", "time": "05:00", "timezone": "UTC"},
                          "condition_config": {"operator": "greater_than", "value": 10}})
    alert = new_alert(daily, alert_id=AlertId(random_ids()), client_id=client.id,
                      created_by=owner.id, now=START)
    async with storage.transaction() as tx:
        await tx.alerts.add(alert)
    service = AlertsService(storage, clock, RecordingNotifier(), random_ids)
    assert (await service.run_due()).ran == 0  # created at noon: first slot is tomorrow 05:00
    clock.advance(days=10)  # ten slots missed
    assert (await service.run_due()).ran == 1
    assert (await service.run_due()).ran == 0
    async with storage.transaction(write=False) as tx:
        stored = await tx.alerts.get(alert.id)
    assert stored is not None
    assert stored.next_run_at == datetime(2026, 3, 12, 5, tzinfo=UTC)
