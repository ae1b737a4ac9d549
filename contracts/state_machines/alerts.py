"""The alerts machine: configuration, runs, deduplication, resolve and dismiss, and the tasks they
open and close, driven through AlertsService and TasksService and compared with a plain model.

Performance data is a handful of ads whose daily spend and landing-page views the machine sets;
the model decides which ads an alert on CPLPV finds with plain fractions over the window."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from attrs import define, field
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from catalyst_adapters.notifier import RecordingNotifier
from catalyst_contracts.state_machines.common import ServiceMachine
from catalyst_core.alerts.model import AlertId, InstanceId, InstanceStatus
from catalyst_core.alerts.service import AlertsService, InstanceFilters
from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Conflict, DomainError, Forbidden, NotFound
from catalyst_core.ids import TaskId, UserId
from catalyst_core.metrics.parsing import parse_rows
from catalyst_core.paging import OffsetRequest
from catalyst_core.tasks.model import TaskStatus
from catalyst_core.tasks.service import TasksService

ADS = ("a1", "a2", "a3")
CAST = ("admin", "member", "viewer", "outsider", "root")
WINDOW_DAYS = 3


@define
class ModelAlert:
    id: AlertId
    threshold: int
    create_task: bool


@define
class ModelInstance:
    id: InstanceId
    alert_id: AlertId
    ad: str
    count: int = 1
    status: InstanceStatus = InstanceStatus.TRIGGERED
    task_id: TaskId | None = None
    task_status: TaskStatus | None = None


@define
class Days:
    """(spend, landing-page views) per ad and date, as last ingested."""

    rows: dict[tuple[str, date], tuple[int, int]] = field(factory=dict)


class AlertsMachine(ServiceMachine):
    """Client `acme`: admin, member, viewer; `globex`: outsider (admin). root is a platform admin."""

    def __init__(self) -> None:
        super().__init__()
        self.notifier = RecordingNotifier()
        self.alerts = AlertsService(self.storage, self.clock, self.notifier, self.ids)
        self.tasks = TasksService(self.storage, self.clock, self.notifier, self.ids)
        self.model: dict[AlertId, ModelAlert] = {}
        self.instances: dict[InstanceId, ModelInstance] = {}
        self.days = Days()
        self.gone = AlertId(uuid.uuid4())

    @initialize()
    def cast(self) -> None:
        self.register_cast(CAST)
        admin = self.actors[self.people["admin"]]
        self.acme = self.run(self.clients.create(admin, "Acme")).client.id
        self.globex = self.run(self.clients.create(self.actors[self.people["outsider"]], "Globex")
                               ).client.id
        for who, role in (("member", ClientRole.MEMBER), ("viewer", ClientRole.VIEWER)):
            self.run(self.clients.add_member(admin, self.acme, f"{who}@example.com", role))
        self.roles = {self.people["admin"]: ClientRole.ADMIN, self.people["member"]: ClientRole.MEMBER,
                      self.people["viewer"]: ClientRole.VIEWER, self.people["root"]: ClientRole.ADMIN}
        # Default alerts are left alone here (their thresholds need other data); switch them off so
        # they never run, and start with one alert of the machine's own.
        for alert in self.run(self.alerts.list(admin, self.acme)):
            assert alert.is_default
            self.run(self.alerts.update(admin, alert.id, self.acme, {"is_enabled": False}))
        self._create(admin, threshold=5, create_task=True, expected=None)

    # -- helpers -----------------------------------------------------------------------------------

    def _who(self, data: st.DataObject) -> UserId:
        return self.people[data.draw(st.sampled_from(CAST), label="actor")]

    def _role(self, user: UserId) -> ClientRole | None:
        return self.roles.get(user)

    def _needs(self, user: UserId, role: ClientRole) -> type[DomainError] | None:
        mine = self._role(user)
        return NotFound if mine is None else None if mine.at_least(role) else Forbidden

    def _create(self, actor: Actor, *, threshold: int, create_task: bool,
                expected: type[DomainError] | None) -> None:
        body = {"name": f"CPLPV over {threshold}", "alert_type": "cplpv",
                "condition_config": {"operator": "greater_than", "value": threshold,
                                     "window_days": WINDOW_DAYS},
                "action_config": {"create_task": create_task,
                                  "assignees": [str(self.people["member"])]}}
        alert = self.attempt(self.alerts.create(actor, self.acme, body), expected)
        if alert is not None:
            self.model[alert.id] = ModelAlert(alert.id, threshold, create_task)

    def _firing_ads(self, threshold: int) -> list[str]:
        today = self.clock.now().date()
        window = {today - timedelta(days=n) for n in range(1, WINDOW_DAYS + 1)}
        found = []
        for ad in ADS:
            days = [v for (a, d), v in self.days.rows.items() if a == ad and d in window]
            if not days:
                continue
            spend, views = sum(s for s, _ in days), sum(v for _, v in days)
            if (views == 0 and spend > 0) or (views and Fraction(spend, views) > threshold):
                found.append(ad)
        return found

    def _open(self, alert_id: AlertId, ad: str) -> ModelInstance | None:
        return next((i for i in self.instances.values() if i.alert_id == alert_id and i.ad == ad
                     and i.status is InstanceStatus.TRIGGERED), None)

    def _draw_instance(self, data: st.DataObject) -> InstanceId:
        known = sorted(self.instances)
        return data.draw(st.sampled_from([*known, *known, InstanceId(uuid.uuid4())]), label="instance")

    # -- rules ---------------------------------------------------------------------------------------

    @rule(ad=st.sampled_from(ADS), back=st.integers(0, WINDOW_DAYS + 1), spend=st.integers(0, 40),
          views=st.integers(0, 8))
    def ingest(self, ad: str, back: int, spend: int, views: int) -> None:
        day = self.clock.now().date() - timedelta(days=back)
        rows = parse_rows(self.acme, [{"date": day.isoformat(), "platform": "facebook", "campaign_id": "c",
                            "adset_id": "s", "ad_id": ad, "ad_name": ad.upper(),
                            "spend": str(Decimal(spend)), "landing_page_views": views}])
        async def put() -> None:
            async with self.storage.transaction() as tx:
                await tx.performance.upsert(self.acme, rows)
        self.run(put())
        self.days.rows[(ad, day)] = (spend, views)

    @precondition(lambda self: len(self.model) < 4)
    @rule(data=st.data(), threshold=st.integers(0, 10), create_task=st.booleans())
    def create_alert(self, data: st.DataObject, threshold: int, create_task: bool) -> None:
        actor = self._who(data)
        self._create(self.actors[actor], threshold=threshold, create_task=create_task,
                     expected=self._needs(actor, ClientRole.ADMIN))

    @rule(data=st.data())
    def trigger(self, data: st.DataObject) -> None:
        alert_id = data.draw(st.sampled_from([*sorted(self.model), self.gone]), label="alert")
        actor = self._who(data)
        expected = NotFound if alert_id not in self.model else self._needs(actor, ClientRole.MEMBER)
        result = self.attempt(self.alerts.trigger(self.actors[actor], alert_id), expected)
        if result is None:
            return
        alert = self.model[alert_id]
        new_ads = []
        for ad in self._firing_ads(alert.threshold):
            instance = self._open(alert_id, ad)
            if instance is not None:
                instance.count += 1
            else:
                new_ads.append(ad)
        assert result.instances_created == len(new_ads)
        if not new_ads:
            return
        stored = self.run(self.alerts.list_instances(
            self.actors[self.people["root"]],
            InstanceFilters(alert_id=alert_id, status=InstanceStatus.TRIGGERED),
            OffsetRequest(limit=1000)))
        by_ad = {i.alert_data["ad_id"]: i for i in stored.items}
        for ad in new_ads:
            real = by_ad[ad]
            assert real.id not in self.instances
            self.instances[real.id] = ModelInstance(
                real.id, alert_id, ad, task_id=real.task_id,
                task_status=TaskStatus.PENDING if alert.create_task else None)

    @rule(data=st.data(), resolve=st.booleans())
    def close(self, data: st.DataObject, resolve: bool) -> None:
        instance_id = self._draw_instance(data)
        actor = self._who(data)
        instance = self.instances.get(instance_id)
        expected = NotFound if instance is None else self._needs(actor, ClientRole.MEMBER)
        if expected is None and instance is not None and instance.status is not InstanceStatus.TRIGGERED:
            expected = Conflict
        use_case = (self.alerts.resolve(self.actors[actor], instance_id, "done") if resolve
                    else self.alerts.dismiss(self.actors[actor], instance_id))
        closed = self.attempt(use_case, expected)
        if closed is None or instance is None:
            return
        instance.status = InstanceStatus.RESOLVED if resolve else InstanceStatus.DISMISSED
        assert closed.status is instance.status and closed.resolved_by == actor
        if instance.task_status is TaskStatus.PENDING:
            instance.task_status = TaskStatus.COMPLETED if resolve else TaskStatus.CANCELLED

    @precondition(lambda self: any(i.task_status is TaskStatus.PENDING for i in self.instances.values()))
    @rule(data=st.data())
    def complete_task_directly(self, data: st.DataObject) -> None:
        """Someone finishes an alert's task by hand: resolving it later leaves the task alone."""
        instance = data.draw(st.sampled_from(sorted(
            (i for i in self.instances.values() if i.task_status is TaskStatus.PENDING),
            key=lambda i: i.id)), label="task of")
        assert instance.task_id is not None
        self.run(self.tasks.complete(self.actors[self.people["member"]], instance.task_id))
        instance.task_status = TaskStatus.COMPLETED

    @rule(days=st.integers(1, 2))
    def next_day(self, days: int) -> None:
        self.clock.advance(days=days)

    @rule(data=st.data())
    def delete_alert(self, data: st.DataObject) -> None:
        alert_id = data.draw(st.sampled_from([*sorted(self.model), self.gone]), label="alert")
        actor = self._who(data)
        expected = NotFound if alert_id not in self.model else self._needs(actor, ClientRole.ADMIN)
        if self.attempt(self.alerts.delete(self.actors[actor], alert_id, None), expected) is None \
                and expected is None:
            del self.model[alert_id]
            self.gone = alert_id
            self.instances = {k: v for k, v in self.instances.items() if v.alert_id != alert_id}

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def instances_match_the_model(self) -> None:
        if not self.people:
            return
        root = self.actors[self.people["root"]]
        stored = self.run(self.alerts.list_instances(root, InstanceFilters(), OffsetRequest(limit=1000)))
        assert {i.id: (i.alert_id, i.alert_data["ad_id"], i.trigger_count, i.status)
                for i in stored.items} == {
            i.id: (i.alert_id, i.ad, i.count, i.status) for i in self.instances.values()}
        for instance in stored.items:
            expected = self.instances[instance.id].task_status
            if expected is None:
                assert instance.task_id is None
                continue
            task = self.run(self.tasks.get(root, instance.task_id))
            assert (task.status, task.related_object_type, task.related_object_id) == (
                expected, "alert_instance", str(instance.id))
        # Triggered instances are unique per alert and ad.
        open_keys = [(i.alert_id, i.ad) for i in self.instances.values()
                     if i.status is InstanceStatus.TRIGGERED]
        assert len(open_keys) == len(set(open_keys))

    @invariant()
    def outsiders_see_nothing_of_acme(self) -> None:
        if not self.people:
            return
        outsider = self.actors[self.people["outsider"]]
        seen = self.run(self.alerts.list_instances(outsider, InstanceFilters(), OffsetRequest()))
        assert all(i.client_id == self.globex for i in seen.items)

