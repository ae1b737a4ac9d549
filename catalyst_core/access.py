"""Visibility and role checks shared by every client-scoped use case.

A client the actor does not belong to is NotFound (as if it did not exist); belonging with too small
a role is Forbidden. Platform admins act as admins in every client."""

from __future__ import annotations

from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Forbidden, NotFound
from catalyst_core.ids import ClientId
from catalyst_core.ports import Transaction


async def role_in(tx: Transaction, actor: Actor, client_id: ClientId) -> ClientRole:
    """The actor's role in the client; NotFound when the actor may not see it."""
    if actor.is_platform_admin:
        if await tx.clients.get(client_id) is None:
            raise NotFound("client not found")
        return ClientRole.ADMIN
    membership = await tx.members.get(client_id, actor.user_id)
    if membership is None:
        raise NotFound("client not found")
    return membership.role


async def role_over(tx: Transaction, actor: Actor, client_id: ClientId, missing: str) -> ClientRole:
    """role_in for a resource of the client: NotFound(`missing`) names the resource, not its client,
    when the actor may not see it (so nobody learns that it exists)."""
    try:
        return await role_in(tx, actor, client_id)
    except NotFound:
        raise NotFound(missing) from None


def require(role: ClientRole, at_least: ClientRole, action: str) -> None:
    if not role.at_least(at_least):
        raise Forbidden(f"{action} needs the {at_least.value} role in this client")


async def require_role(tx: Transaction, actor: Actor, client_id: ClientId, at_least: ClientRole,
                       action: str) -> ClientRole:
    role = await role_in(tx, actor, client_id)
    require(role, at_least, action)
    return role
