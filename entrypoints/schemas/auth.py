"""Shapes of registration, login and the caller's profile."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from catalyst_core.auth.model import User
from catalyst_core.auth.service import LoginResult


@frozen
class RegisterBody:
    email: str
    password: str
    name: str


@frozen
class LoginBody:
    email: str
    password: str


@frozen
class UpdateMeBody:
    name: str | None = None
    email: str | None = None
    password: str | None = None
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
