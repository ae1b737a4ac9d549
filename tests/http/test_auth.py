"""Registration, login and bearer-token authentication over HTTP (memory and SQLite storage)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from catalyst_adapters.security import JwtTokenIssuer
from tests.conftest import TEST_SECRET
from tests.helpers import API, register

UTC_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


async def post(api: TestClient, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    r = await api.post(API + path, **kwargs)
    return r.status, await r.json()


async def login(api: TestClient, email: str, password: str) -> tuple[int, dict[str, Any]]:
    return await post(api, "/auth/login", json={"email": email, "password": password})


async def user_by_email(api: TestClient, email: str) -> Any:
    async with api.container.storage().transaction(write=False) as tx:  # type: ignore[attr-defined]
        return await tx.users.get_by_email(email)


def fields_of(body: dict[str, Any]) -> set[str]:
    assert isinstance(body["detail"], list), body
    for issue in body["detail"]:
        assert set(issue) == {"field", "message"} and issue["message"], issue
    return {issue["field"] for issue in body["detail"]}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# -- register ------------------------------------------------------------------------------------

async def test_register_returns_the_user_with_email_lower_cased(api: TestClient) -> None:
    status, body = await post(api, "/auth/register",
                              json={"email": "  Ada.Lovelace@Example.COM ", "password": "analytical engine",
                                    "name": "Ada Lovelace"})
    assert status == 201, body
    assert body["status_code"] == 201 and body["message"]
    user = body["data"]
    assert set(user) == {"id", "email", "name", "role", "is_active", "created_at", "updated_at"}
    uuid.UUID(user["id"])
    assert user["email"] == "ada.lovelace@example.com"
    assert user["name"] == "Ada Lovelace"
    assert user["role"] == "member"
    assert user["is_active"] is True
    assert UTC_STAMP.match(user["created_at"]) and UTC_STAMP.match(user["updated_at"])
    assert "password" not in json.dumps(body) and "hash" not in json.dumps(body)

    # The stored email is the normalised one, so any spelling of it logs in.
    status, _ = await login(api, "ADA.lovelace@example.com", "analytical engine")
    assert status == 200


@pytest.mark.parametrize("second_email", ["dup@example.com", "DUP@Example.com"])
async def test_register_duplicate_email_is_409(api: TestClient, second_email: str) -> None:
    await register(api, email="dup@example.com", password="first password")
    status, body = await post(api, "/auth/register",
                              json={"email": second_email, "password": "second password", "name": "Other"})
    assert status == 409, body
    assert body["status_code"] == 409 and "detail" in body and "data" not in body
    # The first registration is untouched: its password still works, the second does not.
    assert (await login(api, "dup@example.com", "first password"))[0] == 200
    assert (await login(api, "dup@example.com", "second password"))[0] == 401
    assert (await user_by_email(api, "dup@example.com")).name != "Other"


@pytest.mark.parametrize(
    ("payload", "offending"),
    [
        ({"password": "long enough pw", "name": "N"}, {"email"}),
        ({"email": "a@example.com"}, {"password", "name"}),
        ({"email": "a@example.com", "password": True, "name": 5}, {"password", "name"}),
        ({"email": 7, "password": "long enough pw", "name": "N"}, {"email"}),
        ({"email": "a@example.com", "password": "long enough pw", "name": "N", "role": "admin"}, {"role"}),
        ({"email": "not-an-email", "password": "long enough pw", "name": "N"}, {"email"}),
        ({"email": "a@example.com", "password": "short", "name": "N"}, {"password"}),
        ({"email": "a@example.com", "password": "long enough pw", "name": "   "}, {"name"}),
        # Every offending field is named, not only the first one checked.
        ({"email": "nope", "password": "short", "name": ""}, {"email", "password", "name"}),
        ({"email": "a@example.com", "password": None, "name": "N"}, {"password"}),
    ],
)
async def test_register_invalid_body_is_422_naming_each_field(api: TestClient, payload: dict[str, Any],
                                                              offending: set[str]) -> None:
    status, body = await post(api, "/auth/register", json=payload)
    assert status == 422, body
    assert body["status_code"] == 422
    assert fields_of(body) == offending
    # Nothing was written: no user under that email exists.
    assert await user_by_email(api, "a@example.com") is None


async def test_register_extra_role_field_cannot_make_an_admin(api: TestClient) -> None:
    status, _ = await post(api, "/auth/register",
                           json={"email": "sneaky@example.com", "password": "long enough pw", "name": "S",
                                 "role": "admin"})
    assert status == 422
    assert await user_by_email(api, "sneaky@example.com") is None


@pytest.mark.parametrize(
    ("raw", "status"),
    [(b"{not json", 400), (b"", 400), (b"\xff\xfe", 400),
     # JSON that is not an object is a validation error naming the body (DESIGN.md section 4)
     (b"[1, 2]", 422), (b'"a string"', 422), (b"null", 422)],
    ids=["malformed", "empty", "not-utf8", "array", "string", "null"],
)
async def test_register_unparseable_or_non_object_body_is_refused(api: TestClient, raw: bytes,
                                                                  status: int) -> None:
    r = await api.post(f"{API}/auth/register", data=raw, headers={"Content-Type": "application/json"})
    body = await r.json()
    assert r.status == status, body
    assert body["status_code"] == status and body["message"] and body["detail"]


async def test_register_then_login_full_cycle(api: TestClient) -> None:
    status, reg = await post(api, "/auth/register",
                             json={"email": "grace@example.com", "password": "cobol rules", "name": "Grace"})
    assert status == 201
    status, body = await login(api, "grace@example.com", "cobol rules")
    assert status == 200, body
    assert body["status_code"] == 200 and body["message"] == "Login successful"
    data = body["data"]
    assert set(data) == {"access_token", "token_type", "expires_in", "user"}
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 2_628_000
    assert data["user"] == {"id": reg["data"]["id"], "email": "grace@example.com", "name": "Grace",
                            "role": "member"}
    r = await api.get(f"{API}/users/me", headers={"Authorization": f"Bearer {data['access_token']}"})
    assert r.status == 200
    assert (await r.json())["data"]["id"] == reg["data"]["id"]


# -- login ---------------------------------------------------------------------------------------

async def test_wrong_password_and_unknown_email_get_identical_401(api: TestClient) -> None:
    await register(api, email="known@example.com", password="the right one")
    r1 = await api.post(f"{API}/auth/login", json={"email": "known@example.com", "password": "the wrong one"})
    r2 = await api.post(f"{API}/auth/login", json={"email": "ghost@example.com", "password": "the right one"})
    r3 = await api.post(f"{API}/auth/login", json={"email": "not even an email", "password": "whatever1"})
    bodies = [await r.json() for r in (r1, r2, r3)]
    assert [r.status for r in (r1, r2, r3)] == [401, 401, 401]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["status_code"] == 401 and "data" not in bodies[0]


async def test_login_body_is_validated(api: TestClient) -> None:
    status, body = await post(api, "/auth/login", json={"email": "a@example.com"})
    assert status == 422 and fields_of(body) == {"password"}
    status, body = await post(api, "/auth/login", json={"email": "a@example.com", "password": 12345678})
    assert status == 422 and fields_of(body) == {"password"}
    r = await api.post(f"{API}/auth/login", data=b"{", headers={"Content-Type": "application/json"})
    assert r.status == 400


async def test_deactivated_user_cannot_log_in_nor_use_an_old_token(api: TestClient) -> None:
    alice = await register(api, "Alice")
    assert (await alice.get("/users/me"))[0] == 200
    await api.container.auth().set_active(alice.email, False)  # type: ignore[attr-defined]

    status, body = await login(api, alice.email, alice.password)
    assert status == 401, body
    # Same answer as a wrong password: a deactivated account is not revealed.
    _, wrong = await login(api, alice.email, "not the password")
    assert body == wrong

    status, body = await alice.get("/users/me")
    assert status == 401 and body["status_code"] == 401

    await api.container.auth().set_active(alice.email, True)  # type: ignore[attr-defined]
    assert (await alice.get("/users/me"))[0] == 200
    assert (await login(api, alice.email, alice.password))[0] == 200


def _forged_tokens(user_id: str) -> dict[str, str]:
    uid = uuid.UUID(user_id)
    now = datetime.now(UTC)
    other_key = JwtTokenIssuer("another-secret-that-is-long-enough-for-hs256").issue(uid, now=now).token
    expired = JwtTokenIssuer(TEST_SECRET).issue(uid, now=now - timedelta(seconds=2_628_001)).token
    claims = {"sub": user_id, "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 3600,
              "jti": uuid.uuid4().hex, "iss": "catalyst"}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    unsigned_with_sig = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.{b64({'x': 1})}"
    return {"other-key": other_key, "expired": expired, "alg-none": unsigned,
            "alg-none-with-signature": unsigned_with_sig, "garbage": "not.a.token",
            "random": "abcdef"}


async def test_bad_tokens_are_401_with_www_authenticate(api: TestClient) -> None:
    alice = await register(api, "Alice")
    # The control: a token made the same way with the app's own key and a current time works,
    # so each rejection below is about what was changed, not about how the token was made.
    good = JwtTokenIssuer(TEST_SECRET).issue(uuid.UUID(alice.id), now=datetime.now(UTC)).token
    r = await api.get(f"{API}/users/me", headers={"Authorization": f"Bearer {good}"})
    assert r.status == 200

    headers_to_try = {name: {"Authorization": f"Bearer {token}"}
                      for name, token in _forged_tokens(alice.id).items()}
    headers_to_try["missing"] = {}
    headers_to_try["basic-scheme"] = {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    headers_to_try["token-without-scheme"] = {"Authorization": alice.token}
    headers_to_try["empty-bearer"] = {"Authorization": "Bearer "}
    for name, headers in headers_to_try.items():
        r = await api.get(f"{API}/users/me", headers=headers)
        body = await r.json()
        assert r.status == 401, (name, body)
        assert body["status_code"] == 401 and body["message"] and "data" not in body, name
        assert r.headers.get("WWW-Authenticate") == "Bearer", name


async def test_token_of_a_deleted_user_is_401(api: TestClient) -> None:
    ghost = JwtTokenIssuer(TEST_SECRET).issue(uuid.uuid4(), now=datetime.now(UTC)).token
    r = await api.get(f"{API}/users/me", headers={"Authorization": f"Bearer {ghost}"})
    assert r.status == 401


async def test_bearer_scheme_is_case_insensitive(api: TestClient) -> None:
    alice = await register(api)
    r = await api.get(f"{API}/users/me", headers={"Authorization": f"bearer {alice.token}"})
    assert r.status == 200


async def test_protected_routes_need_a_token_but_public_ones_do_not(api: TestClient) -> None:
    for method, path in [("GET", "/clients"), ("POST", "/clients"), ("GET", "/users/me"),
                         ("PUT", "/users/me"), ("GET", f"/clients/{uuid.uuid4()}/members")]:
        r = await api.request(method, API + path, json={})
        assert r.status == 401, (method, path)
        assert r.headers.get("WWW-Authenticate") == "Bearer"
    r = await api.get(f"{API}/health")
    assert r.status == 200
