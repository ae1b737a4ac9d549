"""Use cases of clients and their members."""

from __future__ import annotations

from attrs import frozen

from catalyst_core.access import require, role_in
from catalyst_core.alerts.service import default_alerts
from catalyst_core.auth.model import Actor, check_name, normalize_email
from catalyst_core.changes import UNCHANGED, Unchanged
from catalyst_core.clients.model import (
    Client,
    ClientRole,
    ClientView,
    Membership,
    MemberView,
    check_logo,
)
from catalyst_core.errors import Conflict, NotFound, check_each
from catalyst_core.ids import ClientId, IdFactory, UserId
from catalyst_core.paging import Page, PageRequest, SortSpec
from catalyst_core.ports import Clock, Storage, Transaction

CLIENT_SORT_FIELDS = ("created_at", "updated_at", "name")
MEMBER_SORT_FIELDS = ("added_at", "name", "email")


@frozen
class ClientChanges:
    name: str | None = None
    logo: str | Unchanged | None = UNCHANGED
    is_active: bool | None = None


class ClientsService:
    def __init__(self, storage: Storage, clock: Clock, ids: IdFactory) -> None:
        self.storage, self.clock, self.ids = storage, clock, ids

    async def list(self, actor: Actor, page: PageRequest, sort: SortSpec) -> Page[ClientView]:
        sort = sort.checked(CLIENT_SORT_FIELDS)
        visible_to = None if actor.is_platform_admin else actor.user_id
        async with self.storage.transaction(write=False) as tx:
            return await tx.clients.list_visible(visible_to, page, sort, default_role=ClientRole.ADMIN)

    async def create(self, actor: Actor, name: str, logo: str | None = None) -> ClientView:
        """The creator becomes the client's first admin."""
        name, logo = check_each((check_name, name), (check_logo, logo))
        now = self.clock.now()
        client = Client(id=ClientId(self.ids()), name=name, logo=logo,
                        is_active=True, created_at=now, updated_at=now)
        async with self.storage.transaction() as tx:
            await tx.clients.add(client)
            await tx.members.add(Membership(client.id, actor.user_id, ClientRole.ADMIN, now))
            # Every client starts with the default alerts (high CPLPV, high CPL, low CTR).
            await tx.alerts.add_many(default_alerts(client.id, actor.user_id, now, self.ids))
        return ClientView(client, ClientRole.ADMIN)

    async def get(self, actor: Actor, client_id: ClientId) -> ClientView:
        async with self.storage.transaction(write=False) as tx:
            role = await role_in(tx, actor, client_id)
            client = await self._client(tx, client_id)
        return ClientView(client, role)

    async def role(self, actor: Actor, client_id: ClientId) -> ClientRole:
        async with self.storage.transaction(write=False) as tx:
            return await role_in(tx, actor, client_id)

    async def update(self, actor: Actor, client_id: ClientId, changes: ClientChanges) -> ClientView:
        name, logo = check_each((check_name, changes.name),
                                (lambda v: v if v is UNCHANGED else check_logo(v), changes.logo))
        async with self.storage.transaction() as tx:
            role = await role_in(tx, actor, client_id)
            require(role, ClientRole.ADMIN, "changing a client")
            client = await self._client(tx, client_id)
            if name is not None:
                client.name = name
            if logo is not UNCHANGED:
                client.logo = logo
            if changes.is_active is not None:
                client.is_active = changes.is_active
            client.updated_at = self.clock.now()
            await tx.clients.save(client)
        return ClientView(client, role)

    async def list_members(self, actor: Actor, client_id: ClientId, page: PageRequest,
                           sort: SortSpec) -> Page[MemberView]:
        sort = sort.checked(MEMBER_SORT_FIELDS)
        async with self.storage.transaction(write=False) as tx:
            await role_in(tx, actor, client_id)
            return await tx.members.list(client_id, page, sort)

    async def add_member(self, actor: Actor, client_id: ClientId, email: str,
                         role: ClientRole) -> MemberView:
        email = normalize_email(email)
        async with self.storage.transaction() as tx:
            require(await role_in(tx, actor, client_id), ClientRole.ADMIN, "adding members")
            user = await tx.users.get_by_email(email)
            if user is None:
                raise NotFound("no registered user has this email")
            membership = Membership(client_id, user.id, role, self.clock.now())
            await tx.members.add(membership)
        return MemberView(user.id, user.email, user.name, role, membership.added_at)

    async def change_member_role(self, actor: Actor, client_id: ClientId, user_id: UserId,
                                 role: ClientRole) -> MemberView:
        async with self.storage.transaction() as tx:
            membership = await self._managed_membership(tx, actor, client_id, user_id)
            if membership.role is ClientRole.ADMIN and role is not ClientRole.ADMIN:
                await self._keep_an_admin(tx, client_id)
            membership.role = role
            await tx.members.save(membership)
            user = await tx.users.get(user_id)
        assert user is not None  # memberships reference users (foreign key)
        return MemberView(user.id, user.email, user.name, role, membership.added_at)

    async def remove_member(self, actor: Actor, client_id: ClientId, user_id: UserId) -> None:
        async with self.storage.transaction() as tx:
            membership = await self._managed_membership(tx, actor, client_id, user_id)
            if membership.role is ClientRole.ADMIN:
                await self._keep_an_admin(tx, client_id)
            await tx.members.remove(client_id, user_id)

    async def _managed_membership(self, tx: Transaction, actor: Actor, client_id: ClientId,
                                  user_id: UserId) -> Membership:
        require(await role_in(tx, actor, client_id), ClientRole.ADMIN, "managing members")
        # Lock the client so two admins demoting each other cannot both pass the last-admin check.
        await tx.clients.get(client_id, for_update=True)
        membership = await tx.members.get(client_id, user_id)
        if membership is None:
            raise NotFound("member not found")
        return membership

    @staticmethod
    async def _keep_an_admin(tx: Transaction, client_id: ClientId) -> None:
        if await tx.members.count_admins(client_id) <= 1:
            raise Conflict("a client must keep at least one admin")

    @staticmethod
    async def _client(tx: Transaction, client_id: ClientId) -> Client:
        client = await tx.clients.get(client_id)
        if client is None:
            raise NotFound("client not found")
        return client
