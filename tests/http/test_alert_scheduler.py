"""The scheduler inside the server (`catalyst serve`): on by default, it runs each due alert at its
slot and records what it finds; CATALYST_SCHEDULER=0 leaves alerts alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_adapters.security import PasslibHasher
from catalyst_api.app import create_app
from catalyst_api.container import build_container
from catalyst_api.settings import Settings
from catalyst_core.events import AlertFired
from tests.conftest import TEST_SECRET
from tests.helpers import START, team
from tests.http.test_metrics import ingest, row

Make = Callable[[bool], Any]


@pytest.fixture
async def server(storage_factory: Any) -> AsyncIterator[Make]:
    """`await server(scheduler_on)`: an app over SQLite whose clock is frozen before anything
    runs (the scheduler's first pass comes at start-up)."""
    made: list[TestClient] = []

    async def make(scheduler: bool) -> Any:
        settings = Settings(database_url="memory", data_dir=Path("unused"), jwt_secret=TEST_SECRET,
                            scheduler=scheduler, scheduler_interval_seconds=0.02)
        container = build_container(settings)
        container.storage.override(await storage_factory("sqlite"))
        container.hasher.override(PasslibHasher.fast_for_tests())
        clock, notifier = FrozenClock(START), RecordingNotifier()
        container.clock.override(clock)
        container.notifier.override(notifier)
        client = TestClient(TestServer(create_app(settings, container=container)))
        await client.start_server()
        client.container = container  # type: ignore[attr-defined]
        made.append(client)
        return client, clock, notifier

    yield make
    for client in made:
        await client.close()


async def _first_default_alert(alice: Any, client_id: str) -> dict[str, Any]:
    status, reply = await alice.get(f"/alerts?client_id={client_id}")
    assert status == 200
    return next(a for a in reply["data"]["settings"] if a["alert_type"] == "cplpv")


async def test_the_server_runs_a_due_alert_once_at_its_slot(server: Make) -> None:
    api, clock, notifier = await server(True)
    alice, _, client_id = await team(api)
    # An ad whose CPLPV (100 / 2 = 50) breaks the default High CPLPV alert (> 5, from 50 spent).
    status, _ = await ingest(alice, client_id, [row("2024-02-29", "ad-9", spend="100",
                                                    landing_page_views=2)])
    assert status == 200
    alert = await _first_default_alert(alice, client_id)
    assert alert["next_run_at"] == "2024-03-02T05:00:00Z"  # created at 09:00: tomorrow's slot
    await asyncio.sleep(0.1)
    assert notifier.of_type(AlertFired) == []  # not due yet
    clock.advance(days=1)  # 2024-03-02 09:00: the 05:00 slot has passed
    for _ in range(200):
        if notifier.of_type(AlertFired):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # a few more passes: none may run it again
    fired = [e for e in notifier.of_type(AlertFired) if str(e.alert_id) == alert["alert_id"]]
    assert len(fired) == 1 and len(fired[0].opened) == 1 and fired[0].by is None
    status, reply = await alice.get(f"/alerts/instances?alert_id={alert['alert_id']}")
    [instance] = reply["data"]["instances"]
    assert instance["alert_data"]["ad_id"] == "ad-9" and instance["trigger_count"] == 1
    alert = await _first_default_alert(alice, client_id)
    assert (alert["last_run_at"], alert["next_run_at"]) == ("2024-03-02T09:00:00Z",
                                                           "2024-03-03T05:00:00Z")


async def test_with_the_scheduler_off_nothing_runs(server: Make) -> None:
    api, clock, notifier = await server(False)
    alice, _, client_id = await team(api)
    await ingest(alice, client_id, [row("2024-02-29", "ad-9", spend="100", landing_page_views=2)])
    clock.advance(days=3)
    await asyncio.sleep(0.1)
    assert notifier.of_type(AlertFired) == []
    alert = await _first_default_alert(alice, client_id)
    assert alert["last_run_at"] is None
