"""ClientsService with the in-memory storage: visibility, roles, members and the last-admin rule."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.auth.service import AuthService
from catalyst_core.changes import UNCHANGED
from catalyst_core.clients.model import ClientRole
from catalyst_core.clients.service import ClientChanges, ClientsService
from catalyst_core.errors import Conflict, Forbidden, InvalidInput, NotFound
from catalyst_core.ids import ClientId, UserId, sequential_ids
from catalyst_core.paging import Order, PageRequest, SortSpec

ALL = PageRequest(1, 100)
NEWEST = SortSpec()


class World:
    """Users (as actors) and the two services over one memory storage."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.clock = FrozenClock()
        ids = sequential_ids()
        self.auth = AuthService(self.storage, PasslibHasher.fast_for_tests(),
                                JwtTokenIssuer("unit-test-secret-that-is-long-enough-!!"), self.clock, ids)
        self.clients = ClientsService(self.storage, self.clock, ids)
        self.emails: dict[Actor, str] = {}

    async def user(self, name: str, *, admin: bool = False) -> Actor:
        role = GlobalRole.ADMIN if admin else GlobalRole.MEMBER
        user = await self.auth.register(f"{name.lower()}@example.com", "long enough pw", name, role=role)
        actor = Actor(user.id, user.role)
        self.emails[actor] = user.email
        return actor

    async def members(self, client_id: ClientId) -> dict[UserId, ClientRole]:
        async with self.storage.transaction(write=False) as tx:
            page = await tx.members.list(client_id, ALL, SortSpec("added_at", Order.ASC))
        return {m.user_id: m.role for m in page.items}

    async def visible(self, actor: Actor) -> dict[ClientId, ClientRole]:
        page = await self.clients.list(actor, ALL, NEWEST)
        return {v.client.id: v.role for v in page.items}


@pytest.fixture
async def w() -> World:
    return World()


@pytest.fixture
async def acme(w: World) -> dict[str, Any]:
    """Client Acme with an admin, a member and a viewer, and an outsider who belongs nowhere."""
    admin, member, viewer, outsider = [await w.user(n) for n in ("Admin", "Member", "Viewer", "Outsider")]
    view = await w.clients.create(admin, "Acme")
    await w.clients.add_member(admin, view.client.id, w.emails[member], ClientRole.MEMBER)
    await w.clients.add_member(admin, view.client.id, w.emails[viewer], ClientRole.VIEWER)
    return {"id": view.client.id, "admin": admin, "member": member, "viewer": viewer, "outsider": outsider}


async def test_create_makes_the_creator_admin(w: World) -> None:
    alice = await w.user("Alice")
    view = await w.clients.create(alice, "  Acme  ", "https://example.com/logo.png")
    assert view.role is ClientRole.ADMIN
    assert view.client.name == "Acme" and view.client.logo == "https://example.com/logo.png"
    assert view.client.is_active and view.client.created_at == view.client.updated_at == w.clock.now()
    assert await w.members(view.client.id) == {alice.user_id: ClientRole.ADMIN}
    assert await w.visible(alice) == {view.client.id: ClientRole.ADMIN}


async def test_create_rejects_bad_input_and_writes_nothing(w: World) -> None:
    alice = await w.user("Alice")
    with pytest.raises(InvalidInput) as err:
        await w.clients.create(alice, "", "ftp://nope")
    assert set(err.value.fields) == {"name", "logo"}
    assert await w.visible(alice) == {}


