"""Senders in two processes over one database never claim the same delivery (SQLite file and
PostgreSQL): each uses a storage of its own, as two server processes would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_contracts.storage.outbox import make_delivery
from catalyst_contracts.strategies import at
from tests.conftest import sqlite_copy


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_concurrent_claims_never_answer_the_same_delivery(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> None:
    if kind == "sqlite":
        url, kwargs = sqlite_copy(sqlite_template, tmp_path), {}
    else:
        url, kwargs = request.getfixturevalue("postgres_url")
    storages = [SqlStorage(create_engine(url, **kwargs)) for _ in range(2)]
    try:
        await storages[0].reset()
        deliveries = [make_delivery(at(i)) for i in range(60)]
        async with storages[0].transaction() as tx:
            await tx.outbox.add(deliveries)

        async def claim(storage: SqlStorage) -> list[object]:
            async with storage.transaction() as tx:
                return [d.id for d in await tx.outbox.claim(at(1000), 7, at(5000), "sending")]

        claimed: list[object] = []
        while True:
            rounds = await asyncio.gather(*(claim(s) for s in storages for _ in range(2)))
            if not any(rounds):
                break
            for ids in rounds:
                claimed.extend(ids)
        assert sorted(claimed) == sorted(d.id for d in deliveries)  # each exactly once
    finally:
        for storage in storages:
            await storage.close()
