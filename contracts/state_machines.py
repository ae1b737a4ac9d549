"""Hypothesis state machines that drive the services over a real Storage and compare with a plain model.

`AccountsMachine` drives AuthService and ClientsService (users, clients, members, roles);
`TasksMachine` drives TasksService (tasks, their lifecycle, comments, events). Each example gets a
fresh storage from the class attribute `storage_factory` (an async callable returning an EMPTY
Storage) and its own event loop, because rules cannot be async. Bind them like this:

    Machine = type("AccountsOnX", (AccountsMachine,), {"storage_factory": staticmethod(make_empty)})
    run_state_machine_as_test(Machine, settings=MACHINE_SETTINGS)
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from attrs import define, field
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_contracts import strategies as cs
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.model import ClientRole
from catalyst_core.clients.service import ClientsService
from catalyst_core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from catalyst_core.events import CommentAdded, Event, TaskAssigned, TaskCancelled, TaskCompleted
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId, sequential_ids
from catalyst_core.paging import Order, PageRequest, SortSpec
from catalyst_core.tasks.model import NewTask, Priority, TaskChanges, TaskStatus, TaskType
from catalyst_core.tasks.service import TaskFilters, TasksService

T = TypeVar("T")
StorageFactory = Callable[[], Awaitable[Any]]

MACHINE_SETTINGS = settings(max_examples=25, stateful_step_count=30, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])
# A database costs about a millisecond per transaction: fewer, shorter runs keep the suite quick.
SQL_MACHINE_SETTINGS = settings(MACHINE_SETTINGS, max_examples=15, stateful_step_count=25)


def machine_settings(kind: str) -> settings:
    return MACHINE_SETTINGS if kind == "memory" else SQL_MACHINE_SETTINGS
TEST_SECRET = "state-machine-secret-long-enough-for-hs256"


def storage_factory(kind: str, *, sqlite_template: Path | None = None, directory: Path | None = None,
                    postgres: tuple[str, dict[str, Any]] | None = None) -> StorageFactory:
    """An async factory of empty storages of `kind`: memory; sqlite (a copy of a migrated template
    file in `directory`); postgres (`(url, engine kwargs)` of a migrated schema, emptied each time)."""

    async def make() -> Any:
        if kind == "memory":
            return MemoryStorage()
        if kind == "sqlite":
            assert sqlite_template is not None and directory is not None
            target = directory / f"machine-{uuid.uuid4().hex}.db"
            shutil.copyfile(sqlite_template, target)
            return SqlStorage(create_engine(f"sqlite+aiosqlite:///{target}"))
        if kind == "postgres":
            assert postgres is not None
            url, kwargs = postgres
            storage = SqlStorage(create_engine(url, **kwargs))
            await storage.reset()
            return storage
        raise ValueError(kind)

    return make


def _sorted_by(items: list[T], key: Callable[[T], Any], order: Order) -> list[T]:
    return sorted(items, key=key, reverse=order is Order.DESC)


class ServiceMachine(RuleBasedStateMachine):
    """Shared plumbing: an event loop, a storage, a frozen clock and deterministic ids per example."""

    storage_factory: ClassVar[StorageFactory | None] = None

    def __init__(self) -> None:
        super().__init__()
        factory = type(self).storage_factory
        if factory is None:
            raise RuntimeError("set storage_factory on a subclass before running the machine")
        self.loop = asyncio.new_event_loop()
        self.storage = self.loop.run_until_complete(factory())
        self.clock = FrozenClock(cs.BASE_TIME)
        self.ids = sequential_ids()
        self.auth = AuthService(self.storage, PasslibHasher.fast_for_tests(), JwtTokenIssuer(TEST_SECRET),
                                self.clock, self.ids)
        self.clients = ClientsService(self.storage, self.clock, self.ids)
        self.steps = 0

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def attempt(self, coroutine: Coroutine[Any, Any, T], expected: type[DomainError] | None) -> T | None:
        """Run a use case that must succeed (expected None) or raise exactly `expected`."""
        try:
            result = self.run(coroutine)
        except DomainError as error:
            assert expected is not None, f"unexpected {error!r}"
            assert type(error) is expected, f"raised {error!r}, expected {expected.__name__}"
            return None
        assert expected is None, f"succeeded, expected {expected.__name__}"
        return result

    def teardown(self) -> None:
        try:
            self.run(self.storage.close())
            self.run(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()

    @rule()
    def tick(self) -> None:
        """Time passes (without it, several steps share a timestamp and ties are broken by id)."""
        self.clock.advance(seconds=1)


# =====================================================================================================
# Accounts: users, clients, members and roles
# =====================================================================================================

EMAIL_POOL = ["ann@example.com", "Ann@Example.com", "bob@example.com", "carl@example.org",
              "dora@example.io", "eve@example.com", "fay@example.org"]
PASSWORD = "correct horse battery"


@define
class ModelUser:
    id: UserId
    email: str
    name: str
    actor: Actor


@define
class ModelClient:
    id: ClientId
    name: str
    created_at: datetime
    members: dict[UserId, tuple[ClientRole, datetime]] = field(factory=dict)


class AccountsMachine(ServiceMachine):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[UserId, ModelUser] = {}
        self.by_email: dict[str, UserId] = {}
        self.model_clients: dict[ClientId, ModelClient] = {}

    @initialize()
    def platform_admin(self) -> None:
        user = self.run(self.auth.register("root@example.com", PASSWORD, "Root", role=GlobalRole.ADMIN))
        self._remember(user.id, user.email, user.name, GlobalRole.ADMIN)
        # A client with an admin and a member up front: hypothesis disables some rules in each
        # example (swarm testing), and member rules need someone to work on.
        for email, name in (("gil@example.com", "Gil"), ("hal@example.com", "hal")):
            user = self.run(self.auth.register(email, PASSWORD, name))
            self._remember(user.id, user.email, user.name, GlobalRole.MEMBER)
        gil, hal = self.by_email["gil@example.com"], self.by_email["hal@example.com"]
        view = self.run(self.clients.create(self.users[gil].actor, "Seed"))
        now = self.clock.now()
        self.run(self.clients.add_member(self.users[gil].actor, view.client.id, "hal@example.com",
                                         ClientRole.MEMBER))
        self.model_clients[view.client.id] = ModelClient(view.client.id, "Seed", now, {
            gil: (ClientRole.ADMIN, now), hal: (ClientRole.MEMBER, now)})

    def _remember(self, user_id: UserId, email: str, name: str, role: GlobalRole) -> None:
        self.users[user_id] = ModelUser(user_id, email, name, Actor(user_id, role))
        self.by_email[email] = user_id

    def _role(self, actor: Actor, client: ModelClient) -> ClientRole | None:
        if actor.is_platform_admin:
            return ClientRole.ADMIN
        entry = client.members.get(actor.user_id)
        return entry[0] if entry else None

    def _managing(self, actor: Actor, client: ModelClient) -> type[DomainError] | None:
        role = self._role(actor, client)
        if role is None:
            return NotFound
        return None if role is ClientRole.ADMIN else Forbidden

    # -- rules ---------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.users) < 8)
    @rule(email=st.sampled_from(EMAIL_POOL) | cs.emails(), name=cs.names(20))
    def register(self, email: str, name: str) -> None:
        normalised = email.strip().lower()
        expected = Conflict if normalised in self.by_email else None
        user = self.attempt(self.auth.register(email, PASSWORD, name), expected)
        if user is not None:
            assert (user.email, user.name, user.role) == (normalised, name, GlobalRole.MEMBER)
            self._remember(user.id, user.email, user.name, GlobalRole.MEMBER)

    @precondition(lambda self: len(self.model_clients) < 5)
    @rule(data=st.data(), name=cs.names(20))
    def create_client(self, data: st.DataObject, name: str) -> None:
        creator = data.draw(st.sampled_from(sorted(self.users)), label="creator")
        view = self.run(self.clients.create(self.users[creator].actor, name))
        assert view.role is ClientRole.ADMIN and view.client.name == name
        now = self.clock.now()
        self.model_clients[view.client.id] = ModelClient(view.client.id, name, now,
                                                         {creator: (ClientRole.ADMIN, now)})

    @precondition(lambda self: self.model_clients)
    @rule(data=st.data(), role=cs.client_roles())
    def add_member(self, data: st.DataObject, role: ClientRole) -> None:
        actor = self.users[data.draw(st.sampled_from(sorted(self.users)), label="actor")].actor
        client = self.model_clients[data.draw(st.sampled_from(sorted(self.model_clients)), label="client")]
        email = data.draw(st.sampled_from(sorted(self.by_email)) | st.just("nobody@example.com"),
                          label="email")
        target = self.by_email.get(email)
        expected = self._managing(actor, client)
        if expected is None:
            expected = NotFound if target is None else Conflict if target in client.members else None
        view = self.attempt(self.clients.add_member(actor, client.id, email.upper(), role), expected)
        if view is not None:
            assert target is not None
            assert (view.user_id, view.email, view.role) == (target, email, role)
            client.members[target] = (role, self.clock.now())

    @precondition(lambda self: self.model_clients)
    @rule(data=st.data(), role=cs.client_roles())
    def change_role(self, data: st.DataObject, role: ClientRole) -> None:
        actor, client, target = self._draw_actor_client_target(data)
        expected = self._member_change(actor, client, target, demoting=role is not ClientRole.ADMIN)
        view = self.attempt(self.clients.change_member_role(actor, client.id, target, role), expected)
        if view is not None:
            added_at = client.members[target][1]
            assert (view.user_id, view.role, view.added_at) == (target, role, added_at)
            client.members[target] = (role, added_at)

    @precondition(lambda self: self.model_clients)
    @rule(data=st.data())
    def remove_member(self, data: st.DataObject) -> None:
        actor, client, target = self._draw_actor_client_target(data)
        expected = self._member_change(actor, client, target, demoting=True)
        self.attempt(self.clients.remove_member(actor, client.id, target), expected)
        if expected is None:
            del client.members[target]

    def _draw_actor_client_target(self, data: st.DataObject) -> tuple[Actor, ModelClient, UserId]:
        client = self.model_clients[data.draw(st.sampled_from(sorted(self.model_clients)), label="client")]
        # Mostly act as one of the client's admins, so the interesting paths are reached.
        admins = sorted(u for u, (r, _) in client.members.items() if r is ClientRole.ADMIN)
        actor_id = data.draw(st.sampled_from(admins) | st.sampled_from(sorted(self.users)), label="actor")
        target = data.draw(st.sampled_from(sorted(client.members)) | st.sampled_from(sorted(self.users)),
                           label="target")
        return self.users[actor_id].actor, client, target

    def _member_change(self, actor: Actor, client: ModelClient, target: UserId,
                       demoting: bool) -> type[DomainError] | None:
        expected = self._managing(actor, client)
        if expected is not None:
            return expected
        if target not in client.members:
            return NotFound
        admins = sum(1 for r, _ in client.members.values() if r is ClientRole.ADMIN)
        if client.members[target][0] is ClientRole.ADMIN and demoting and admins <= 1:
            return Conflict
        return None

    @precondition(lambda self: self.model_clients)
    @rule(data=st.data())
    def outsider_cannot_see_a_client(self, data: st.DataObject) -> None:
        client = self.model_clients[data.draw(st.sampled_from(sorted(self.model_clients)), label="client")]
        outsiders = sorted(u for u in self.users if u not in client.members
                           and not self.users[u].actor.is_platform_admin)
        if not outsiders:
            return
        actor = self.users[data.draw(st.sampled_from(outsiders), label="outsider")].actor
        self.attempt(self.clients.get(actor, client.id), NotFound)
        self.attempt(self.clients.list_members(actor, client.id, PageRequest(), SortSpec("added_at")),
                     NotFound)

    # -- invariants ----------------------------------------------------------------------------------

    def _sort(self) -> tuple[str, Order]:
        self.steps += 1
        return ("added_at", "name", "email")[self.steps % 3], (Order.ASC, Order.DESC)[self.steps // 3 % 2]

    @invariant()
    def members_match_the_model(self) -> None:
        field_, order = self._sort()
        root = next(u.actor for u in self.users.values() if u.actor.is_platform_admin)
        keys: dict[str, Callable[[tuple[UserId, ClientRole, datetime]], Any]] = {
            "added_at": lambda m: (m[2], m[0]),
            "name": lambda m: (self.users[m[0]].name.casefold(), m[0]),
            "email": lambda m: (self.users[m[0]].email, m[0]),
        }
        client_ids = sorted(self.model_clients)
        in_turn = client_ids[self.steps % len(client_ids)] if client_ids else None
        for client in self.model_clients.values():
            assert any(role is ClientRole.ADMIN for role, _ in client.members.values())
            # One client per step is paged through in small pages; the others are read in one page.
            got = self._all_pages(lambda p, c=client: self.clients.list_members(
                root, c.id, p, SortSpec(field_, order)), limit=3 if client.id == in_turn else 100)
            rows = [(u, r, at) for u, (r, at) in client.members.items()]
            expected = _sorted_by(rows, keys[field_], order)
            assert [(m.user_id, m.role, m.added_at, m.email, m.name) for m in got] == [
                (u, r, at, self.users[u].email, self.users[u].name) for u, r, at in expected]
            assert any(m.role is ClientRole.ADMIN for m in got)

    @invariant()
    def client_lists_match_the_model(self) -> None:
        field_ = ("created_at", "updated_at", "name")[self.steps % 3]
        order = (Order.DESC, Order.ASC)[self.steps // 3 % 2]
        keys: dict[str, Callable[[ModelClient], Any]] = {
            "created_at": lambda c: (c.created_at, c.id), "updated_at": lambda c: (c.created_at, c.id),
            "name": lambda c: (c.name.casefold(), c.id)}
        # The platform admin (who sees every client) and, in turn, one other user per step.
        others = sorted(u for u, m in self.users.items() if not m.actor.is_platform_admin)
        chosen = [u for u, m in self.users.items() if m.actor.is_platform_admin]
        chosen += [others[self.steps % len(others)]] if others else []
        for user in (self.users[u] for u in chosen):
            got = self._all_pages(lambda p, u=user: self.clients.list(u.actor, p, SortSpec(field_, order)))
            if user.actor.is_platform_admin:
                visible = list(self.model_clients.values())
            else:
                visible = [c for c in self.model_clients.values() if user.id in c.members]
            expected = _sorted_by(visible, keys[field_], order)
            roles = [self._role(user.actor, c) for c in expected]
            assert [(v.client.id, v.client.name, v.role) for v in got] == [
                (c.id, c.name, r) for c, r in zip(expected, roles, strict=True)]

    def _all_pages(self, fetch: Callable[[PageRequest], Coroutine[Any, Any, Any]],
                   limit: int = 3) -> list[Any]:
        items: list[Any] = []
        number = 1
        while True:
            page = self.run(fetch(PageRequest(number, limit)))
            items.extend(page.items)
            if len(page.items) < limit:
                assert page.total_items == len(items)
                return items
            number += 1


# =====================================================================================================
# Tasks: lifecycle, assignees, comments and the events they send
# =====================================================================================================

@define
class ModelTask:
    id: TaskId
    client_id: ClientId
    name: str
    created_by: UserId
    assignees: list[UserId]
    priority: Priority
    task_type: TaskType
    created_at: datetime
    status: TaskStatus = TaskStatus.PENDING


@define
class ModelComment:
    id: CommentId
    task_id: TaskId
    author: UserId
    text: str
    created_at: datetime


CAST = ("admin", "member1", "member2", "viewer", "outsider", "root")


class TasksMachine(ServiceMachine):
    """Client `acme`: admin (admin), member1 and member2 (members), viewer (viewer). Client `globex`:
    outsider (admin) and member2 (member). root is a platform admin. Roles in acme change as it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.notifier = RecordingNotifier()
        self.tasks = TasksService(self.storage, self.clock, self.notifier, self.ids)
        self.people: dict[str, UserId] = {}
        self.actors: dict[UserId, Actor] = {}
        self.names: dict[UserId, tuple[str, str]] = {}
        self.roles: dict[ClientId, dict[UserId, ClientRole]] = {}
        self.model: dict[TaskId, ModelTask] = {}
        self.comments: dict[CommentId, ModelComment] = {}
        self.gone_tasks: list[TaskId] = [TaskId(uuid.uuid4())]
        self.gone_comments: list[CommentId] = [CommentId(uuid.uuid4())]
        self.expected_events: list[Event] = []

    @initialize()
    def cast(self) -> None:
        for who in CAST:
            role = GlobalRole.ADMIN if who == "root" else GlobalRole.MEMBER
            user = self.run(self.auth.register(f"{who}@example.com", PASSWORD, who.title(), role=role))
            self.people[who] = user.id
            self.actors[user.id] = Actor(user.id, role)
            self.names[user.id] = (user.name, user.email)
        p = self.people
        acme = self.run(self.clients.create(self.actors[p["admin"]], "Acme")).client.id
        globex = self.run(self.clients.create(self.actors[p["outsider"]], "Globex")).client.id
        for client_id, who, role in ((acme, "member1", ClientRole.MEMBER),
                                     (acme, "member2", ClientRole.MEMBER),
                                     (acme, "viewer", ClientRole.VIEWER),
                                     (globex, "member2", ClientRole.MEMBER)):
            admin = self.actors[p["admin"] if client_id == acme else p["outsider"]]
            self.run(self.clients.add_member(admin, client_id, f"{who}@example.com", role))
        self.acme, self.globex = acme, globex
        self.roles = {
            acme: {p["admin"]: ClientRole.ADMIN, p["member1"]: ClientRole.MEMBER,
                   p["member2"]: ClientRole.MEMBER, p["viewer"]: ClientRole.VIEWER},
            globex: {p["outsider"]: ClientRole.ADMIN, p["member2"]: ClientRole.MEMBER},
        }
        # A few tasks and a comment up front: hypothesis disables some rules in each example (swarm
        # testing), and the other rules need something to work on even when create_task is off.
        for client_id, creator, assignees in ((acme, "member1", ["member2", "admin"]), (acme, "admin", []),
                                              (globex, "member2", ["outsider"])):
            ids = [p[a] for a in assignees]
            task = self.run(self.tasks.create(self.actors[p[creator]], NewTask(client_id, f"Seed {creator}",
                                                                               assignees=ids)))
            self.model[task.id] = ModelTask(task.id, client_id, task.name, p[creator], ids, task.priority,
                                            task.task_type, self.clock.now())
            if ids:
                self.expected_events.append(TaskAssigned(occurred_at=self.clock.now(), task_id=task.id,
                                                         client_id=client_id, assignees=tuple(ids),
                                                         by=p[creator]))
        first = min(self.model)
        view = self.run(self.tasks.add_comment(self.actors[p["member2"]], first, "Seed comment"))
        self.comments[view.id] = ModelComment(view.id, first, p["member2"], view.comment, self.clock.now())
        self.expected_events.append(CommentAdded(occurred_at=self.clock.now(), comment_id=view.id,
                                                 task_id=first, client_id=acme, by=p["member2"]))

    # -- model helpers -------------------------------------------------------------------------------

    def _role(self, user_id: UserId, client_id: ClientId) -> ClientRole | None:
        if self.actors[user_id].is_platform_admin:
            return ClientRole.ADMIN
        return self.roles[client_id].get(user_id)

    def _task_access(self, user_id: UserId, task_id: TaskId) -> tuple[type[DomainError] | None,
                                                                       ClientRole | None]:
        """NotFound when the task is gone or its client invisible to the actor, else the actor's role."""
        task = self.model.get(task_id)
        if task is None:
            return NotFound, None
        role = self._role(user_id, task.client_id)
        return (NotFound, None) if role is None else (None, role)

    def _strangers(self, client_id: ClientId, user_ids: list[UserId]) -> bool:
        return any(u not in self.roles[client_id] for u in user_ids)

    def _draw_user(self, data: st.DataObject, label: str) -> UserId:
        return self.people[data.draw(st.sampled_from(CAST), label=label)]

    def _draw_task(self, data: st.DataObject) -> TaskId:
        """A live task most of the time, now and then one that was deleted (or never existed)."""
        known = sorted(self.model)
        return data.draw(st.sampled_from([*known, *known, self.gone_tasks[-1]]), label="task")

    def _draw_actor(self, data: st.DataObject, task_id: TaskId | None,
                    author: UserId | None = None) -> UserId:
        """Half the time someone who may write in the task's client (or the comment's author)."""
        anyone = st.sampled_from([self.people[w] for w in CAST])
        task = self.model.get(task_id) if task_id is not None else None
        if task is None:
            return data.draw(anyone, label="actor")
        writers = sorted(u for u, r in self.roles[task.client_id].items() if r.at_least(ClientRole.MEMBER))
        likely = [author, author, *writers] if author is not None else [task.created_by, *writers]
        return data.draw(st.sampled_from(likely) | anyone, label="actor")

    def _draw_assignees(self, data: st.DataObject, client_id: ClientId | None) -> list[UserId]:
        """Mostly the client's members (so edits succeed), sometimes anyone (InvalidInput)."""
        everyone = st.sampled_from([self.people[w] for w in CAST])
        members = st.sampled_from(sorted(self.roles[client_id])) if client_id in self.roles else everyone
        return data.draw(st.lists(members, max_size=4) | st.lists(everyone, max_size=4), label="assignees")

    # -- rules ---------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model) < 12)
    @rule(data=st.data(), name=cs.names(30), priority=cs.priorities(), task_type=cs.task_types(),
          due=cs.due_dates(), description=cs.descriptions())
    def create_task(self, data: st.DataObject, name: str, priority: Priority, task_type: TaskType,
                    due: datetime | None, description: str | None) -> None:
        actor = self._draw_user(data, "actor")
        client_id = data.draw(st.sampled_from([self.acme, self.globex]), label="client")
        assignees = self._draw_assignees(data, client_id)
        role = self._role(actor, client_id)
        expected: type[DomainError] | None = (
            NotFound if role is None else Forbidden if not role.at_least(ClientRole.MEMBER)
            else InvalidInput if self._strangers(client_id, assignees) else None)
        new = NewTask(client_id=client_id, name=name, task_type=task_type, priority=priority,
                      assignees=assignees, due_date=due, description=description)
        task = self.attempt(self.tasks.create(self.actors[actor], new), expected)
        if task is None:
            return
        unique = list(dict.fromkeys(assignees))
        assert (task.name, task.status, task.assignees, task.created_by, task.due_date) == (
            name, TaskStatus.PENDING, unique, actor, due)
        self.model[task.id] = ModelTask(task.id, client_id, name, actor, unique, priority, task_type,
                                        self.clock.now())
        if unique:
            self.expected_events.append(TaskAssigned(occurred_at=self.clock.now(), task_id=task.id,
                                                     client_id=client_id, assignees=tuple(unique), by=actor))

    @rule(data=st.data(), status=st.none() | cs.open_statuses(), name=st.none() | cs.names(30),
          priority=st.none() | cs.priorities(), change_assignees=st.booleans())
    def edit_task(self, data: st.DataObject, status: TaskStatus | None, name: str | None,
                  priority: Priority | None, change_assignees: bool) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        known = self.model.get(task_id)
        assignees = self._draw_assignees(data, known and known.client_id) if change_assignees else None
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            task = self.model[task_id]
            assert role is not None
            if not role.at_least(ClientRole.MEMBER):
                expected = Forbidden
            elif assignees is not None and self._strangers(task.client_id, assignees):
                expected = InvalidInput
            elif task.status.is_final:
                expected = Conflict
        changes = TaskChanges(name=name, priority=priority, status=status, assignees=assignees)
        result = self.attempt(self.tasks.update(self.actors[actor], task_id, changes), expected)
        if result is None:
            return
        task = self.model[task_id]
        task.name = name if name is not None else task.name
        task.priority = priority if priority is not None else task.priority
        task.status = status if status is not None else task.status
        if assignees is not None:
            unique = list(dict.fromkeys(assignees))
            added = [a for a in unique if a not in task.assignees]
            task.assignees = unique
            if added:
                self.expected_events.append(TaskAssigned(
                    occurred_at=self.clock.now(), task_id=task_id, client_id=task.client_id,
                    assignees=tuple(added), by=actor))
        assert (result.name, result.priority, result.status, result.assignees) == (
            task.name, task.priority, task.status, task.assignees)
        assert result.updated_at == self.clock.now()

    @rule(data=st.data(), complete=st.booleans())
    def finish_task(self, data: st.DataObject, complete: bool) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            assert role is not None
            expected = (Forbidden if not role.at_least(ClientRole.MEMBER)
                        else Conflict if self.model[task_id].status.is_final else None)
        action = self.tasks.complete if complete else self.tasks.cancel
        result = self.attempt(action(self.actors[actor], task_id), expected)
        if result is None:
            return
        task = self.model[task_id]
        task.status = TaskStatus.COMPLETED if complete else TaskStatus.CANCELLED
        assert (result.status, result.completed_by, result.completed_at) == (task.status, actor,
                                                                             self.clock.now())
        event_type = TaskCompleted if complete else TaskCancelled
        self.expected_events.append(event_type(occurred_at=self.clock.now(), task_id=task_id,
                                               client_id=task.client_id, by=actor))

    @rule(data=st.data())
    def delete_task(self, data: st.DataObject) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            assert role is not None
            is_creator = self.model[task_id].created_by == actor and role.at_least(ClientRole.MEMBER)
            expected = None if is_creator or role is ClientRole.ADMIN else Forbidden
        self.attempt(self.tasks.delete(self.actors[actor], task_id), expected)
        if expected is None:
            del self.model[task_id]
            self.gone_tasks.append(task_id)
            for comment_id in [c.id for c in self.comments.values() if c.task_id == task_id]:
                del self.comments[comment_id]
                self.gone_comments.append(comment_id)
        # Whatever happened, the task is gone or unchanged: check it directly.
        root = self.actors[self.people["root"]]
        self.attempt(self.tasks.get(root, task_id), None if task_id in self.model else NotFound)

    @rule(data=st.data(), text=cs.comment_texts())
    def add_comment(self, data: st.DataObject, text: str) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            assert role is not None
            expected = None if role.at_least(ClientRole.MEMBER) else Forbidden
        view = self.attempt(self.tasks.add_comment(self.actors[actor], task_id, text), expected)
        if view is None:
            return
        assert (view.task_id, view.user_id, view.comment) == (task_id, actor, text)
        assert (view.user_name, view.user_email) == self.names[actor]
        self.comments[view.id] = ModelComment(view.id, task_id, actor, text, self.clock.now())
        self.expected_events.append(CommentAdded(occurred_at=self.clock.now(), comment_id=view.id,
                                                 task_id=task_id, client_id=self.model[task_id].client_id,
                                                 by=actor))

    def _draw_comment(self, data: st.DataObject) -> CommentId:
        known = sorted(self.comments)
        return data.draw(st.sampled_from([*known, *known, self.gone_comments[-1]]), label="comment")

    def _comment_access(self, actor: UserId, comment_id: CommentId) -> tuple[type[DomainError] | None,
                                                                             ClientRole | None]:
        comment = self.comments.get(comment_id)
        if comment is None:
            return NotFound, None
        return self._task_access(actor, comment.task_id)

    @rule(data=st.data(), text=cs.comment_texts())
    def edit_comment(self, data: st.DataObject, text: str) -> None:
        comment_id = self._draw_comment(data)
        known = self.comments.get(comment_id)
        actor = self._draw_actor(data, known.task_id if known else None, known.author if known else None)
        expected, role = self._comment_access(actor, comment_id)
        if expected is None:
            assert role is not None
            is_author = self.comments[comment_id].author == actor
            expected = None if role.at_least(ClientRole.MEMBER) and is_author else Forbidden
        view = self.attempt(self.tasks.update_comment(self.actors[actor], comment_id, text), expected)
        if view is not None:
            assert (view.id, view.comment, view.updated_at) == (comment_id, text, self.clock.now())
            self.comments[comment_id].text = text

    @rule(data=st.data())
    def delete_comment(self, data: st.DataObject) -> None:
        comment_id = self._draw_comment(data)
        known = self.comments.get(comment_id)
        actor = self._draw_actor(data, known.task_id if known else None, known.author if known else None)
        expected, role = self._comment_access(actor, comment_id)
        if expected is None:
            assert role is not None
            is_author = self.comments[comment_id].author == actor and role.at_least(ClientRole.MEMBER)
            expected = None if is_author or role is ClientRole.ADMIN else Forbidden
        self.attempt(self.tasks.delete_comment(self.actors[actor], comment_id), expected)
        if expected is None:
            del self.comments[comment_id]
            self.gone_comments.append(comment_id)

    @rule(data=st.data(), role=st.sampled_from([ClientRole.MEMBER, ClientRole.VIEWER]))
    def change_acme_role(self, data: st.DataObject, role: ClientRole) -> None:
        who = self.people[data.draw(st.sampled_from(["member1", "member2", "viewer"]), label="who")]
        self.run(self.clients.change_member_role(self.actors[self.people["admin"]], self.acme, who, role))
        self.roles[self.acme][who] = role

    # -- invariants ----------------------------------------------------------------------------------

    def _listed(self, actor: UserId, status: TaskStatus | None) -> list[TaskId]:
        items: list[TaskId] = []
        number = 1
        while True:
            page = self.run(self.tasks.list(self.actors[actor], TaskFilters(status=status),
                                            PageRequest(number, 5), SortSpec()))
            items.extend(t.id for t in page.items)
            if len(page.items) < 5:
                assert page.total_items == len(items)
                return items
            number += 1

    def _expected_list(self, actor: UserId, status: TaskStatus | None) -> list[TaskId]:
        rows = [t for t in self.model.values()
                if (status is None or t.status is status) and self._role(actor, t.client_id) is not None]
        return [t.id for t in sorted(rows, key=lambda t: (t.created_at, t.id), reverse=True)]

    @invariant()
    def task_lists_match_the_model(self) -> None:
        if not self.people:
            return
        self.steps += 1
        root = self.people["root"]
        assert self._listed(root, None) == self._expected_list(root, None)
        # Each status filter in turn, and one ordinary user's view (only their clients' tasks).
        status = list(TaskStatus)[self.steps % 4]
        assert self._listed(root, status) == self._expected_list(root, status), status
        who = self.people[CAST[self.steps % 5]]
        assert self._listed(who, status) == self._expected_list(who, status)

    @invariant()
    def comments_match_the_model(self) -> None:
        if not self.people:
            return
        root = self.actors[self.people["root"]]
        # Every task with comments, and in turn one more (a task without any must list none).
        commented = {c.task_id for c in self.comments.values()}
        ordered_ids = sorted(self.model)
        if ordered_ids:
            commented.add(ordered_ids[self.steps % len(ordered_ids)])
        for task_id in sorted(commented):
            page = self.run(self.tasks.list_comments(root, task_id, PageRequest(1, 100)))
            expected = sorted((c for c in self.comments.values() if c.task_id == task_id),
                              key=lambda c: (c.created_at, c.id))
            assert [(v.id, v.user_id, v.comment, v.user_name) for v in page.items] == [
                (c.id, c.author, c.text, self.names[c.author][0]) for c in expected]

    @invariant()
    def events_match_the_model(self) -> None:
        assert self.notifier.events == self.expected_events


__all__ = ["MACHINE_SETTINGS", "SQL_MACHINE_SETTINGS", "AccountsMachine", "TasksMachine", "machine_settings",
           "storage_factory"]
