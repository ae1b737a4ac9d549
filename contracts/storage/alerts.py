"""The storage contract for alerts: exact round trips, lists, the scheduler's `due` and `claim`,
deletion with the instances, and rollback. Builders and strategies for alerts and their instances
live here too (alert_instances.py uses them)."""

from __future__ import annotations

import asyncio
import copy
import itertools
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from attrs import evolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalyst_contracts.storage.helpers import ordered, put, read
from catalyst_contracts.strategies import (
    at,
    make_client,
    make_membership,
    make_user,
    new_id,
    unicode_texts,
)
from catalyst_core.alerts.model import (
    Action,
    Alert,
    AlertId,
    AlertInstance,
    Condition,
    DataLevel,
    Frequency,
    FrequencyType,
    InstanceId,
    InstanceQuery,
    InstanceStatus,
    Operator,
    Weekday,
)
from catalyst_core.auth.model import User
from catalyst_core.clients.model import Client, ClientRole
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.paging import OffsetRequest, Order
from catalyst_core.tasks.model import Priority, TaskType

_serial = itertools.count(1)

# Hypothesis runs its examples on one storage (the test's fixture): every example uses fresh ids.
EXAMPLES = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -- builders ---------------------------------------------------------------------------------------

def make_alert(client: Client | ClientId, created_by: User | UserId, **overrides: Any) -> Alert:
    n = next(_serial)
    alert = Alert(
        id=AlertId(new_id()), client_id=client.id if isinstance(client, Client) else client,
        name=f"Alert {n}", description=None, alert_type="cplpv", is_enabled=True, is_default=False,
        data_level=DataLevel.AD, condition=Condition("cplpv", Operator.GREATER_THAN, Decimal("5")),
        action=Action(), data_source="catalyst.performance", frequency=Frequency(),
        created_by=created_by.id if isinstance(created_by, User) else created_by,
        created_at=at(0), updated_at=at(0))
    return evolve(alert, **overrides)


def make_instance(alert: Alert, **overrides: Any) -> AlertInstance:
    n = next(_serial)
    instance = AlertInstance(
        id=InstanceId(new_id()), alert_id=alert.id, client_id=alert.client_id, alert_name=alert.name,
        entity_key=f'["ad","facebook","campaign-1","adset-1","ad-{n}"]',
        alert_data={"ad_id": f"ad-{n}", "cplpv": 6.25, "spend": 120.5, "window_days": 7},
        status=InstanceStatus.TRIGGERED, triggered_at=at(0), last_seen_at=at(0))
    return evolve(instance, **overrides)


async def store(storage: Any, *objects: Any) -> None:
    """`put` for the accounts and tasks, then the alerts and instances in a transaction of their own."""
    await put(storage, *(o for o in objects if not isinstance(o, Alert | AlertInstance)))
    async with storage.transaction() as tx:
        for obj in objects:
            if isinstance(obj, Alert):
                await tx.alerts.add(obj)
            elif isinstance(obj, AlertInstance):
                await tx.alert_instances.add(obj)


ALL_INSTANCES = OffsetRequest(limit=1000)


async def snapshot(storage: Any, client_id: ClientId) -> tuple[list[Alert], list[AlertInstance]]:
    async with storage.transaction(write=False) as tx:
        alerts = await tx.alerts.list(client_id, None)
        instances = await tx.alert_instances.list(InstanceQuery(client_id=client_id), ALL_INSTANCES)
    return alerts, list(instances.items)


# -- strategies -------------------------------------------------------------------------------------

OFFSETS = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))


def instants() -> st.SearchStrategy[datetime]:
    """Aware datetimes with microseconds, in UTC and other offsets (storage answers in UTC)."""
    return st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                        timezones=st.sampled_from(OFFSETS))


def decimals() -> st.SearchStrategy[Decimal]:
    """Thresholds as the core keeps them: exact, with their own exponent (`5.000` stays `5.000`)."""
    edge = [Decimal("0.005"), Decimal("5.000"), Decimal("1E+3"), Decimal("0"), Decimal("0E-10"),
            Decimal("999999999999999.999999999"), Decimal("1E+15"), Decimal("0.000000001")]
    return st.sampled_from(edge) | st.decimals(min_value=0, max_value=10**15, allow_nan=False,
                                               allow_infinity=False)


