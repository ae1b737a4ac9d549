"""Clients, memberships and client roles."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import define, frozen

from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId, UserId

MAX_LOGO_LENGTH = 2048


class ClientRole(enum.StrEnum):
    """A user's role inside one client: admin manages it, member does the work, viewer reads."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: ClientRole) -> bool:
        return self.rank >= other.rank


_RANK = {ClientRole.VIEWER: 0, ClientRole.MEMBER: 1, ClientRole.ADMIN: 2}


@define
class Client:
    id: ClientId
    name: str
    logo: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


@define
class Membership:
    client_id: ClientId
    user_id: UserId
    role: ClientRole
    added_at: datetime


@frozen
class ClientView:
    """A client as one user sees it: with that user's role in it."""

    client: Client
    role: ClientRole


@frozen
class MemberView:
    """A membership joined with the member's user profile."""

    user_id: UserId
    email: str
    name: str
    role: ClientRole
    added_at: datetime


def check_logo(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    logo = raw.strip(" \t\r\n")
    if len(logo) > MAX_LOGO_LENGTH:
        raise InvalidInput({"logo": f"must be at most {MAX_LOGO_LENGTH} characters"})
    if not logo.startswith(("https://", "http://")):
        raise InvalidInput({"logo": "must be an http(s) URL"})
    return logo
