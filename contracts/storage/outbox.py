"""The storage contract for the outbox: deliveries waiting for a durable notifier."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from attrs import evolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalyst_contracts.storage.helpers import read
from catalyst_contracts.strategies import UNICODE, at, new_id
from catalyst_core.events import Delivery

FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)

# Full-range Unicode: every code point but U+0000 (PostgreSQL refuses it in text) and the lone
# surrogates (not characters, no UTF-8 form).
JSON_TEXT = st.text(UNICODE)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12)
PAYLOADS = st.dictionaries(JSON_TEXT, JSON_VALUES, max_size=6)


def make_delivery(next_attempt_at: datetime | None = None, **overrides: Any) -> Delivery:
    occurred_at = overrides.pop("occurred_at", at(0))
    delivery = Delivery(id=new_id(), kind="TaskCompleted",
                        payload={"task_id": str(new_id()), "by": str(new_id()), "n": 1},
                        occurred_at=occurred_at, next_attempt_at=next_attempt_at or occurred_at)
    return evolve(delivery, **overrides)


def by_schedule(deliveries: Sequence[Delivery]) -> list[Delivery]:
    """The port's order of `due`, written out: oldest next attempt first, ties by id."""
    return sorted(deliveries, key=lambda d: (d.next_attempt_at, d.id))


async def add(storage: Any, *deliveries: Delivery) -> None:
    async with storage.transaction() as tx:
        await tx.outbox.add(list(deliveries))


async def due(storage: Any, now: datetime = FAR_FUTURE, limit: int = 1000) -> list[Delivery]:
    return await read(storage, lambda tx: tx.outbox.due(now, limit))


class Boom(Exception):
    pass


