"""AlertRepo.claim is atomic across storages over one database (a SQLite file, PostgreSQL): of
several schedulers, each with its own engine and connections as separate processes would have,
exactly one claims each slot, and a claim that rolled back leaves the slot free."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_contracts.storage.alerts import make_alert, store
from catalyst_contracts.storage.helpers import read
from catalyst_contracts.strategies import at, make_client, make_user
from tests.conftest import sqlite_copy

HELD = 0.2  # how long the first claimer keeps its transaction open


@pytest.fixture(params=["sqlite", "postgres"])
async def two_storages(request: pytest.FixtureRequest, tmp_path: Path,
                       sqlite_template: Path) -> AsyncIterator[list[SqlStorage]]:
    if request.param == "sqlite":
        url = sqlite_copy(sqlite_template, tmp_path)
        storages = [SqlStorage(create_engine(url)) for _ in range(2)]
    else:
        url, kwargs = request.getfixturevalue("postgres_url")
        storages = [SqlStorage(create_engine(url, **kwargs)) for _ in range(2)]
        await storages[0].reset()
    yield storages
    for storage in storages:
        await storage.close()


async def claim(storage: SqlStorage, alert_id: Any, expected: Any, new: Any) -> bool:
    async with storage.transaction() as tx:
        return bool(await tx.alerts.claim(alert_id, expected, new, at(500)))


async def test_racing_claims_of_each_slot_one_wins(two_storages: list[SqlStorage]) -> None:
    user, client = make_user(), make_client()
    alerts = [make_alert(client, user, next_run_at=at(i)) for i in range(20)]
    await store(two_storages[0], user, client, *alerts)
    results = await asyncio.gather(*(
        claim(storage, alert.id, at(i), at(1000 + 10 * i + n))
        for i, alert in enumerate(alerts) for n, storage in enumerate(two_storages)))
    for i, alert in enumerate(alerts):
        won = results[2 * i:2 * i + 2]
        assert sorted(won) == [False, True], (i, won)
        stored = await read(two_storages[1], lambda tx, a=alert: tx.alerts.get(a.id))
        assert stored.next_run_at == at(1000 + 10 * i + won.index(True))
        assert stored.last_run_at == at(500)


async def test_a_claim_waits_for_the_open_one_and_then_loses(two_storages: list[SqlStorage]) -> None:
    user, client = make_user(), make_client()
    alert = make_alert(client, user, next_run_at=at(0))
    await store(two_storages[0], user, client, alert)
    claimed = asyncio.Event()

    async def first() -> bool:
        async with two_storages[0].transaction() as tx:
            won = await tx.alerts.claim(alert.id, at(0), at(3600), at(500))
            claimed.set()
            await asyncio.sleep(HELD)  # still uncommitted while the second tries
        return bool(won)

    async def second() -> bool:
        await claimed.wait()
        return await claim(two_storages[1], alert.id, at(0), at(7200))

    assert await asyncio.gather(first(), second()) == [True, False]
    assert (await read(two_storages[1], lambda tx: tx.alerts.get(alert.id))).next_run_at == at(3600)


async def test_a_claim_that_rolled_back_leaves_the_slot_free(two_storages: list[SqlStorage]) -> None:
    user, client = make_user(), make_client()
    alert = make_alert(client, user, next_run_at=at(0))
    await store(two_storages[0], user, client, alert)
    claimed = asyncio.Event()

    class Crash(Exception):
        pass

    async def first() -> None:
        async with two_storages[0].transaction() as tx:
            assert await tx.alerts.claim(alert.id, at(0), at(3600), at(500))
            claimed.set()
            await asyncio.sleep(HELD)
            raise Crash

    async def second() -> bool:
        await claimed.wait()
        return await claim(two_storages[1], alert.id, at(0), at(7200))

    results = await asyncio.gather(first(), second(), return_exceptions=True)
    assert isinstance(results[0], Crash) and results[1] is True, results
    assert (await read(two_storages[0], lambda tx: tx.alerts.get(alert.id))).next_run_at == at(7200)
