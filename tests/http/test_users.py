"""The signed-in user's profile: GET and PUT /users/me."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.helpers import API, Caller, register


async def login(api: TestClient, email: str, password: str) -> int:
    r = await api.post(f"{API}/auth/login", json={"email": email, "password": password})
    return r.status


def fields_of(body: dict[str, Any]) -> set[str]:
    assert isinstance(body["detail"], list), body
    return {issue["field"] for issue in body["detail"]}


async def test_get_me_returns_the_callers_profile(api: TestClient) -> None:
    alice = await register(api, "Alice")
    await register(api, "Bob")
    status, body = await alice.get("/users/me")
    assert status == 200
    assert body["status_code"] == 200
    assert body["data"] == alice.user  # the same shape and values as registration answered


async def test_change_name_only(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.put("/users/me", json={"name": "  Alice Cooper  "})
    assert status == 200, body
    assert body["data"]["name"] == "Alice Cooper"
    assert body["data"]["email"] == alice.email
    assert body["data"]["created_at"] == alice.user["created_at"]
    assert body["data"]["updated_at"] >= alice.user["updated_at"]
    assert (await alice.get("/users/me"))[1]["data"]["name"] == "Alice Cooper"
    # An empty body changes nothing and is fine.
    status, body = await alice.put("/users/me", json={})
    assert status == 200 and body["data"]["name"] == "Alice Cooper"


async def test_email_change_needs_the_current_password(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.put("/users/me", json={"email": "new-alice@example.com"})
    assert status == 422, body
    assert fields_of(body) == {"current_password"}

    status, body = await alice.put("/users/me", json={"email": "new-alice@example.com",
                                                      "current_password": "not my password"})
    assert status == 403, body
    assert body["status_code"] == 403

    # Neither attempt changed anything.
    assert (await alice.get("/users/me"))[1]["data"]["email"] == alice.email

    status, body = await alice.put("/users/me", json={"email": "New-Alice@Example.com",
                                                      "current_password": alice.password})
    assert status == 200, body
    assert body["data"]["email"] == "new-alice@example.com"
    assert await login(api, "new-alice@example.com", alice.password) == 200
    assert await login(api, alice.email, alice.password) == 401
    # The old token still names the same user, who now has the new email.
    assert (await alice.get("/users/me"))[1]["data"]["email"] == "new-alice@example.com"


async def test_setting_the_same_email_needs_no_password(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.put("/users/me", json={"email": alice.email.upper(), "name": "A"})
    assert status == 200, body
    assert body["data"]["email"] == alice.email and body["data"]["name"] == "A"


async def test_new_email_taken_is_409(api: TestClient) -> None:
    alice = await register(api, "Alice")
    bob = await register(api, "Bob")
    status, body = await alice.put("/users/me", json={"email": bob.email.upper(), "name": "Renamed",
                                                      "current_password": alice.password})
    assert status == 409, body
    assert body["status_code"] == 409
    me = (await alice.get("/users/me"))[1]["data"]
    assert me["email"] == alice.email and me["name"] == "Alice"  # nothing of the request was applied
    assert await login(api, bob.email, bob.password) == 200


async def test_password_change(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.put("/users/me", json={"password": "a brand new secret"})
    assert status == 422 and fields_of(body) == {"current_password"}
    status, _ = await alice.put("/users/me", json={"password": "a brand new secret",
                                                   "current_password": "wrong wrong"})
    assert status == 403
    assert await login(api, alice.email, alice.password) == 200

    status, body = await alice.put("/users/me", json={"password": "a brand new secret",
                                                      "current_password": alice.password})
    assert status == 200, body
    assert "password" not in body["data"]
    assert await login(api, alice.email, alice.password) == 401
    assert await login(api, alice.email, "a brand new secret") == 200


async def test_update_me_validation(api: TestClient) -> None:
    alice = await register(api, "Alice")
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"name": ""}, {"name"}),
        ({"name": 12}, {"name"}),
        ({"role": "admin"}, {"role"}),
        ({"is_active": False}, {"is_active"}),
        ({"email": "nope", "current_password": alice.password}, {"email"}),
        ({"password": "short", "current_password": alice.password}, {"password"}),
        ({"email": "nope", "password": "short", "current_password": alice.password}, {"email", "password"}),
    ]
    for payload, offending in cases:
        status, body = await alice.put("/users/me", json=payload)
        assert status == 422, (payload, body)
        assert fields_of(body) == offending, payload
    me = (await alice.get("/users/me"))[1]["data"]
    assert me == {**alice.user, "updated_at": me["updated_at"]}
    assert me["role"] == "member" and me["is_active"] is True
    assert await login(api, alice.email, alice.password) == 200

    status, _ = await alice.put("/users/me", data=b"{oops", headers={"Content-Type": "application/json"})
    assert status == 400


async def test_users_only_change_themselves(api: TestClient) -> None:
    alice = await register(api, "Alice")
    bob = await register(api, "Bob")
    await alice.put("/users/me", json={"name": "Alice 2"})
    other: Caller = bob
    assert (await other.get("/users/me"))[1]["data"]["name"] == "Bob"


async def test_update_me_refuses_null_for_fields_that_cannot_be_cleared(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.put("/users/me", json={"name": None, "password": None})
    assert status == 422, body
    assert {d["field"] for d in body["detail"]} == {"name", "password"}
    status, me = await alice.get("/users/me")
    assert me["data"]["name"] == "Alice"
