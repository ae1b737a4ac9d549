"""Heavy SQLite reads in worker processes (catalyst_adapters.sqlite_processes): they answer what the
same reads answer on a thread, they really leave the server process, and a worker that dies costs
one read (Unavailable), not the pool."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_adapters.sqlite_processes import ReadProcesses
from catalyst_contracts.strategies import make_client, make_row
from catalyst_core.errors import Unavailable
from catalyst_core.metrics.model import PerformanceQuery
from catalyst_core.paging import Order, PageRequest
from tests.conftest import sqlite_copy


class CountingProcesses(ReadProcesses):
    def __init__(self) -> None:
        super().__init__(1)
        self.calls = 0

    async def run(self, path: str, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        self.calls += 1
        return await super().run(path, sql, parameters)


async def _reads(storage: SqlStorage, client_id: Any) -> tuple[Any, ...]:
    async with storage.transaction(write=False) as tx:
        performance = tx.performance
        return (
            await performance.daily_totals(client_id, date(2024, 1, 1), date(2024, 12, 31)),
            await performance.entity_totals(client_id, date(2024, 1, 1), date(2024, 12, 31)),
            await performance.breakdown(client_id, date(2024, 1, 15), date(2024, 3, 10), limit=2),
            await performance.list(PerformanceQuery(client_id), PageRequest(1, 5), Order.DESC),
        )


async def test_reads_in_processes_answer_as_reads_on_threads(sqlite_template: Path, tmp_path: Path) -> None:
    url = sqlite_copy(sqlite_template, tmp_path)
    processes = CountingProcesses()
    in_processes, on_threads = SqlStorage(create_engine(url), processes), SqlStorage(create_engine(url))
    try:
        client = make_client()
        async with on_threads.transaction() as tx:
            await tx.clients.add(client)
            await tx.performance.upsert(client.id, [
                make_row(client, date=date(2024, m, d), ad_id=f"ad {d % 3}", campaign_id=f"c{d % 2}")
                for m in (1, 2, 3) for d in (1, 14, 28)])
        assert await _reads(in_processes, client.id) == await _reads(on_threads, client.id)
        assert processes.calls >= 5  # every heavy statement went to the worker process
    finally:
        await in_processes.close()
        await on_threads.close()
        processes.close()


async def test_a_dead_worker_costs_one_read(sqlite_template: Path, tmp_path: Path) -> None:
    processes = ReadProcesses(1)
    storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path)), processes)
    client = make_client()
    try:
        async with storage.transaction() as tx:
            await tx.clients.add(client)

        async def totals() -> Any:
            async with storage.transaction(write=False) as tx:
                return await tx.performance.daily_totals(client.id, date(2024, 1, 1), date(2024, 1, 31))

        assert await totals() == []
        pool = processes._pool
        assert pool is not None
        for pid in list(pool._processes):  # the pool's own record of its workers
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(Unavailable):
            await totals()
        assert await totals() == []  # a new pool took over
    finally:
        await storage.close()
        processes.close()


class RecordingStarts(ReadProcesses):
    def __init__(self) -> None:
        super().__init__(1)
        self.spawned_on: list[int] = []

    def _spawned(self) -> Any:
        self.spawned_on.append(threading.get_ident())
        return super()._spawned()


async def test_processes_are_spawned_once_and_off_the_event_loop(sqlite_template: Path,
                                                                 tmp_path: Path) -> None:
    path = sqlite_copy(sqlite_template, tmp_path).removeprefix("sqlite+aiosqlite:///")
    processes = RecordingStarts()
    try:
        await processes.start()
        pool = processes._pool
        assert pool is not None and len(pool._processes) == 1  # there before any read
        assert await processes.run(path, "SELECT 1", []) == [(1,)]
        assert processes._pool is pool
    finally:
        processes.close()
    # Without start: reads arriving together share one start.
    processes = RecordingStarts()
    try:
        answers = await asyncio.gather(*(processes.run(path, "SELECT ?", [n]) for n in range(5)))
        assert answers == [[(n,)] for n in range(5)]
    finally:
        processes.close()
    assert len(processes.spawned_on) == 1
    assert threading.get_ident() not in processes.spawned_on