async def test_visibility(w: World, acme: dict[str, Any]) -> None:
    c = acme["id"]
    bob = await w.user("Bob")
    bobs = (await w.clients.create(bob, "Bob's")).client.id

    assert await w.visible(acme["admin"]) == {c: ClientRole.ADMIN}
    assert await w.visible(acme["member"]) == {c: ClientRole.MEMBER}
    assert await w.visible(acme["viewer"]) == {c: ClientRole.VIEWER}
    assert await w.visible(acme["outsider"]) == {}
    assert await w.visible(bob) == {bobs: ClientRole.ADMIN}

    expected = {"admin": ClientRole.ADMIN, "member": ClientRole.MEMBER, "viewer": ClientRole.VIEWER}
    for who, role in expected.items():
        assert (await w.clients.get(acme[who], c)).role is role
        assert await w.clients.role(acme[who], c) is role
        assert (await w.clients.list_members(acme[who], c, ALL, SortSpec("added_at"))).total_items == 3

    for call in (w.clients.get(acme["outsider"], c), w.clients.role(acme["outsider"], c),
                 w.clients.list_members(acme["outsider"], c, ALL, SortSpec("added_at")),
                 w.clients.get(acme["admin"], bobs),
                 w.clients.get(acme["admin"], ClientId(uuid.UUID(int=10**6)))):
        with pytest.raises(NotFound):
            await call


async def test_update_needs_admin(w: World, acme: dict[str, Any]) -> None:
    c = acme["id"]
    for who in ("member", "viewer"):
        with pytest.raises(Forbidden):
            await w.clients.update(acme[who], c, ClientChanges(name="Hijacked"))
    with pytest.raises(NotFound):
        await w.clients.update(acme["outsider"], c, ClientChanges(name="Hijacked"))
    assert (await w.clients.get(acme["admin"], c)).client.name == "Acme"


async def test_update_fields_and_logo_keep(w: World, acme: dict[str, Any]) -> None:
    c, admin = acme["id"], acme["admin"]
    w.clock.advance(hours=1)
    view = await w.clients.update(admin, c, ClientChanges(logo="https://example.com/1.png"))
    assert view.client.logo == "https://example.com/1.png" and view.client.updated_at == w.clock.now()
    view = await w.clients.update(admin, c, ClientChanges(name="Acme 2", logo=UNCHANGED, is_active=False))
    assert (view.client.name, view.client.logo, view.client.is_active) == ("Acme 2", "https://example.com/1.png",
                                                                           False)
    view = await w.clients.update(admin, c, ClientChanges(logo=None))
    assert view.client.logo is None and view.client.name == "Acme 2"
    with pytest.raises(InvalidInput) as err:
        await w.clients.update(admin, c, ClientChanges(logo="file:///etc/passwd"))
    assert set(err.value.fields) == {"logo"}
    stored = (await w.clients.get(admin, c)).client
    assert (stored.name, stored.logo, stored.is_active) == ("Acme 2", None, False)


async def test_add_member_rules(w: World, acme: dict[str, Any]) -> None:
    c = acme["id"]
    newcomer = await w.user("Newcomer")
    for who in ("member", "viewer"):
        with pytest.raises(Forbidden):
            await w.clients.add_member(acme[who], c, w.emails[newcomer], ClientRole.VIEWER)
    with pytest.raises(NotFound):
        await w.clients.add_member(acme["outsider"], c, w.emails[newcomer], ClientRole.VIEWER)
    with pytest.raises(NotFound):
        await w.clients.add_member(acme["admin"], c, "ghost@example.com", ClientRole.VIEWER)
    with pytest.raises(Conflict):
        await w.clients.add_member(acme["admin"], c, w.emails[acme["viewer"]].upper(), ClientRole.ADMIN)
    assert newcomer.user_id not in await w.members(c)
    assert (await w.members(c))[acme["viewer"].user_id] is ClientRole.VIEWER

    view = await w.clients.add_member(acme["admin"], c, " NEWCOMER@example.com", ClientRole.VIEWER)
    assert (view.user_id, view.email, view.name, view.role) == (newcomer.user_id, "newcomer@example.com",
                                                                "Newcomer", ClientRole.VIEWER)
    assert view.added_at == w.clock.now()
    assert (await w.members(c))[newcomer.user_id] is ClientRole.VIEWER


