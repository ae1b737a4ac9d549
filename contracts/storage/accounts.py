"""The storage contract for accounts: users, clients and members."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from catalyst_contracts.storage.helpers import (
    ALL,
    every_page,
    ids,
    ordered,
    put,
    read,
)
from catalyst_contracts.strategies import (
    at,
    make_client,
    make_membership,
    make_user,
    new_id,
)
from catalyst_core.clients.model import Client, ClientRole, ClientView, MemberView
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.paging import Order, Page, PageRequest, SortSpec


class AccountsContract:
    """Users (unique emails, copies in and out), clients (visibility, sorting, paging) and members
    (roles, admins, sorting). Needs an async fixture `storage`."""

    # -- users ---------------------------------------------------------------------------------------

    async def test_user_add_then_get_and_get_by_email(self, storage: Any) -> None:
        user = make_user(name="Ada Lovelace")
        await put(storage, user)
        assert await read(storage, lambda tx: tx.users.get(user.id)) == user
        assert await read(storage, lambda tx: tx.users.get_by_email(user.email)) == user

    async def test_user_get_returns_none_when_absent(self, storage: Any) -> None:
        await put(storage, make_user(email="someone@example.com"))
        assert await read(storage, lambda tx: tx.users.get(UserId(new_id()))) is None
        assert await read(storage, lambda tx: tx.users.get_by_email("nobody@example.com")) is None

    async def test_user_emails_are_stored_as_given(self, storage: Any) -> None:
        user = make_user(email="Mixed.Case@Example.com")
        await put(storage, user)
        assert (await read(storage, lambda tx: tx.users.get(user.id))).email == "Mixed.Case@Example.com"
        assert await read(storage, lambda tx: tx.users.get_by_email("Mixed.Case@Example.com")) == user

    async def test_user_duplicate_email_on_add_is_conflict(self, storage: Any) -> None:
        first = make_user(email="taken@example.com")
        await put(storage, first)
        with pytest.raises(Conflict):
            await put(storage, make_user(email="taken@example.com"))
        assert await read(storage, lambda tx: tx.users.get_by_email("taken@example.com")) == first

    async def test_user_duplicate_id_on_add_is_conflict(self, storage: Any) -> None:
        first = make_user()
        await put(storage, first)
        with pytest.raises(Conflict):
            await put(storage, make_user(id=first.id))

    async def test_user_save_changes_fields(self, storage: Any) -> None:
        user = make_user()
        await put(storage, user)
        user.name, user.email, user.is_active = "Renamed", "renamed@example.com", False
        user.updated_at = at(60)
        async with storage.transaction() as tx:
            await tx.users.save(user)
        assert await read(storage, lambda tx: tx.users.get(user.id)) == user
        assert await read(storage, lambda tx: tx.users.get_by_email("renamed@example.com")) == user

    async def test_user_token_version_starts_at_zero_and_is_saved(self, storage: Any) -> None:
        # Authentication compares a token's version with this one on every request: a save that
        # dropped it would revive the tokens a password change revoked.
        user = make_user()
        await put(storage, user)
        assert (await read(storage, lambda tx: tx.users.get(user.id))).token_version == 0
        for expected in (1, 2, 2**31 - 1):  # the SQL column is a 32-bit integer
            user.token_version = expected
            async with storage.transaction() as tx:
                await tx.users.save(user)
            assert (await read(storage, lambda tx: tx.users.get(user.id))).token_version == expected
            assert (await read(storage, lambda tx: tx.users.get_by_email(user.email))).token_version \
                == expected

    async def test_user_save_with_another_users_email_is_conflict(self, storage: Any) -> None:
        first, second = make_user(email="first@example.com"), make_user(email="second@example.com")
        await put(storage, first, second)
        second.email = "first@example.com"
        with pytest.raises(Conflict):
            async with storage.transaction() as tx:
                await tx.users.save(second)
        assert (await read(storage, lambda tx: tx.users.get(second.id))).email == "second@example.com"

    async def test_user_save_keeping_own_email_is_fine(self, storage: Any) -> None:
        user = make_user()
        await put(storage, user)
        user.name = "Same email"
        async with storage.transaction() as tx:
            await tx.users.save(user)
        assert (await read(storage, lambda tx: tx.users.get(user.id))).name == "Same email"

    async def test_users_are_copied_in_and_out(self, storage: Any) -> None:
        user = make_user(name="Original")
        original = copy.deepcopy(user)
        async with storage.transaction() as tx:
            await tx.users.add(user)
            user.name = "Mutated after add"
            fetched = await tx.users.get(user.id)
            assert fetched == original
            fetched.name = "Mutated after get"
        got = await read(storage, lambda tx: tx.users.get(user.id))
        assert got == original
        got.name = "Mutated again"
        assert await read(storage, lambda tx: tx.users.get_by_email(user.email)) == original

    # -- clients -------------------------------------------------------------------------------------

    async def test_client_add_get_save(self, storage: Any) -> None:
        client = make_client(name="Acme", logo="https://example.com/logo.png")
        await put(storage, client)
        assert await read(storage, lambda tx: tx.clients.get(client.id)) == client
        assert await read(storage, lambda tx: tx.clients.get(client.id, for_update=True)) == client
        client.name, client.logo, client.is_active, client.updated_at = "Acme 2", None, False, at(9)
        async with storage.transaction() as tx:
            await tx.clients.save(client)
        assert await read(storage, lambda tx: tx.clients.get(client.id)) == client
        assert await read(storage, lambda tx: tx.clients.get(ClientId(new_id()))) is None

    async def test_clients_are_copied_in_and_out(self, storage: Any) -> None:
        client = make_client(name="Original")
        original = copy.deepcopy(client)
        await put(storage, client)
        client.name = "Mutated after add"
        got = await read(storage, lambda tx: tx.clients.get(client.id))
        assert got == original
        got.name = "Mutated after get"
        page = await read(storage, lambda tx: tx.clients.list_visible(None, ALL, SortSpec(),
                                                                      default_role=ClientRole.ADMIN))
        assert [v.client for v in page.items] == [original]

    async def test_list_visible_all_and_per_user(self, storage: Any) -> None:
        user, other = make_user(), make_user()
        c1, c2, c3 = (make_client(created_at=at(i)) for i in (1, 2, 3))
        await put(storage, user, other, c1, c2, c3, make_membership(c1, user, ClientRole.VIEWER),
                  make_membership(c3, user, ClientRole.ADMIN), make_membership(c2, other, ClientRole.MEMBER))

        everything = await read(storage, lambda tx: tx.clients.list_visible(
            None, ALL, SortSpec("created_at", Order.ASC), default_role=ClientRole.MEMBER))
        assert everything.items == [ClientView(c, ClientRole.MEMBER) for c in (c1, c2, c3)]
        assert everything.total_items == 3

        mine = await read(storage, lambda tx: tx.clients.list_visible(
            user.id, ALL, SortSpec("created_at", Order.ASC), default_role=ClientRole.MEMBER))
        assert mine.items == [ClientView(c1, ClientRole.VIEWER), ClientView(c3, ClientRole.ADMIN)]
        assert mine.total_items == 2

        nobody = await read(storage, lambda tx: tx.clients.list_visible(
            UserId(new_id()), ALL, SortSpec(), default_role=ClientRole.ADMIN))
        assert nobody.items == [] and nobody.total_items == 0

    @pytest.mark.parametrize("field", ["created_at", "updated_at", "name"])
    @pytest.mark.parametrize("order", list(Order))
    async def test_list_visible_sorts_with_ties_broken_by_id(self, storage: Any, field: str,
                                                             order: Order) -> None:
        user = make_user()
        names = ["beta", "Alpha", "alpha", "Gamma", "beta", "ÉCLAIR", "delta"]
        clients = [make_client(name=n, created_at=at(i // 2), updated_at=at(50 - i // 3))
                   for i, n in enumerate(names)]
        await put(storage, user, *clients, *[make_membership(c, user) for c in clients[::2]])
        keys: dict[str, Callable[[Client], Any]] = {
            "created_at": lambda c: c.created_at, "updated_at": lambda c: c.updated_at,
            "name": lambda c: c.name.casefold()}
        sort = SortSpec(field, order)

        got = await every_page(lambda p: read(storage, lambda tx: tx.clients.list_visible(
            None, p, sort, default_role=ClientRole.ADMIN)), limit=3)
        assert ids(v.client for v in got) == ids(ordered(clients, keys[field], lambda c: c.id, order))

        got = await every_page(lambda p: read(storage, lambda tx: tx.clients.list_visible(
            user.id, p, sort, default_role=ClientRole.ADMIN)), limit=2)
        assert ids(v.client for v in got) == ids(ordered(clients[::2], keys[field], lambda c: c.id, order))
        assert {v.role for v in got} == {ClientRole.MEMBER}

    async def test_list_visible_paging(self, storage: Any) -> None:
        clients = [make_client(created_at=at(i)) for i in range(5)]
        await put(storage, *clients)
        newest_first = list(reversed(clients))

        async def page(n: int, limit: int) -> Page[ClientView]:
            return await read(storage, lambda tx: tx.clients.list_visible(
                None, PageRequest(n, limit), SortSpec(), default_role=ClientRole.ADMIN))

        first = await page(1, 2)
        assert [v.client for v in first.items] == newest_first[:2]
        assert (first.total_items, first.total_pages, first.current_page) == (5, 3, 1)
        last = await page(3, 2)
        assert [v.client for v in last.items] == newest_first[4:]
        assert last.total_items == 5
        past = await page(4, 2)
        assert list(past.items) == [] and past.total_items == 5
        far = await page(50, 10)
        assert list(far.items) == [] and far.total_items == 5

    # -- members -------------------------------------------------------------------------------------

    async def test_member_add_get_save_remove(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        membership = make_membership(client, user, ClientRole.VIEWER, at(5))
        await put(storage, user, client, membership)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) == membership
        membership.role = ClientRole.ADMIN
        async with storage.transaction() as tx:
            await tx.members.save(membership)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) == membership
        async with storage.transaction() as tx:
            await tx.members.remove(client.id, user.id)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) is None

    async def test_member_add_duplicate_is_conflict(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client, make_membership(client, user, ClientRole.ADMIN))
        with pytest.raises(Conflict):
            await put(storage, make_membership(client, user, ClientRole.VIEWER))
        assert (await read(storage, lambda tx: tx.members.get(client.id, user.id))).role is ClientRole.ADMIN

    async def test_member_add_with_unknown_client_or_user_is_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        with pytest.raises(NotFound):
            await put(storage, make_membership(ClientId(new_id()), user))
        with pytest.raises(NotFound):
            await put(storage, make_membership(client, UserId(new_id())))
        page = await read(storage, lambda tx: tx.members.list(client.id, ALL, SortSpec("added_at")))
        assert list(page.items) == []

    async def test_member_save_and_remove_missing_are_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.members.save(make_membership(client, user))
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.members.remove(client.id, user.id)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) is None

    async def test_count_admins(self, storage: Any) -> None:
        users = [make_user() for _ in range(4)]
        acme, globex = make_client(), make_client()
        await put(storage, *users, acme, globex,
                  make_membership(acme, users[0], ClientRole.ADMIN),
                  make_membership(acme, users[1], ClientRole.ADMIN),
                  make_membership(acme, users[2], ClientRole.MEMBER),
                  make_membership(globex, users[3], ClientRole.VIEWER),
                  make_membership(globex, users[0], ClientRole.ADMIN))
        assert await read(storage, lambda tx: tx.members.count_admins(acme.id)) == 2
        assert await read(storage, lambda tx: tx.members.count_admins(globex.id)) == 1
        assert await read(storage, lambda tx: tx.members.count_admins(ClientId(new_id()))) == 0

    async def test_non_members_keeps_the_given_order(self, storage: Any) -> None:
        users = [make_user() for _ in range(5)]
        client, other = make_client(), make_client()
        await put(storage, *users, client, other, make_membership(client, users[1]),
                  make_membership(client, users[3]), make_membership(other, users[4]))
        stranger = UserId(new_id())
        query = [users[4].id, users[3].id, stranger, users[0].id, users[1].id, users[2].id]
        got = await read(storage, lambda tx: tx.members.non_members(client.id, query))
        assert got == [users[4].id, stranger, users[0].id, users[2].id]
        assert await read(storage, lambda tx: tx.members.non_members(client.id, [])) == []
        assert await read(storage, lambda tx: tx.members.non_members(client.id, [users[1].id])) == []

    @pytest.mark.parametrize("field", ["added_at", "name", "email"])
    @pytest.mark.parametrize("order", list(Order))
    async def test_member_list_sorts_and_pages(self, storage: Any, field: str, order: Order) -> None:
        names = ["zoe", "Adam", "adam", "Émile", "bob", "Bob", "carl"]
        users = [make_user(name=n, email=f"m{(i * 5) % 7}-{new_id().hex[:6]}@example.com")
                 for i, n in enumerate(names)]
        client, other = make_client(), make_client()
        roles = list(ClientRole)
        memberships = [make_membership(client, u, roles[i % 3], at(i // 2)) for i, u in enumerate(users)]
        await put(storage, *users, client, other, *memberships, make_membership(other, users[0]))
        views = [MemberView(u.id, u.email, u.name, m.role, m.added_at) for u, m in zip(users, memberships,
                                                                                          strict=True)]
        keys: dict[str, Callable[[MemberView], Any]] = {
            "added_at": lambda v: v.added_at, "name": lambda v: v.name.casefold(), "email": lambda v: v.email}
        expected = ordered(views, keys[field], lambda v: v.user_id, order)
        got = await every_page(lambda p: read(storage, lambda tx: tx.members.list(
            client.id, p, SortSpec(field, order))), limit=3)
        assert got == expected
        first = await read(storage, lambda tx: tx.members.list(client.id, PageRequest(1, 3),
                                                               SortSpec(field, order)))
        assert (first.total_items, first.total_pages) == (7, 3)
        past = await read(storage, lambda tx: tx.members.list(client.id, PageRequest(4, 3),
                                                              SortSpec(field, order)))
        assert list(past.items) == [] and past.total_items == 7

