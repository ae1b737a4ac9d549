"""Two concurrent decisions on one alert instance: exactly one wins, on every storage (the use case
locks the instance; the loser sees it closed and gets Conflict), and the task follows the winner."""

from __future__ import annotations

import asyncio
from typing import Any

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_contracts.storage.helpers import put
from catalyst_contracts.strategies import BASE_TIME, make_client, make_membership, make_user
from catalyst_core.alerts.service import AlertsService, InstanceFilters
from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Conflict
from catalyst_core.ids import random_ids
from catalyst_core.metrics.parsing import parse_rows
from catalyst_core.paging import OffsetRequest
from catalyst_core.tasks.model import TaskStatus


async def test_two_concurrent_decisions_one_wins(storage: Any) -> None:
    clock = FrozenClock(BASE_TIME)
    admin, member, client = make_user(), make_user(), make_client()
    await put(storage, admin, member, client, make_membership(client, admin, ClientRole.ADMIN),
              make_membership(client, member, ClientRole.MEMBER))
    rows = parse_rows(client.id, [{"date": "2024-02-28", "platform": "facebook", "campaign_id": "c",
                                   "adset_id": "s", "ad_id": f"a{i}", "spend": "100",
                                   "landing_page_views": 1} for i in range(4)])
    async with storage.transaction() as tx:
        await tx.performance.upsert(client.id, rows)
    alerts = AlertsService(storage, clock, RecordingNotifier(), random_ids)
    alert = await alerts.create(Actor(admin.id), client.id, {
        "name": "CPLPV", "alert_type": "cplpv", "action_config": {"create_task": True},
        "condition_config": {"operator": "greater_than", "value": 5}})
    assert (await alerts.trigger(Actor(member.id), alert.id)).instances_created == 4
    instances = (await alerts.list_instances(Actor(admin.id), InstanceFilters(alert_id=alert.id),
                                             OffsetRequest())).items
    for instance in instances:
        outcomes = await asyncio.gather(
            alerts.resolve(Actor(member.id), instance.id, "fixed"),
            alerts.dismiss(Actor(admin.id), instance.id), return_exceptions=True)
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Conflict), outcomes
        stored = await alerts.get_instance(Actor(admin.id), instance.id)
        assert stored.status is won[0].status
        async with storage.transaction(write=False) as tx:
            task = await tx.tasks.get(stored.task_id)
        assert task is not None
        expected = TaskStatus.COMPLETED if stored.status.value == "resolved" else TaskStatus.CANCELLED
        assert task.status is expected
