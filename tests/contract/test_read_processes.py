"""Heavy SQLite reads in worker processes (catalyst_adapters.sqlite_processes): they answer what the
same reads answer on a thread, they really leave the server process, and a worker that dies costs
one read (Unavailable), not the pool."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
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
        self.spawned: list[Any] = []

    def _spawned(self) -> Any:
        self.spawned_on.append(threading.get_ident())
        pool = super()._spawned()
        self.spawned = list(pool._processes.values())  # the pool's own record of its workers
        return pool


async def test_processes_are_spawned_once_and_off_the_event_loop(sqlite_template: Path,
                                                                 tmp_path: Path) -> None:
    path = sqlite_copy(sqlite_template, tmp_path).removeprefix("sqlite+aiosqlite:///")
    processes = RecordingStarts()
    try:
        # Reads arriving together share one start; later reads use the same pool.
        answers = await asyncio.gather(*(processes.run(path, "SELECT ?", [n]) for n in range(5)))
        assert answers == [[(n,)] for n in range(5)]
        pool = processes._pool
        assert pool is not None
        assert await processes.run(path, "SELECT 1", []) == [(1,)]
        assert processes._pool is pool
    finally:
        processes.close()
    assert len(processes.spawned_on) == 1
    assert threading.get_ident() not in processes.spawned_on


async def test_closing_while_starting_leaves_no_process_behind(sqlite_template: Path,
                                                               tmp_path: Path) -> None:
    path = sqlite_copy(sqlite_template, tmp_path).removeprefix("sqlite+aiosqlite:///")
    processes = RecordingStarts()
    first = asyncio.ensure_future(processes.run(path, "SELECT 1", []))
    await asyncio.sleep(0)  # the first read has begun spawning the pool
    starting = processes._starting
    assert starting is not None
    processes.close()  # the server stops while its first report waits for the pool
    with pytest.raises(BrokenProcessPool):
        await first
    assert starting.done() and processes._pool is None
    assert len(processes.spawned) == 1
    assert all(not p.is_alive() for p in await asyncio.to_thread(_joined, processes.spawned))
    with pytest.raises(BrokenProcessPool):
        await processes.run(path, "SELECT 1", [])


def _joined(processes: list[Any]) -> list[Any]:
    for p in processes:
        p.join(10)
    return processes


def test_a_worker_exits_when_the_server_process_is_gone(tmp_path: Path) -> None:
    # A stand-in server reads through a pool and dies by SIGKILL; its worker must not stay behind.
    script = tmp_path / "server.py"
    script.write_text(
        "import asyncio, os, signal, sys\n"
        "from catalyst_adapters.sqlite_processes import ReadProcesses\n"
        "async def main():\n"
        "    processes = ReadProcesses(1)\n"
        "    await processes.run(sys.argv[1], 'SELECT 1', [])\n"
        "    print(*processes._pool._processes, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n")
    db = tmp_path / "x.db"
    sqlite3.connect(db).close()
    done = subprocess.run([sys.executable, str(script), str(db)], capture_output=True, text=True,
                          timeout=60)
    [worker] = map(int, done.stdout.split())
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited: only its parent may reap it
        return stat.read().split(") ")[-1][0] != "Z"
