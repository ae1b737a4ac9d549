"""Alerts in-process: configure one, run it on a week of data, resolve what it found.

Run it with `python docs/examples/alerts_example.py`; tests/unit/test_embedding_example.py runs it too."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_core.alerts.service import AlertsService, InstanceFilters
from catalyst_core.auth.model import Actor
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.service import ClientsService
from catalyst_core.ids import random_ids
from catalyst_core.metrics.service import MetricsService
from catalyst_core.paging import OffsetRequest
from catalyst_core.tasks.service import TasksService


async def main() -> dict[str, object]:
    storage, clock = MemoryStorage(), FrozenClock(datetime(2024, 3, 8, 9, 0, tzinfo=UTC))
    notifier = RecordingNotifier()
    auth = AuthService(storage, PasslibHasher(), JwtTokenIssuer("an-embedding-secret-of-32-bytes-or-more"),
                       clock, random_ids)
    jane = await auth.register("jane@agency.example", "a long password", "Jane Doe")
    as_jane = Actor(jane.id, jane.role)
    acme = (await ClientsService(storage, clock, random_ids).create(as_jane, "Acme Corp")).client.id

    # Ad "b" buys landing-page views at 12.50 each, ad "a" at 1.25.
    rows = [{"date": (date(2024, 3, 1) + timedelta(days=d)).isoformat(), "platform": "facebook",
             "campaign_id": "spring", "adset_id": "women-25-34", "ad_id": ad, "ad_name": f"Banner {ad}",
             "spend": "12.50", "landing_page_views": views}
            for d in range(7) for ad, views in (("a", 10), ("b", 1))]
    await MetricsService(storage).ingest(as_jane, acme, rows)

    alerts = AlertsService(storage, clock, notifier, random_ids)
    # The configuration is the API's JSON body, as a mapping; every bad field is named at once.
    alert = await alerts.create(as_jane, acme, {
        "name": "CPLPV over 5", "alert_type": "cplpv", "data_level": "ad",
        "condition_config": {"operator": "greater_than", "value": 5, "window_days": 7},
        "action_config": {"create_task": True, "assignees": [str(jane.id)]},
        "frequency": {"type": "daily", "time": "07:00", "timezone": "Europe/Berlin"}})
    print(f"{alert.name}: next run {alert.next_run_at:%Y-%m-%d %H:%M} UTC")

    result = await alerts.trigger(as_jane, alert.id)
    [instance] = (await alerts.list_instances(as_jane, InstanceFilters(alert_id=alert.id),
                                              OffsetRequest(limit=10))).items
    print(f"{result.instances_created} instance: ad {instance.alert_data['ad_id']}, "
          f"CPLPV {instance.alert_data['cplpv']} (account {instance.alert_data['account_average']})")

    resolved = await alerts.resolve(as_jane, instance.id, "Paused the ad")
    task = await TasksService(storage, clock, notifier, random_ids).get(as_jane, resolved.task_id)
    print(f"resolved; its task is {task.status.value}")
    return {"created": result.instances_created, "ad": instance.alert_data["ad_id"],
            "task": task.status.value, "events": [e.kind for e in notifier.events]}


if __name__ == "__main__":
    asyncio.run(main())
