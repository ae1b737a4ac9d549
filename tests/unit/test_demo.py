"""`catalyst demo`: a demo agency through the real CLI on a SQLite file, made once."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from catalyst_adapters.security import PasslibHasher
from catalyst_api import cli, demo, demo_data
from catalyst_api.container import Container, build_container, start_storage, stop_storage
from catalyst_api.settings import Settings
from catalyst_core.alerts.service import InstanceFilters
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.clients.model import ClientRole
from catalyst_core.paging import OffsetRequest, PageRequest, SortSpec
from catalyst_core.reports.periods import Period
from catalyst_core.tasks.model import TaskStatus
from catalyst_core.tasks.service import TaskFilters


@pytest.fixture
def env(cli_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Production Argon2 costs ~0.35 s a hash here and the demo registers seven people: the CLI's
    # container gets the test hasher (hashes carry their parameters, so logins still verify).
    monkeypatch.setattr(cli, "build_container", fast_container)
    return cli_db


def fast_container(settings: Settings) -> Container:
    container = build_container(settings)
    container.hasher.override(providers.Object(PasslibHasher.fast_for_tests()))
    return container


async def _in_container(work: Any) -> Any:
    container = fast_container(Settings.from_env())
    await start_storage(container)
    try:
        return await work(container)
    finally:
        await stop_storage(container)


async def _census(c: Any, password: str) -> dict[str, Any]:
    """What the database holds, as the demo admin sees it after logging in."""
    login = await c.auth().login(demo.ADMIN_EMAIL, password)
    admin = Actor(login.user.id, login.user.role)
    yesterday = c.clock().now().date() - timedelta(days=1)
    first = yesterday - timedelta(days=demo.DAYS - 1)
    found: dict[str, Any] = {"role": login.user.role, "clients": {}}
    clients = await c.clients().list(admin, PageRequest(1, 100), SortSpec("name"))
    for view in clients.items:
        client_id = view.client.id
        members = await c.clients().list_members(admin, client_id, PageRequest(1, 100), SortSpec("name"))
        tasks = await c.tasks().list(admin, TaskFilters(client_id=client_id), PageRequest(1, 100),
                                     SortSpec())
        growth = await c.reports().growth(admin, client_id, first, yesterday, Period.WEEKLY)
        early = await c.reports().performance(admin, client_id, first, first + timedelta(days=13))
        late = await c.reports().performance(admin, client_id, yesterday - timedelta(days=6), yesterday)
        alerts = await c.alerts().list(admin, client_id)
        instances = await c.alerts().list_instances(admin, InstanceFilters(client_id=client_id),
                                                    OffsetRequest(limit=1000))
        found["clients"][view.client.name] = {
            "alerts": alerts,
            "cplpv_campaigns": {i.alert_data["campaign_id"] for i in instances.items
                                if "cplpv" in i.alert_data},
            "roles": sorted(m.role for m in members.items),
            "tasks": tasks.items,
            "growth": growth,
            "early": {line.campaign_id: line.measured.metrics for line in early.by_campaign},
            "late": {line.campaign_id: line.measured.metrics for line in late.by_campaign},
        }
    return found


def census(password: str) -> dict[str, Any]:
    return asyncio.run(_in_container(lambda c: _census(c, password)))


def test_demo_makes_an_agency_once(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert demo.ADMIN_EMAIL in out
    password = re.search(r"password: (\S+)", out)
    assert password, out
    assert "reports/growth?client_id=" in out

    world = census(password[1])
    assert world["role"] is GlobalRole.ADMIN
    assert set(world["clients"]) == {plan.name for plan in demo_data.CLIENTS}
    total_rows = 0
    for name, client in world["clients"].items():
        # The demo admin created the client; colleagues hold each role.
        assert {ClientRole.ADMIN, ClientRole.MEMBER, ClientRole.VIEWER} <= set(client["roles"]), name
        tasks = client["tasks"]
        assert len(tasks) >= 4
        assert len({t.task_type for t in tasks}) >= 2 and len({t.priority for t in tasks}) >= 3
        assert any(t.assignees for t in tasks) and any(t.due_date for t in tasks)
        growth = client["growth"]
        # Weekly buckets over 90 days ending yesterday: every one spent something.
        assert len(growth.buckets) >= 13
        assert all(b.measured.totals["spend"] > 0 for b in growth.buckets)
        metrics = growth.current.measured.metrics
        assert (metrics["impressions"] > metrics["clicks"] > metrics["landing_page_views"]
                > max(metrics["leads"], metrics["conversions"]) > 0)
        assert metrics["revenue"] > 0
        total_rows += growth.current.measured.totals.rows
    assert total_rows == sum(len(list(demo_data.performance_rows(plan, date(2024, 1, 1), demo.DAYS)))
                             for plan in demo_data.CLIENTS)

    # Some campaigns went bad in the last two weeks: landing-page views got dear, clicks rarer.
    failing = []
    for client in world["clients"].values():
        for campaign_id, late in client["late"].items():
            early = client["early"][campaign_id]
            if late["cplpv"] > 2.5 * early["cplpv"]:
                assert late["ctr"] < 0.8 * early["ctr"]
                failing.append(campaign_id)
    assert 2 <= len(failing) <= 4
    # ... and the default alerts, run once by the demo, found their ads.
    for client in world["clients"].values():
        assert sorted(a.alert_type for a in client["alerts"] if a.is_default) == ["cpl", "cplpv", "ctr"]
    assert set(failing) <= set().union(*(c["cplpv_campaigns"] for c in world["clients"].values()))

    statuses = {t.status for c in world["clients"].values() for t in c["tasks"]}
    assert statuses == set(TaskStatus)

    # A second run finds the demo and changes nothing.
    assert cli.main(["demo"]) == 0
    again = capsys.readouterr().out
    assert "already" in again and demo.ADMIN_EMAIL in again
    assert "password: " not in again
    after = census(password[1])
    for name, client in world["clients"].items():
        other = after["clients"][name]
        assert [t.id for t in other["tasks"]] == [t.id for t in client["tasks"]]
        assert other["roles"] == client["roles"]
        assert other["growth"].current.measured.totals == client["growth"].current.measured.totals
    assert set(after["clients"]) == set(world["clients"])


def test_the_data_is_deterministic_and_plausible() -> None:
    plan = demo_data.CLIENTS[0]
    first = list(demo_data.performance_rows(plan, date(2025, 3, 1), 21))
    assert first == list(demo_data.performance_rows(plan, date(2025, 3, 1), 21))
    assert first != list(demo_data.performance_rows(plan, date(2025, 3, 1), 21, seed=7))
    assert {row["platform"] for row in first} <= set(demo_data.PLATFORMS)
    for row in first:
        assert row["impressions"] >= row["clicks"] >= row["landing_page_views"] >= row["leads"]
        assert row["landing_page_views"] >= row["conversions"]
        assert row["spend"] >= 0 and row["revenue"] >= 0
    # Weekends differ: this shop sells more on Saturdays and Sundays.
    spend = {False: [], True: []}  # type: dict[bool, list[float]]
    for row in first:
        spend[row["date"].weekday() >= 5].append(float(row["spend"]))
    weekday, weekend = (sum(v) / len(v) for v in (spend[False], spend[True]))
    assert weekend > 1.05 * weekday


def test_the_scheduler_command_runs_due_alerts_once(env: Path, capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    """`catalyst scheduler --once` runs what is due, once: right after the demo nothing is (default
    alerts first run at their next 05:00 UTC); moved into the past, all nine run, then none."""
    assert cli.main(["demo"]) == 0
    capsys.readouterr()
    assert cli.main(["scheduler", "--once"]) == 0
    assert capsys.readouterr().out.startswith("ran 0 due alerts")
    with sqlite3.connect(env / "catalyst.db") as db:
        db.execute("UPDATE alerts SET next_run_at = '2020-01-01 05:00:00.000000'")
    assert cli.main(["scheduler", "--once"]) == 0
    assert capsys.readouterr().out.startswith("ran 9 due alerts")
    assert cli.main(["scheduler", "--once"]) == 0
    assert capsys.readouterr().out.startswith("ran 0 due alerts")
