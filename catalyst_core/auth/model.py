"""Users and the actor: who is calling, with which platform-wide role."""

from __future__ import annotations

import enum
import re
from datetime import datetime

from attrs import define, frozen

from catalyst_core.errors import InvalidInput
from catalyst_core.ids import UserId

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 200


class GlobalRole(enum.StrEnum):
    """`admin` administers the platform and acts as admin in every client; registration makes members."""

    ADMIN = "admin"
    MEMBER = "member"


@define
class User:
    id: UserId
    email: str
    name: str
    password_hash: str
    role: GlobalRole
    is_active: bool
    created_at: datetime
    updated_at: datetime
    # Bumped by a password change or reset; a token carries the version it was issued under and
    # is refused once they differ. A counter, not a timestamp: a token issued in the same second
    # as the change (JWT `iat` has one-second granularity) is still judged exactly.
    token_version: int = 0


@frozen
class Actor:
    """The authenticated caller of a use case."""

    user_id: UserId
    role: GlobalRole = GlobalRole.MEMBER

    @property
    def is_platform_admin(self) -> bool:
        return self.role is GlobalRole.ADMIN


@frozen
class IssuedToken:
    token: str
    expires_in: int


@frozen
class TokenClaims:
    user_id: UserId
    token_id: str
    issued_at: datetime
    expires_at: datetime
    version: int = 0  # the user's token_version when it was issued (tokens without one: 0)


def normalize_email(raw: str, field: str = "email") -> str:
    """Emails compare case-insensitively; we keep them trimmed and lower-cased."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidInput({field: "must be a valid email address"})
    return email


def check_name(raw: str, field: str = "name", max_length: int = MAX_NAME_LENGTH) -> str:
    name = raw.strip()
    if not name:
        raise InvalidInput({field: "must not be empty"})
    if len(name) > max_length:
        raise InvalidInput({field: f"must be at most {max_length} characters"})
    return name


def check_password(raw: str, field: str = "password") -> str:
    if not MIN_PASSWORD_LENGTH <= len(raw) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            {field: f"must be between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters"}
        )
    return raw