class OutboxContract:
    """add, due (filter, order, limit), delivered, retry_later, give_up, rollback and payloads.
    Needs an async fixture `storage`."""

    async def test_outbox_starts_empty(self, storage: Any) -> None:
        assert await due(storage) == []

    async def test_outbox_added_deliveries_come_back_as_given_in_utc(self, storage: Any) -> None:
        plus_two = timezone(timedelta(hours=2))
        d = make_delivery(occurred_at=datetime(2024, 3, 1, 14, 0, 0, 123456, tzinfo=plus_two),
                          next_attempt_at=datetime(2024, 3, 1, 14, 0, 1, tzinfo=plus_two), attempts=2,
                          payload={"text": "ünïcødé ✓ 🚀", "nested": {"list": [1, 2.5, None, True]}})
        await add(storage, d)
        [got] = await due(storage)
        assert got == d
        assert got.occurred_at.utcoffset() == timedelta(0)
        assert got.next_attempt_at.utcoffset() == timedelta(0)
        assert got.attempts == 2

    async def test_outbox_due_is_oldest_next_attempt_first_ties_by_id(self, storage: Any) -> None:
        deliveries = [make_delivery(at(s)) for s in (5, 1, 3, 1, 1, 4, 3)]
        await add(storage, *deliveries[:4])
        await add(storage, *deliveries[4:])  # order of writing does not matter
        assert await due(storage) == by_schedule(deliveries)

    async def test_outbox_due_keeps_only_those_due_at_or_before_now(self, storage: Any) -> None:
        deliveries = [make_delivery(at(s)) for s in (10, 20, 20, 30)]
        await add(storage, *deliveries)
        assert await due(storage, at(9)) == []
        assert await due(storage, at(20) - timedelta(microseconds=1)) == deliveries[:1]
        assert await due(storage, at(20)) == by_schedule(deliveries[:3])
        assert await due(storage, at(30)) == by_schedule(deliveries)

    async def test_outbox_due_returns_at_most_limit(self, storage: Any) -> None:
        deliveries = [make_delivery(at(s)) for s in (7, 3, 5, 3, 9)]
        await add(storage, *deliveries)
        expected = by_schedule(deliveries)
        assert await due(storage, limit=1) == expected[:1]
        assert await due(storage, limit=3) == expected[:3]
        assert await due(storage, at(5), limit=2) == expected[:2]
        assert await due(storage, limit=10) == expected

    async def test_outbox_claim_leases_the_earliest_due_ones(self, storage: Any) -> None:
        deliveries = [make_delivery(at(s)) for s in (7, 3, 5, 3, 9, 20)]
        await add(storage, *deliveries)
        expected = by_schedule(deliveries)
        async with storage.transaction() as tx:
            claimed = await tx.outbox.claim(at(10), 3, at(100), "sending")
        assert sorted(d.id for d in claimed) == sorted(d.id for d in expected[:3])
        assert {d.next_attempt_at for d in claimed} == {at(100)}
        assert {d.attempts for d in claimed} == {0}
        # Leased: not due again before the lease ends; the rest are, and nothing is claimed twice.
        assert await due(storage, at(99)) == by_schedule(
            [d for d in deliveries if d.id not in {c.id for c in claimed}])
        async with storage.transaction() as tx:
            again = await tx.outbox.claim(at(10), 10, at(100), "sending")
        assert sorted(d.id for d in again) == sorted(d.id for d in expected[3:5])
        async with storage.transaction() as tx:
            assert await tx.outbox.claim(at(10), 10, at(100), "sending") == []
            assert await tx.outbox.claim(at(10), 0, at(100), "sending") == []
        assert len(await due(storage, at(100))) == 6

    async def test_outbox_claim_skips_deliveries_given_up(self, storage: Any) -> None:
        kept, failed = make_delivery(at(1)), make_delivery(at(1))
        await add(storage, kept, failed)
        async with storage.transaction() as tx:
            await tx.outbox.give_up(failed.id, 15, "gone")
        async with storage.transaction() as tx:
            assert [d.id for d in await tx.outbox.claim(at(5), 10, at(60), "sending")] == [kept.id]

    async def test_outbox_add_of_nothing_is_nothing(self, storage: Any) -> None:
        await add(storage)
        assert await due(storage) == []

    async def test_outbox_delivered_removes_exactly_those_named(self, storage: Any) -> None:
        deliveries = [make_delivery(at(s)) for s in range(5)]
        await add(storage, *deliveries)
        async with storage.transaction() as tx:
            await tx.outbox.delivered([deliveries[1].id, deliveries[3].id, new_id()])
        assert await due(storage) == [deliveries[0], deliveries[2], deliveries[4]]
        async with storage.transaction() as tx:
            await tx.outbox.delivered([])
            await tx.outbox.delivered([deliveries[0].id])
        assert await due(storage) == [deliveries[2], deliveries[4]]

    async def test_outbox_retry_later_records_the_attempt_and_moves_the_delivery(self, storage: Any) -> None:
        first, second = make_delivery(at(1)), make_delivery(at(2))
        await add(storage, first, second)
        async with storage.transaction() as tx:
            await tx.outbox.retry_later(first.id, 1, at(60), "HTTP 503")
        assert await due(storage, at(59)) == [second]
        retried = evolve(first, attempts=1, next_attempt_at=at(60))
        assert await due(storage, at(60)) == [second, retried]
        async with storage.transaction() as tx:
            await tx.outbox.retry_later(first.id, 2, at(0), "timeout")  # earlier again
        assert await due(storage) == [evolve(first, attempts=2, next_attempt_at=at(0)), second]

    async def test_outbox_retry_later_accepts_any_timezone(self, storage: Any) -> None:
        d = make_delivery(at(0))
        await add(storage, d)
        later = at(3600).astimezone(timezone(timedelta(hours=-5)))
        async with storage.transaction() as tx:
            await tx.outbox.retry_later(d.id, 1, later, "HTTP 500")
        assert await due(storage, at(3599)) == []
        [got] = await due(storage, at(3600))
        assert got.next_attempt_at == at(3600) and got.next_attempt_at.utcoffset() == timedelta(0)

    async def test_outbox_give_up_keeps_the_delivery_out_of_due(self, storage: Any) -> None:
        failing, other = make_delivery(at(1)), make_delivery(at(2))
        await add(storage, failing, other)
        async with storage.transaction() as tx:
            await tx.outbox.give_up(failing.id, 5, "HTTP 410")
        assert await due(storage) == [other]
        assert await due(storage, FAR_FUTURE, limit=1) == [other]  # not counted against the limit

    async def test_a_failed_transaction_writes_nothing_to_the_outbox(self, storage: Any) -> None:
        kept = [make_delivery(at(s)) for s in range(3)]
        await add(storage, *kept)
        with pytest.raises(Boom):
            async with storage.transaction() as tx:
                await tx.outbox.add([make_delivery(at(0)), make_delivery(at(10))])
                await tx.outbox.delivered([kept[0].id])
                await tx.outbox.retry_later(kept[1].id, 3, at(99), "HTTP 500")
                await tx.outbox.give_up(kept[2].id, 9, "HTTP 500")
                raise Boom
        assert await due(storage) == kept

    async def test_the_outbox_never_aliases_the_callers_payloads(self, storage: Any) -> None:
        payload: dict[str, Any] = {"items": [1, 2], "name": "before"}
        d = make_delivery(at(0), payload=payload)
        await add(storage, d)
        payload["name"] = "changed by the caller"
        payload["items"].append(3)
        [got] = await due(storage)
        assert got.payload == {"items": [1, 2], "name": "before"}
        got.payload["name"] = "changed by the reader"  # type: ignore[index]
        got.payload["items"].append(4)  # type: ignore[index]
        [again] = await due(storage)
        assert again.payload == {"items": [1, 2], "name": "before"}

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.differing_executors])
    @given(payload=PAYLOADS, kind=st.text(UNICODE, max_size=20))
    async def test_outbox_payloads_and_kinds_round_trip_in_full_unicode(self, storage: Any,
                                                                 payload: dict[str, Any],
                                                                 kind: str) -> None:
        d = make_delivery(at(0), payload=payload, kind=kind)
        await add(storage, d)
        try:
            [got] = await due(storage)
            assert got.payload == payload
            assert got.kind == kind
        finally:
            async with storage.transaction() as tx:  # each example starts from an empty outbox
                await tx.outbox.delivered([d.id])


__all__ = ["OutboxContract", "make_delivery"]