async def test_change_and_remove_need_admin(w: World, acme: dict[str, Any]) -> None:
    c, viewer = acme["id"], acme["viewer"]
    for who in ("member", "viewer"):
        with pytest.raises(Forbidden):
            await w.clients.change_member_role(acme[who], c, viewer.user_id, ClientRole.ADMIN)
        with pytest.raises(Forbidden):
            await w.clients.remove_member(acme[who], c, viewer.user_id)
    with pytest.raises(NotFound):
        await w.clients.remove_member(acme["outsider"], c, viewer.user_id)
    with pytest.raises(NotFound):
        await w.clients.remove_member(acme["admin"], c, acme["outsider"].user_id)
    assert (await w.members(c))[viewer.user_id] is ClientRole.VIEWER


async def test_last_admin_rule(w: World, acme: dict[str, Any]) -> None:
    c, admin, member = acme["id"], acme["admin"], acme["member"]
    for role in (ClientRole.MEMBER, ClientRole.VIEWER):
        with pytest.raises(Conflict):
            await w.clients.change_member_role(admin, c, admin.user_id, role)
    with pytest.raises(Conflict):
        await w.clients.remove_member(admin, c, admin.user_id)
    assert (await w.members(c))[admin.user_id] is ClientRole.ADMIN

    await w.clients.change_member_role(admin, c, member.user_id, ClientRole.ADMIN)
    await w.clients.change_member_role(admin, c, admin.user_id, ClientRole.MEMBER)
    assert (await w.members(c))[admin.user_id] is ClientRole.MEMBER
    with pytest.raises(Conflict):
        await w.clients.remove_member(member, c, member.user_id)
    await w.clients.remove_member(member, c, admin.user_id)
    assert await w.members(c) == {member.user_id: ClientRole.ADMIN, acme["viewer"].user_id: ClientRole.VIEWER}
    with pytest.raises(NotFound):
        await w.clients.get(admin, c)


async def test_platform_admin_acts_as_admin_everywhere(w: World, acme: dict[str, Any]) -> None:
    c = acme["id"]
    root = await w.user("Root", admin=True)
    other = (await w.clients.create(acme["outsider"], "Other")).client.id

    assert await w.visible(root) == {c: ClientRole.ADMIN, other: ClientRole.ADMIN}
    assert await w.clients.role(root, c) is ClientRole.ADMIN
    assert (await w.clients.update(root, c, ClientChanges(name="By Root"))).client.name == "By Root"
    await w.clients.add_member(root, c, w.emails[acme["outsider"]], ClientRole.VIEWER)
    await w.clients.change_member_role(root, c, acme["viewer"].user_id, ClientRole.MEMBER)
    # Acting as admin does not make root a member, so the client's own last admin is still protected.
    assert root.user_id not in await w.members(c)
    with pytest.raises(Conflict):
        await w.clients.remove_member(root, c, acme["admin"].user_id)
    with pytest.raises(NotFound):
        await w.clients.get(root, ClientId(uuid.UUID(int=10**6)))
    assert await w.members(c) == {acme["admin"].user_id: ClientRole.ADMIN,
                                  acme["member"].user_id: ClientRole.MEMBER,
                                  acme["viewer"].user_id: ClientRole.MEMBER,
                                  acme["outsider"].user_id: ClientRole.VIEWER}


async def test_list_paging_and_sorting(w: World) -> None:
    alice = await w.user("Alice")
    made = []
    for name in ("b", "C", "a", "d"):
        made.append((await w.clients.create(alice, name)).client.id)
        w.clock.advance(seconds=1)
    page = await w.clients.list(alice, PageRequest(2, 3), NEWEST)
    assert [v.client.id for v in page.items] == [made[0]]
    assert (page.total_items, page.total_pages, page.current_page) == (4, 2, 2)
    page = await w.clients.list(alice, PageRequest(1, 10), SortSpec("name", Order.ASC))
    assert [v.client.name for v in page.items] == ["a", "b", "C", "d"]
    assert (await w.clients.list(alice, PageRequest(5, 10), NEWEST)).items == []
    with pytest.raises(InvalidInput) as err:
        await w.clients.list(alice, ALL, SortSpec("logo"))
    assert set(err.value.fields) == {"sort"}
