"""Shapes of registration, login and the caller's profile."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from catalyst_api.inputs import checked
from catalyst_core.auth.model import User, check_name, check_password, normalize_email
from catalyst_core.auth.service import LoginResult

# The core's own checks, run while the body is read: one 422 names every bad field (see `checked`).
_EMAIL, _PASSWORD, _NAME = checked(normalize_email), checked(check_password), checked(check_name)


@frozen
class RegisterBody:
    email: str = field(metadata=_EMAIL)
    password: str = field(metadata=_PASSWORD)
    name: str = field(metadata=_NAME)


@frozen
class LoginBody:
    # Not checked: a login with a malformed email is simply a wrong login (401, as for any other).
    email: str
    password: str


@frozen
class UpdateMeBody:
    name: str | None = field(default=None, metadata=_NAME)
    email: str | None = field(default=None, metadata=_EMAIL)
    password: str | None = field(default=None, metadata=_PASSWORD)
    current_password: str | None = None


def present_user(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "is_active": user.is_active, "created_at": user.created_at, "updated_at": user.updated_at}


def present_login(result: LoginResult) -> dict[str, Any]:
    user = result.user
    return {
        "access_token": result.token.token,
        "token_type": "bearer",
        "expires_in": result.token.expires_in,
        "user": {"id": user.id, "email": user.email, "name": user.name, "role": user.role},
    }
