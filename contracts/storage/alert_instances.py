"""The storage contract for alert instances: exact round trips, one triggered instance per alert and
entity, optimistic saves, `save_seen`, `triggered`, the filtered and paged list, and what deleting
a task does to the instances that opened it."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from catalyst_contracts.storage.alerts import (
    ALL_INSTANCES,
    EXAMPLES,
    assert_utc,
    instants,
    make_alert,
    make_instance,
    snapshot,
    store,
)
from catalyst_contracts.storage.helpers import ordered, read
from catalyst_contracts.strategies import (
    at,
    make_client,
    make_membership,
    make_task,
    make_user,
    new_id,
    unicode_texts,
)
from catalyst_core.alerts.model import AlertId, AlertInstance, InstanceId, InstanceQuery, InstanceStatus
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, TaskId, UserId
from catalyst_core.paging import OffsetRequest, Order

TRIGGERED, RESOLVED, DISMISSED = InstanceStatus.TRIGGERED, InstanceStatus.RESOLVED, InstanceStatus.DISMISSED

# The plain JSON values a firing records: numbers (64-bit integers, finite floats), text in any
# script, booleans and nulls.
json_values = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
               | st.floats(allow_nan=False, allow_infinity=False) | unicode_texts(0, 30))
alert_data = st.dictionaries(unicode_texts(0, 12), json_values, max_size=8)
entity_keys = unicode_texts(1, 300) | st.sampled_from(['["account"]', "x" * 10_000, "é" * 3_000])


def newest_first(instances: Sequence[AlertInstance]) -> list[AlertInstance]:
    return ordered(instances, lambda i: i.triggered_at, lambda i: i.id, Order.DESC)


async def add(storage: Any, *instances: AlertInstance) -> None:
    async with storage.transaction() as tx:
        await tx.alert_instances.add_many(instances)


async def save(storage: Any, instance: AlertInstance) -> None:
    async with storage.transaction() as tx:
        await tx.alert_instances.save(instance)


async def get(storage: Any, instance_id: InstanceId) -> AlertInstance | None:
    return await read(storage, lambda tx: tx.alert_instances.get(instance_id))


class AlertInstancesContract:
    """Alert instances (AlertInstanceRepo). Needs an async fixture `storage`."""

    @EXAMPLES
    @given(name=unicode_texts(1, 200), key=entity_keys, data=alert_data,
           status=st.sampled_from(list(InstanceStatus)), stamps=st.lists(instants(), min_size=3, max_size=3),
           notes=st.none() | unicode_texts(0, 400), count=st.integers(1, 2**31 - 1),
           version=st.integers(1, 2**31 - 1), with_task=st.booleans())
    async def test_an_instance_reads_back_exactly(
            self, storage: Any, name: str, key: str, data: dict[str, Any], status: InstanceStatus,
            stamps: list[Any], notes: str | None, count: int, version: int, with_task: bool) -> None:
        user, client = make_user(), make_client()
        alert, task = make_alert(client, user), make_task(client, user)
        closed = status is not TRIGGERED
        instance = make_instance(
            alert, alert_name=name, entity_key=key, alert_data=data, status=status,
            triggered_at=stamps[0], last_seen_at=stamps[1], trigger_count=count,
            task_id=task.id if with_task else None, resolved_at=stamps[2] if closed else None,
            resolved_by=user.id if closed else None, resolution_notes=notes, version=version)
        await store(storage, user, client, task, alert, instance)
        async with storage.transaction() as tx:
            written = await tx.alert_instances.get(instance.id, for_update=True)
        query = InstanceQuery(alert_id=alert.id)
        for got in (await get(storage, instance.id), written,
                    *(await read(storage, lambda tx: tx.alert_instances.list(query, ALL_INSTANCES))).items):
            assert got == instance
            assert_utc(got.triggered_at, got.last_seen_at, got.resolved_at)
        if status is TRIGGERED:
            found = await read(storage, lambda tx: tx.alert_instances.triggered(alert.id, [key]))
            assert found == {key: instance}

    async def test_get_of_an_unknown_instance_is_none(self, storage: Any) -> None:
        assert await get(storage, InstanceId(new_id())) is None

    async def test_instance_add_names_stored_records(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        instance = make_instance(alert)
        await store(storage, user, client, alert, instance)
        ghost = UserId(new_id())
        for bad in (make_instance(make_alert(client, user)),
                    make_instance(alert, client_id=ClientId(new_id())),
                    make_instance(alert, task_id=TaskId(new_id())),
                    make_instance(alert, status=RESOLVED, resolved_by=ghost, resolved_at=at(1))):
            with pytest.raises(NotFound):
                await add(storage, bad)
        with pytest.raises(Conflict):
            await add(storage, evolve(instance, entity_key="another entity"))
        assert (await snapshot(storage, client.id))[1] == [instance]

    async def test_instances_are_copied_in_and_out(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        instance = make_instance(alert, alert_data={"ad_id": "ad-1", "cplpv": 7.5})
        await store(storage, user, client, alert, instance)
        kept = evolve(instance, alert_data=dict(instance.alert_data))
        instance.alert_data["cplpv"] = 0.0  # type: ignore[index]
        async with storage.transaction() as tx:
            for got in (await tx.alert_instances.get(instance.id),
                        (await tx.alert_instances.triggered(alert.id, [instance.entity_key]))[
                            instance.entity_key],
                        *(await tx.alert_instances.list(InstanceQuery(), ALL_INSTANCES)).items):
                got.alert_data["cplpv"] = 1.0
                got.trigger_count = 99
        assert await get(storage, instance.id) == kept

    async def test_one_triggered_instance_per_alert_and_entity(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert, other = make_alert(client, user), make_alert(client, user)
        first = make_instance(alert, entity_key="entity")
        await store(storage, user, client, alert, other, first)
        def keyed(*keys: str) -> list[AlertInstance]:
            return [make_instance(alert, entity_key=k) for k in keys]

        for duplicate in (keyed("entity"), keyed("fresh", "fresh"), keyed("fresh", "entity")):
            with pytest.raises(Conflict):
                await add(storage, *duplicate)
        assert (await snapshot(storage, client.id))[1] == [first]
        # Other entities, other alerts, and closed instances of the same entity are all fine.
        fine = [make_instance(alert, entity_key="entity ", triggered_at=at(1)),
                make_instance(alert, entity_key="ENTITY", triggered_at=at(2)),
                make_instance(other, entity_key="entity", triggered_at=at(3)),
                make_instance(alert, entity_key="entity", status=RESOLVED, triggered_at=at(4)),
                make_instance(alert, entity_key="entity", status=DISMISSED, triggered_at=at(5)),
                make_instance(alert, entity_key="entity", status=DISMISSED, triggered_at=at(6))]
        await add(storage, *fine)
        # Once the triggered one is closed, the entity may trigger again.
        first.close(RESOLVED, by=user.id, now=at(7))
        await save(storage, first)
        again = make_instance(alert, entity_key="entity", triggered_at=at(8))
        await add(storage, again)
        assert (await snapshot(storage, client.id))[1] == newest_first([first, *fine, again])

    async def test_concurrent_instance_adds_of_one_entity_one_wins(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        await store(storage, user, client, alert)
        racing = [make_instance(alert, entity_key="entity") for _ in range(2)]
        results = await asyncio.gather(*(add(storage, i) for i in racing), return_exceptions=True)
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"], results
        stored = (await snapshot(storage, client.id))[1]
        assert len(stored) == 1 and stored[0] in racing

    async def test_instance_save_is_optimistic_and_bumps_the_version(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert, task = make_alert(client, user), make_task(client, user)
        instance = make_instance(alert)
        await store(storage, user, client, task, alert, instance)
        stale = await get(storage, instance.id)
        instance.close(RESOLVED, by=user.id, now=at(5), notes="fixed the landing page")
        instance.task_id = task.id
        await save(storage, instance)
        assert instance.version == 2
        assert await get(storage, instance.id) == instance
        stale.close(DISMISSED, by=user.id, now=at(6))
        with pytest.raises(Conflict):
            await save(storage, stale)
        assert stale.version == 1
        with pytest.raises(NotFound):
            await save(storage, make_instance(alert))
        for bad in (evolve(instance, task_id=TaskId(new_id())),
                    evolve(instance, resolved_by=UserId(new_id()))):
            with pytest.raises(NotFound):
                await save(storage, bad)
        assert await get(storage, instance.id) == instance

    async def test_instance_save_cannot_reopen_an_entity_that_triggered_again(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        closed = make_instance(alert, entity_key="entity", status=DISMISSED)
        current = make_instance(alert, entity_key="entity")
        await store(storage, user, client, alert, closed, current)
        with pytest.raises(Conflict):
            await save(storage, evolve(closed, status=TRIGGERED))
        assert await get(storage, closed.id) == closed

    async def test_concurrent_instance_saves_of_one_version_one_wins(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        instance = make_instance(alert)
        await store(storage, user, client, alert, instance)
        loaded = [await get(storage, instance.id) for _ in range(2)]
        for status, copy_ in zip((RESOLVED, DISMISSED), loaded, strict=True):
            copy_.close(status, by=user.id, now=at(9))
        results = await asyncio.gather(*(save(storage, i) for i in loaded), return_exceptions=True)
        winners = [i for i, r in enumerate(results) if r is None]
        assert len(winners) == 1 and isinstance(results[1 - winners[0]], Conflict), results
        assert await get(storage, instance.id) == loaded[winners[0]]

    async def test_save_seen_updates_what_a_firing_saw_on_triggered_instances(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        open_ = [make_instance(alert, triggered_at=at(i)) for i in range(2)]
        closed = make_instance(alert, status=RESOLVED, resolved_by=user.id, resolved_at=at(3))
        await store(storage, user, client, alert, *open_, closed)
        loaded = [await get(storage, i.id) for i in (*open_, closed)]
        for n, instance in enumerate(loaded):
            instance.seen_again({"cplpv": 7.5 + n, "ad_name": "Ünïcode ✓"}, alert_name=f"Renamed {n}",
                                now=at(50))
        loaded[0].resolution_notes = "not a field save_seen stores"
        async with storage.transaction() as tx:
            await tx.alert_instances.save_seen(loaded)
            await tx.alert_instances.save_seen([])
        assert [i.version for i in loaded] == [2, 2, 1]
        for original, seen in zip(open_, loaded, strict=False):
            assert await get(storage, original.id) == evolve(
                original, alert_name=seen.alert_name, alert_data=seen.alert_data, last_seen_at=at(50),
                trigger_count=2, version=2)
        assert await get(storage, closed.id) == closed

    async def test_instance_triggered_answers_open_ones_by_key(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert, other = make_alert(client, user), make_alert(client, user)
        # More keys than one statement binds, so adapters that split the lookup split it right.
        many = [make_instance(alert, entity_key=f"ad-{n}") for n in range(1100)]
        closed = make_instance(alert, entity_key="closed", status=DISMISSED)
        elsewhere = make_instance(other, entity_key="ad-1")
        await store(storage, user, client, alert, other, closed, elsewhere)
        await add(storage, *many)

        async def triggered(keys: list[str]) -> dict[str, AlertInstance]:
            return await read(storage, lambda tx: tx.alert_instances.triggered(alert.id, keys))

        assert await triggered([]) == {}
        assert await triggered(["ad-1", "closed", "missing", "ad-1"]) == {"ad-1": many[1]}
        keys = [i.entity_key for i in many]
        assert await triggered([*reversed(keys), "closed", "missing"]) == {i.entity_key: i for i in many}

    async def test_instance_list_filters_orders_newest_first_and_pages(self, storage: Any) -> None:
        alice, bob, dave = make_user(), make_user(), make_user()
        acme, globex = make_client(), make_client()
        a1, a2, g1 = make_alert(acme, alice), make_alert(acme, alice), make_alert(globex, alice)
        statuses = list(InstanceStatus)
        instances = [
            # Triples of equal triggered_at, so ids break the ties.
            make_instance((a1, a2, g1)[n % 3], status=statuses[(n // 2) % 3], triggered_at=at(n // 3),
                          resolved_by=None if (n // 2) % 3 == 0 else alice.id,
                          resolved_at=None if (n // 2) % 3 == 0 else at(100))
            for n in range(17)]
        await store(storage, alice, bob, dave, acme, globex,
                    make_membership(acme, alice, ClientRole.ADMIN), make_membership(acme, bob),
                    make_membership(globex, bob, ClientRole.VIEWER), a1, a2, g1)
        await add(storage, *instances)
        members = {alice.id: {acme.id}, bob.id: {acme.id, globex.id}, dave.id: set()}
        queries = [InstanceQuery(), InstanceQuery(client_id=acme.id), InstanceQuery(client_id=globex.id),
                   InstanceQuery(alert_id=a2.id), InstanceQuery(status=TRIGGERED),
                   InstanceQuery(status=DISMISSED, client_id=acme.id),
                   InstanceQuery(visible_to=alice.id), InstanceQuery(visible_to=bob.id),
                   InstanceQuery(visible_to=dave.id), InstanceQuery(visible_to=alice.id, alert_id=g1.id),
                   InstanceQuery(visible_to=bob.id, status=RESOLVED, client_id=globex.id),
                   InstanceQuery(client_id=ClientId(new_id())), InstanceQuery(alert_id=AlertId(new_id()))]
        for query in queries:
            expected = newest_first([
                i for i in instances
                if (query.visible_to is None or i.client_id in members[query.visible_to])
                and query.client_id in (None, i.client_id) and query.alert_id in (None, i.alert_id)
                and query.status in (None, i.status)])
            for limit in (1000, 4):
                offsets = range(0, max(len(expected), 1), limit)
                pages = [await read(storage, lambda tx, q=query, o=offset, n=limit: tx.alert_instances.list(
                    q, OffsetRequest(limit=n, offset=o))) for offset in offsets]
                assert [i for p in pages for i in p.items] == expected, query
                assert {p.total_items for p in pages} == {len(expected)}, query
                assert all(p.request.limit == limit for p in pages)
            assert len(pages) == max(1, math.ceil(len(expected) / 4))
            past = await read(storage, lambda tx, q=query, n=len(expected): tx.alert_instances.list(
                q, OffsetRequest(limit=3, offset=n + 1)))
            assert list(past.items) == [] and past.total_items == len(expected), query

    async def test_deleting_a_task_keeps_its_instance_without_it(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert, task, other_task = make_alert(client, user), make_task(client, user), make_task(client, user)
        opened = make_instance(alert, task_id=task.id)
        untouched = make_instance(alert, task_id=other_task.id)
        await store(storage, user, client, task, other_task, alert, opened, untouched)
        async with storage.transaction() as tx:
            await tx.tasks.delete(task.id)
        assert await get(storage, opened.id) == evolve(opened, task_id=None)
        assert await get(storage, untouched.id) == untouched
