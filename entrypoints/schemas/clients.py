"""Shapes of clients and members."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from catalyst_core.clients.model import ClientRole, ClientView, MemberView


@frozen
class CreateClientBody:
    name: str
    logo: str | None = None


@frozen
class UpdateClientBody:
    name: str | None = None
    logo: str | None = None
    is_active: bool | None = None




@frozen
class AddMemberBody:
    email: str
    role: ClientRole


@frozen
class UpdateMemberBody:
    role: ClientRole


def present_client(view: ClientView) -> dict[str, Any]:
    c = view.client
    return {"id": c.id, "name": c.name, "logo": c.logo, "is_active": c.is_active, "role": view.role,
            "created_at": c.created_at, "updated_at": c.updated_at}


def present_member(m: MemberView) -> dict[str, Any]:
    return {"user_id": m.user_id, "email": m.email, "name": m.name, "role": m.role,
            "added_at": m.added_at}
