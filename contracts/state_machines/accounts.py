"""The accounts machine: users, clients, members and roles, driven through AuthService and
ClientsService and compared with a plain model."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from attrs import define, field
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from catalyst_contracts import strategies as cs
from catalyst_contracts.state_machines.common import PASSWORD, ServiceMachine
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Conflict, DomainError, Forbidden, NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.paging import Order, PageRequest, SortSpec

T = TypeVar("T")


def _sorted_by(items: list[T], key: Callable[[T], Any], order: Order) -> list[T]:
    return sorted(items, key=key, reverse=order is Order.DESC)


EMAIL_POOL = ["ann@example.com", "Ann@Example.com", "bob@example.com", "carl@example.org",
              "dora@example.io", "eve@example.com", "fay@example.org"]


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

