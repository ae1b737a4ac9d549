"""Micro-benchmarks of the fast lane's uses of private APIs (docs/adr/0006-private-apis.md): what each
saves against the public way, in CPU time. Small and quick (a few seconds); the machine is shared, so
each figure is the best of several rounds and still only good to about ±20%.

    .venv/bin/python bench/private_apis.py [--writes 400]
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def per_call(f: Callable[[], Any], n: int = 100_000) -> float:
    """Best of five rounds, in ns per call."""
    return min(timeit.repeat(f, number=n, repeat=5)) / n * 1e9


def uuids() -> None:
    from catalyst_adapters.sql.inline import _parse_uuid_hex

    hexes = [uuid.uuid4().hex for _ in range(1000)]
    it = iter(range(10**9))
    public = per_call(lambda: uuid.UUID(hexes[next(it) % 1000]))
    private = per_call(lambda: _parse_uuid_hex(hexes[next(it) % 1000]))
    print(f"UUID from 32 hex digits, uncached: uuid.UUID {public:.0f} ns, "
          f"object.__new__ + __setattr__ {private:.0f} ns")


def enums() -> None:
    from catalyst_core.tasks.model import TaskStatus

    private = TaskStatus._value2member_map_
    public = {s.value: s for s in TaskStatus}
    print(f"enum by value: TaskStatus(v) {per_call(lambda: TaskStatus('pending')):.0f} ns, "
          f"_value2member_map_[v] {per_call(lambda: private['pending']):.0f} ns, "
          f"own dict[v] {per_call(lambda: public['pending']):.0f} ns")
    assert isinstance(TaskStatus.PENDING, enum.Enum)


async def writes(n: int, fast_lane: bool) -> float:
    """CPU per write transaction (one INSERT), µs: the one-trip driver against SQLAlchemy's own."""
    from catalyst_adapters.sql import SqlStorage, create_engine, migrate
    from catalyst_contracts.strategies import make_user

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp}/w.db", fast_lane=fast_lane)
        await migrate(engine)
        storage = SqlStorage(engine, fast_lane=fast_lane)
        users = [make_user() for _ in range(n * 2)]
        for u in users[:n]:  # warm up
            async with storage.transaction() as tx:
                await tx.users.add(u)
        started = time.process_time()
        for u in users[n:]:
            async with storage.transaction() as tx:
                await tx.users.add(u)
        spent = (time.process_time() - started) / n * 1e6
        await storage.close()
    return spent


async def reads(n: int, fast_lane: bool) -> float:
    """CPU per read transaction of one user by id, µs: inline hot statement against SQLAlchemy."""
    from catalyst_adapters.sql import SqlStorage, create_engine, migrate
    from catalyst_contracts.strategies import make_user

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp}/r.db", fast_lane=fast_lane)
        await migrate(engine)
        storage = SqlStorage(engine, fast_lane=fast_lane)
        user = make_user()
        async with storage.transaction() as tx:
            await tx.users.add(user)
        for _ in range(n):
            async with storage.transaction(write=False) as tx:
                await tx.users.get(user.id)
        started = time.process_time()
        for _ in range(n):
            async with storage.transaction(write=False) as tx:
                await tx.users.get(user.id)
        spent = (time.process_time() - started) / n * 1e6
        await storage.close()
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=400)
    args = parser.parse_args()
    uuids()
    enums()
    for label, bench in (("write transaction", writes), ("read by id", reads)):
        on = min(asyncio.run(bench(args.writes, True)) for _ in range(3))
        off = min(asyncio.run(bench(args.writes, False)) for _ in range(3))
        print(f"{label}: fast lane {on:.0f} µs CPU, CATALYST_FAST_LANE=0 {off:.0f} µs CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
