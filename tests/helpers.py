"""Small helpers for HTTP tests: register, log in, make clients and members."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

API = "/api/v1"
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)  # where frozen clocks of the HTTP tests start
_counter = itertools.count(1)


class Caller:
    """A registered user with a token: `await alice.get("/tasks")` calls the API as her."""

    def __init__(self, client: TestClient, user: dict[str, Any], token: str, password: str) -> None:
        self.client, self.user, self.token, self.password = client, user, token, password

    @property
    def id(self) -> str:
        return self.user["id"]

    @property
    def email(self) -> str:
        return self.user["email"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = await self.client.request(method, API + path, headers=headers, **kwargs)
        return response.status, await response.json()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.call("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.call("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.call("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.call("DELETE", path, **kwargs)


async def register(client: TestClient, name: str | None = None, *, email: str | None = None,
                   password: str = "correct horse battery") -> Caller:
    n = next(_counter)
    name = name or f"User {n}"
    email = email or f"user{n}@example.com"
    r = await client.post(f"{API}/auth/register", json={"email": email, "password": password, "name": name})
    assert r.status == 201, await r.text()
    user = (await r.json())["data"]
    r = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert r.status == 200, await r.text()
    token = (await r.json())["data"]["access_token"]
    return Caller(client, user, token, password)


async def make_admin(client: TestClient, name: str = "Platform Admin") -> Caller:
    """A platform admin, created the way the CLI does it (through the auth service)."""
    from catalyst_core.auth.model import GlobalRole

    n = next(_counter)
    email, password = f"admin{n}@example.com", "admin password 1"
    await client.container.auth().register(email, password, name, role=GlobalRole.ADMIN)  # type: ignore[attr-defined]
    r = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    body = (await r.json())["data"]
    return Caller(client, body["user"], body["access_token"], password)


async def new_client(owner: Caller, name: str = "Acme") -> str:
    status, body = await owner.post("/clients", json={"name": name})
    assert status == 201, body
    return body["data"]["id"]


async def add_member(admin: Caller, client_id: str, who: Caller, role: str = "member") -> None:
    status, body = await admin.post(f"/clients/{client_id}/members", json={"email": who.email, "role": role})
    assert status == 201, body


async def team(client: TestClient) -> tuple[Caller, Caller, str]:
    """Alice, admin of a new client, and Bob, a member of it."""
    alice, bob = await register(client, "Alice"), await register(client, "Bob")
    client_id = await new_client(alice)
    await add_member(alice, client_id, bob)
    return alice, bob, client_id


class Cast:
    """A client's admin, member and viewer, an outsider (admin of a client of their own), and a
    platform admin: who the permission tests call as."""

    admin: Caller
    member: Caller
    viewer: Caller
    outsider: Caller
    platform: Caller
    client: str
    elsewhere: str  # the outsider's client


async def cast(client: TestClient, into: Cast | None = None) -> Cast:
    """Register the cast (into `into`, a subclass with more fields, when given)."""
    c = into if into is not None else Cast()
    c.admin, c.member = await register(client, "Admin"), await register(client, "Member")
    c.viewer, c.outsider = await register(client, "Viewer"), await register(client, "Outsider")
    c.platform = await make_admin(client)
    c.client = await new_client(c.admin)
    await add_member(c.admin, c.client, c.member)
    await add_member(c.admin, c.client, c.viewer, role="viewer")
    c.elsewhere = await new_client(c.outsider, "Elsewhere")
    return c
