"""Shapes of clients and members."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from catalyst_api.inputs import checked
from catalyst_core.auth.model import check_name, normalize_email
from catalyst_core.clients.model import ClientRole, ClientView, MemberView, check_logo

# The core's own checks, run while the body is read: one 422 names every bad field (see `checked`).
_NAME, _LOGO = checked(check_name), checked(check_logo)


@frozen
class CreateClientBody:
    name: str = field(metadata=_NAME)
    logo: str | None = field(default=None, metadata=_LOGO)


@frozen
class UpdateClientBody:
    name: str | None = field(default=None, metadata=_NAME)
    logo: str | None = field(default=None, metadata=_LOGO)
    is_active: bool | None = None


@frozen
class AddMemberBody:
    email: str = field(metadata=checked(normalize_email))
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
