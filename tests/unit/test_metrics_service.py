"""MetricsService: parsed batches, the client lock's partner rule (capacity), roles."""

from __future__ import annotations

import pytest

from catalyst_adapters.memory import MemoryStorage
from catalyst_contracts.strategies import make_client, make_membership, make_user
from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Forbidden, InvalidInput
from catalyst_core.metrics.model import MAX_MONEY
from catalyst_core.metrics.parsing import parse_batch
from catalyst_core.metrics.service import MetricsService


def row(ad: str, **fields: object) -> dict[str, object]:
    return {"date": "2024-05-01", "platform": "google", "campaign_id": "c", "adset_id": "s", "ad_id": ad,
            **fields}


async def _world(role: ClientRole = ClientRole.MEMBER) -> tuple[MemoryStorage, Actor, object, object]:
    storage, user, client, other = MemoryStorage(), make_user(), make_client(), make_client()
    async with storage.transaction() as tx:
        await tx.users.add(user)
        for c in (client, other):
            await tx.clients.add(c)
            await tx.members.add(make_membership(c, user, role))
    return storage, Actor(user.id), client.id, other.id


async def test_a_batch_parsed_for_one_client_is_not_stored_for_another() -> None:
    storage, actor, client_id, other_id = await _world()
    service = MetricsService(storage)
    batch = await parse_batch(client_id, [row("a")])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as refused:
        await service.ingest(actor, other_id, batch)  # type: ignore[arg-type]
    assert "rows" in refused.value.fields
    result = await service.ingest(actor, client_id, batch)  # type: ignore[arg-type]
    assert (result.inserted, result.updated) == (1, 0)


async def test_a_clients_totals_stay_within_what_every_database_sums_exactly() -> None:
    storage, actor, client_id, _ = await _world()
    service = MetricsService(storage)
    big = [row(f"ad {i}", spend=str(MAX_MONEY)) for i in range(1000)]  # 10**12 exactly: allowed
    await service.ingest(actor, client_id, big)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as refused:  # any more money would pass 10**12
        await service.ingest(actor, client_id, [row("one more", spend=str(MAX_MONEY)), row("x")])  # type: ignore[arg-type]
    assert list(refused.value.fields) == ["rows.spend"]
    async with storage.transaction(write=False) as tx:  # and nothing of that batch was stored
        assert (await tx.performance.client_totals(client_id)).rows == 1000  # type: ignore[arg-type]


async def test_viewers_do_not_ingest() -> None:
    storage, actor, client_id, _ = await _world(ClientRole.VIEWER)
    with pytest.raises(Forbidden):
        await MetricsService(storage).ingest(actor, client_id, [row("a")])  # type: ignore[arg-type]
