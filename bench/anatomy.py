"""The anatomy of one request: SQL statements, transactions and aiosqlite thread hops per request,
counted in-process on the bench database. Counts do not depend on how busy the machine is, so this
is the number to watch when changing the storage path (timings are printed too, but are noisy).

    .venv/bin/python bench/anatomy.py [--requests 200] [--cprofile]

Runs the real create_app against a copy of the seeded database (bench/seed.py must have run, e.g.
through bench/run.py), sequentially, through aiohttp's test client.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import seed as seeding  # noqa: E402


class Counters:
    def __init__(self) -> None:
        self.hops = 0
        self.statements: Counter[str] = Counter()

    def reset(self) -> None:
        self.hops = 0
        self.statements.clear()


def instrument(counters: Counters) -> None:
    """Count every job aiosqlite hands to its worker thread (one thread wake-up and one loop
    wake-up each)."""
    import aiosqlite.core as core

    original = core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counters.hops += 1
        return await original(self, fn, *args, **kwargs)

    core.Connection._execute = counted  # type: ignore[method-assign]


async def measure(record: dict[str, Any], n: int, profile: bool) -> None:
    from aiohttp.test_utils import TestClient, TestServer
    from sqlalchemy import event

    from catalyst_api.app import create_app
    from catalyst_api.keys import CONTAINER

    counters = Counters()
    instrument(counters)
    app = create_app()
    async with TestClient(TestServer(app)) as client:
        engine = app[CONTAINER].engine()
        # Reads on SQLite run on the loop through a second, synchronous engine (docs/adr/0001).
        reader = getattr(app[CONTAINER].storage(), "_reader", None)

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            counters.statements[" ".join(statement.split()[:4])[:60]] += 1

        if reader is not None:
            # The hot statements bypass SQLAlchemy on inline readers (adapters/sql/inline.py), so
            # count what SQLite itself runs there: its trace callback, on every reader connection.
            def _count_inline(statement: str) -> None:
                counters.statements["(inline) " + " ".join(statement.split()[:4])[:51]] += 1

            @event.listens_for(reader, "connect")
            def _trace(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.set_trace_callback(_count_inline)

        resp = await client.post("/api/v1/auth/login",
                                 json={"email": record["email"], "password": record["password"]})
        token = (await resp.json())["data"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        clients = record["client_ids"]

        def list_url(i: int) -> str:
            return (f"/api/v1/tasks?client_id={clients[i % len(clients)]}&status=pending&limit=20"
                    f"&page={i % 50 + 1}")

        async def get(i: int) -> None:
            r = await client.get(list_url(i), headers=headers)
            await r.read()
            assert r.status == 200, r.status

        async def post(i: int) -> None:
            body = {"client_id": clients[i % len(clients)], "name": f"Anatomy task {i}",
                    "assignees": [record["user_id"]], "due_date": "2030-01-15"}
            r = await client.post("/api/v1/tasks", json=body, headers=headers)
            await r.read()
            assert r.status == 201, r.status

        for name, call in (("GET /tasks (list page)", get), ("POST /tasks", post)):
            for i in range(20):  # warm caches (SQLAlchemy's compiled cache, SQLite's pages)
                await call(i)
            counters.reset()
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            for i in range(n):
                await call(i)
            elapsed = time.perf_counter() - started
            if profiler:
                profiler.disable()
            total = sum(counters.statements.values())
            print(f"\n{name}: {elapsed / n * 1e3:.2f} ms/request sequentially (noisy), "
                  f"{total / n:.1f} SQL statements, {counters.hops / n:.1f} aiosqlite thread hops "
                  f"per request")
            for stmt, count in counters.statements.most_common():
                print(f"  {count / n:4.1f} x {stmt}")
            if profiler:
                pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "results" / "data")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    with seeding.in_process_copy(args.data_dir, "catalyst-anatomy-") as record:
        asyncio.run(measure(record, args.requests, args.cprofile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