def conditions() -> st.SearchStrategy[Condition]:
    return st.builds(Condition, field=unicode_texts(1, 20), operator=st.sampled_from(list(Operator)),
                     value=decimals(), window_days=st.integers(1, 366), min_spend=decimals())


def actions() -> st.SearchStrategy[Action]:
    return st.builds(Action, create_task=st.booleans(),
                     assignees=st.lists(st.uuids().map(UserId), max_size=4, unique=True).map(tuple),
                     task_type=st.sampled_from(list(TaskType)), priority=st.sampled_from(list(Priority)))


def frequencies() -> st.SearchStrategy[Frequency]:
    return st.builds(Frequency, type=st.sampled_from(list(FrequencyType)),
                     at=st.sampled_from([time(5, 0), time(0, 0), time(23, 59)]) | st.times(),
                     timezone=st.sampled_from(["UTC", "America/Los_Angeles"]) | unicode_texts(1, 40),
                     day=st.none() | st.sampled_from(list(Weekday)))


def alert_fields() -> st.SearchStrategy[dict[str, Any]]:
    """Everything about an alert but its ids: names and descriptions in any script."""
    return st.fixed_dictionaries({
        "name": unicode_texts(1, 200), "description": st.none() | unicode_texts(0, 400),
        "alert_type": unicode_texts(1, 32), "is_enabled": st.booleans(), "is_default": st.booleans(),
        "data_level": st.sampled_from(list(DataLevel)), "condition": conditions(),
        "action": actions(), "data_source": unicode_texts(1, 64), "frequency": frequencies(),
        "created_at": instants(), "updated_at": instants(),
        "next_run_at": st.none() | instants(), "last_run_at": st.none() | instants(),
    })


def assert_utc(*stamps: datetime | None) -> None:
    for stamp in stamps:
        assert stamp is None or stamp.utcoffset() == timedelta(0), stamp


class AlertsContract:
    """Alert configurations (AlertRepo). Needs an async fixture `storage`."""

    @EXAMPLES
    @given(fields=alert_fields())
    async def test_an_alert_reads_back_exactly(self, storage: Any, fields: dict[str, Any]) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user, **fields)
        await store(storage, user, client, alert)
        async with storage.transaction() as tx:  # the writer's connection
            written = await tx.alerts.get(alert.id)
        for got in (await read(storage, lambda tx: tx.alerts.get(alert.id)), written,
                    *await read(storage, lambda tx: tx.alerts.list(client.id, None))):
            assert got == alert
            assert str(got.condition.value) == str(alert.condition.value)
            assert str(got.condition.min_spend) == str(alert.condition.min_spend)
            assert got.frequency.at == alert.frequency.at
            assert_utc(got.created_at, got.updated_at, got.next_run_at, got.last_run_at)

    async def test_get_of_an_unknown_alert_is_none(self, storage: Any) -> None:
        assert await read(storage, lambda tx: tx.alerts.get(AlertId(new_id()))) is None

    async def test_alert_add_names_a_stored_client_and_creator(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        await store(storage, user, client, alert)
        for bad in (make_alert(ClientId(new_id()), user), make_alert(client, UserId(new_id()))):
            with pytest.raises(NotFound):
                await store(storage, bad)
            with pytest.raises(NotFound):
                async with storage.transaction() as tx:
                    await tx.alerts.add_many([make_alert(client, user), bad])
        with pytest.raises(Conflict):
            await store(storage, evolve(alert, name="Same id"))
        assert await read(storage, lambda tx: tx.alerts.list(None, None)) == [alert]

    async def test_add_many_stores_every_alert(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        alerts = [make_alert(client, user, created_at=at(i), is_default=True) for i in range(3)]
        async with storage.transaction() as tx:
            await tx.alerts.add_many(alerts)
            await tx.alerts.add_many([])
        assert await read(storage, lambda tx: tx.alerts.list(client.id, None)) == alerts
        assert await read(storage, lambda tx: tx.alerts.count(client.id)) == 3

    @EXAMPLES
    @given(before=alert_fields(), after=alert_fields())
    async def test_alert_save_stores_every_field(self, storage: Any, before: dict[str, Any],
                                           after: dict[str, Any]) -> None:
        user, other_user, client, other_client = make_user(), make_user(), make_client(), make_client()
        alert = make_alert(client, user, **before)
        await store(storage, user, other_user, client, other_client, alert)
        changed = evolve(alert, client_id=other_client.id, created_by=other_user.id, **after)
        async with storage.transaction() as tx:
            await tx.alerts.save(changed)
        assert await read(storage, lambda tx: tx.alerts.get(alert.id)) == changed

    async def test_save_of_an_unknown_alert_or_reference_is_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user)
        await store(storage, user, client, alert)
        for bad in (make_alert(client, user), evolve(alert, client_id=ClientId(new_id())),
                    evolve(alert, created_by=UserId(new_id()))):
            with pytest.raises(NotFound):
                async with storage.transaction() as tx:
                    await tx.alerts.save(bad)
        assert await read(storage, lambda tx: tx.alerts.get(alert.id)) == alert

    async def test_alerts_are_copied_in_and_out(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user, name="Kept")
        kept = copy.deepcopy(alert)
        await store(storage, user, client, alert)
        alert.name = "Changed after add"
        got = await read(storage, lambda tx: tx.alerts.get(alert.id))
        got.name = "Changed after get"
        listed = await read(storage, lambda tx: tx.alerts.list(None, None))
        listed[0].is_enabled = False
        assert await read(storage, lambda tx: tx.alerts.get(alert.id)) == kept

    async def test_count_counts_one_clients_alerts(self, storage: Any) -> None:
        user, acme, globex = make_user(), make_client(), make_client()
        await store(storage, user, acme, globex, *(make_alert(acme, user) for _ in range(3)),
                    make_alert(globex, user))
        async with storage.transaction(write=False) as tx:
            counts = [await tx.alerts.count(c) for c in (acme.id, globex.id, ClientId(new_id()))]
        assert counts == [3, 1, 0]

    async def test_alert_list_is_oldest_first_by_client_or_by_member(self, storage: Any) -> None:
        alice, bob, dave = make_user(), make_user(), make_user()
        acme, globex = make_client(), make_client()
        # Pairs of equal created_at, so ids break the ties.
        alerts = [make_alert(acme if i % 3 else globex, alice, created_at=at(10 - i // 2))
                  for i in range(9)]
        await store(storage, alice, bob, dave, acme, globex,
                    make_membership(acme, alice, ClientRole.ADMIN),
                    make_membership(acme, bob, ClientRole.VIEWER),
                    make_membership(globex, bob, ClientRole.MEMBER), *alerts)

        def expect(*clients: Client) -> list[Alert]:
            mine = [a for a in alerts if a.client_id in {c.id for c in clients}]
            return ordered(mine, lambda a: a.created_at, lambda a: a.id, Order.ASC)

        async def listed(client_id: ClientId | None, visible_to: UserId | None) -> list[Alert]:
            return await read(storage, lambda tx: tx.alerts.list(client_id, visible_to))

        assert await listed(acme.id, None) == expect(acme)
        assert await listed(globex.id, None) == expect(globex)
        assert await listed(None, None) == expect(acme, globex)
        assert await listed(None, alice.id) == expect(acme)
        assert await listed(None, bob.id) == expect(acme, globex)
        assert await listed(None, dave.id) == []
        assert await listed(ClientId(new_id()), None) == []

    async def test_delete_removes_the_alert_and_only_its_instances(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        gone, kept = make_alert(client, user), make_alert(client, user)
        gone_instances = [make_instance(gone, status=s) for s in InstanceStatus]
        kept_instance = make_instance(kept, entity_key=gone_instances[0].entity_key)
        await store(storage, user, client, gone, kept, *gone_instances, kept_instance)
        async with storage.transaction() as tx:
            await tx.alerts.delete(gone.id)
        assert await read(storage, lambda tx: tx.alerts.get(gone.id)) is None
        for instance in gone_instances:
            assert await read(storage, lambda tx, i=instance: tx.alert_instances.get(i.id)) is None
        assert await snapshot(storage, client.id) == ([kept], [kept_instance])
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.alerts.delete(gone.id)

    # -- scheduling ---------------------------------------------------------------------------------

    async def test_due_lists_enabled_alerts_up_to_now_earliest_first(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        now = at(100)
        due = [make_alert(client, user, next_run_at=at(50)), make_alert(client, user, next_run_at=at(50)),
               make_alert(client, user, next_run_at=now), make_alert(client, user, next_run_at=at(-5000)),
               # the same instant as `now`, written in another offset
               make_alert(client, user, next_run_at=now.astimezone(OFFSETS[1]))]
        not_due = [make_alert(client, user, next_run_at=now + timedelta(microseconds=1)),
                   make_alert(client, user, next_run_at=at(10), is_enabled=False),
                   make_alert(client, user, next_run_at=None)]
        await store(storage, user, client, *due, *not_due)
        expected = ordered(due, lambda a: a.next_run_at, lambda a: a.id, Order.ASC)
        assert await read(storage, lambda tx: tx.alerts.due(now, 100)) == expected
        assert await read(storage, lambda tx: tx.alerts.due(now, 2)) == expected[:2]
        assert await read(storage, lambda tx: tx.alerts.due(at(-5001), 100)) == []

    async def test_alert_claim_moves_the_slot_once(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user, next_run_at=at(50))
        idle = make_alert(client, user, next_run_at=None, is_enabled=False)
        await store(storage, user, client, alert, idle)
        async with storage.transaction() as tx:
            assert await tx.alerts.claim(alert.id, at(50), at(3650), at(100)) is True
        claimed = evolve(alert, next_run_at=at(3650), last_run_at=at(100))
        assert await read(storage, lambda tx: tx.alerts.get(alert.id)) == claimed
        async with storage.transaction() as tx:
            # A scheduler that read the old slot comes too late.
            assert await tx.alerts.claim(alert.id, at(50), at(7250), at(101)) is False
            assert await tx.alerts.claim(idle.id, at(50), at(7250), at(101)) is False
            assert await tx.alerts.claim(AlertId(new_id()), at(50), at(7250), at(101)) is False
        assert await read(storage, lambda tx: tx.alerts.get(alert.id)) == claimed
        assert await read(storage, lambda tx: tx.alerts.get(idle.id)) == idle
        async with storage.transaction() as tx:  # the expected instant in another offset is the same
            assert await tx.alerts.claim(alert.id, at(3650).astimezone(OFFSETS[2]), at(7250), at(3700))
        assert (await read(storage, lambda tx: tx.alerts.get(alert.id))).next_run_at == at(7250)

    async def test_concurrent_alert_claims_of_one_slot_one_wins(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alerts = [make_alert(client, user, next_run_at=at(i)) for i in range(8)]
        await store(storage, user, client, *alerts)

        async def claim(alert: Alert, n: int) -> bool:
            async with storage.transaction() as tx:
                return bool(await tx.alerts.claim(alert.id, at(alerts.index(alert)), at(1000 + n), at(500)))

        results = await asyncio.gather(*(claim(a, n) for a in alerts for n in range(2)))
        assert [results[2 * i] + results[2 * i + 1] for i in range(len(alerts))] == [1] * len(alerts)

    # -- transactions -------------------------------------------------------------------------------

    async def test_a_failed_transaction_leaves_alerts_and_instances_as_they_were(
            self, storage: Any) -> None:
        user, client = make_user(), make_client()
        alert = make_alert(client, user, next_run_at=at(50))
        instance = make_instance(alert)
        await store(storage, user, client, alert, instance)
        before = await snapshot(storage, client.id)
        added = make_alert(client, user)

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with storage.transaction() as tx:
                await tx.alerts.add(added)
                await tx.alert_instances.add(make_instance(added))
                changed = await tx.alerts.get(alert.id, for_update=True)
                changed.name = "Changed"
                await tx.alerts.save(changed)
                assert await tx.alerts.claim(alert.id, at(50), at(99), at(60))
                seen = await tx.alert_instances.get(instance.id, for_update=True)
                seen.seen_again({"new": 1}, alert_name="Changed", now=at(70))
                await tx.alert_instances.save_seen([seen])
                seen.close(InstanceStatus.RESOLVED, by=user.id, now=at(80))
                await tx.alert_instances.save(seen)
                await tx.alerts.delete(alert.id)
                raise Boom
        assert await snapshot(storage, client.id) == before
        assert await read(storage, lambda tx: tx.alerts.get(added.id)) is None

