"""Bearer tokens that must not get in: `alg: none`, another key, another algorithm, expired, a
malformed header, a deactivated or deleted user, a token issued before a password change or reset.
Each is 401 in the error envelope with `WWW-Authenticate: Bearer`, on every authenticated route of
the app's router (not a hand-written list), over memory, SQLite and PostgreSQL storage."""

from __future__ import annotations

import base64
import json
import re
import uuid
import warnings
from datetime import timedelta
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.security import JwtTokenIssuer
from catalyst_api.middleware import PUBLIC_ROUTES
from tests.conftest import TEST_SECRET
from tests.helpers import API, START, register

OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256"


def b64(part: dict[str, Any] | bytes) -> str:
    raw = part if isinstance(part, bytes) else json.dumps(part).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(user_id: str, **changes: Any) -> dict[str, Any]:
    now = int(START.timestamp())
    return {"sub": user_id, "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex, "iss": "catalyst",
            **changes}


def quiet_encode(payload: dict[str, Any], algorithm: str) -> str:
    """The app's own key under a stronger algorithm than it uses (PyJWT warns the key is short)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(payload, TEST_SECRET, algorithm=algorithm)


def forged(user_id: str) -> dict[str, str]:
    """Tokens for a real user that the server must refuse, by what is wrong with them."""
    uid = uuid.UUID(user_id)
    good = claims(user_id)
    signed = JwtTokenIssuer(TEST_SECRET).issue(uid, now=START).token
    head, body, sig = signed.split(".")
    return {
        "alg-none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(good)}.",
        "alg-none-uppercase": f"{b64({'alg': 'NONE', 'typ': 'JWT'})}.{b64(good)}.",
        "alg-none-with-signature": f"{b64({'alg': 'none'})}.{b64(good)}.{sig}",
        "other-key": JwtTokenIssuer(OTHER_SECRET).issue(uid, now=START).token,
        # Algorithm confusion: the right key, but an algorithm the server does not use.
        "hs512-same-key": quiet_encode(good, algorithm="HS512"),
        "hs384-same-key": quiet_encode(good, algorithm="HS384"),
        "expired": JwtTokenIssuer(TEST_SECRET).issue(uid, now=START - timedelta(seconds=2_628_000)).token,
        "expired-by-one-second": jwt.encode(claims(user_id, exp=int(START.timestamp())), TEST_SECRET),
        "payload-swapped": f"{head}.{b64(claims(str(uuid.uuid4())))}.{sig}",
        "signature-stripped": f"{head}.{body}.",
        "no-sub": jwt.encode({k: v for k, v in good.items() if k != "sub"}, TEST_SECRET),
        "no-exp": jwt.encode({k: v for k, v in good.items() if k != "exp"}, TEST_SECRET),
        "exp-as-string": jwt.encode(claims(user_id, exp="9999999999"), TEST_SECRET),
        "exp-as-bool": jwt.encode(claims(user_id, exp=True), TEST_SECRET),
        "sub-not-a-uuid": jwt.encode(claims("alice"), TEST_SECRET),
        "another-issuer": jwt.encode(claims(user_id, iss="someone-else"), TEST_SECRET),
        "version-as-bool": jwt.encode(claims(user_id, ver=True), TEST_SECRET),
        "version-negative": jwt.encode(claims(user_id, ver=-1), TEST_SECRET),
        "version-ahead": jwt.encode(claims(user_id, ver=7), TEST_SECRET),
        "garbage": "not.a.token",
        "one-segment": "abcdef",
        "four-segments": f"{signed}.{sig}",
        "padding-added": f"{head}=.{body}.{sig}",
        "empty-segments": "..",
        "huge": "a" * 8_000,  # longer header lines are refused by aiohttp's parser (400)
    }


def malformed_headers(token: str) -> dict[str, dict[str, str]]:
    """Authorization headers around a GOOD token (or none) that are still not a bearer token."""
    return {
        "missing": {},
        "empty": {"Authorization": ""},
        "bearer-without-token": {"Authorization": "Bearer"},
        "bearer-and-spaces": {"Authorization": "Bearer    "},
        "token-without-scheme": {"Authorization": token},
        "basic-scheme": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        "scheme-glued-to-token": {"Authorization": f"Bearer{token}"},
        "two-tokens-space": {"Authorization": f"Bearer {token} {token}"},
        "two-tokens-comma": {"Authorization": f"Bearer {token}, Bearer {token}"},
        "garbage": {"Authorization": "Bearer !!garbage$$ <script>"},
        "non-ascii-token": {"Authorization": f"Bearer {token[:-2]}é€"},
        "non-ascii-scheme": {"Authorization": f"Bëarer {token}"},
        "token-in-quotes": {"Authorization": f'Bearer "{token}"'},
    }


async def expect_401(api: TestClient, method: str, path: str, headers: Any, why: str) -> None:
    r = await api.request(method, API + path, headers=headers, json={})
    body = await r.json()
    assert r.status == 401, (why, method, path, r.status, body)
    assert set(body) == {"status_code", "message", "detail"} and body["status_code"] == 401, why
    assert r.headers.get("WWW-Authenticate") == "Bearer", why


def authenticated_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path) of every API route that needs a token, placeholders filled with a fresh
    UUID: the token is judged before anything else, so no route may answer 404 or 422 first."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        if (resource is None or route.method in ("HEAD", "OPTIONS") or route.name in PUBLIC_ROUTES
                or not resource.canonical.startswith(API)):
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), resource.canonical[len(API):])
        found.append((route.method, path))
    assert len(found) > 20, found  # the router was read, not an empty list
    return found


async def test_every_forged_token_is_401_on_every_authenticated_route(api: TestClient,
                                                                      clock: FrozenClock) -> None:
    alice = await register(api, "Alice")
    # The control: a token made the same way with the app's key works, so each refusal below is
    # about what was changed in it.
    control = JwtTokenIssuer(TEST_SECRET).issue(uuid.UUID(alice.id), now=START).token
    r = await api.get(f"{API}/users/me", headers={"Authorization": f"Bearer {control}"})
    assert r.status == 200, await r.text()

    cases = {name: {"Authorization": f"Bearer {token}"} for name, token in forged(alice.id).items()}
    cases.update(malformed_headers(alice.token))
    routes = authenticated_routes(api.app)
    for name, headers in cases.items():
        for method, path in routes:
            await expect_401(api, method, path, headers, name)


async def test_two_authorization_headers_are_refused_even_when_both_are_good(api: TestClient) -> None:
    alice = await register(api, "Alice")
    from multidict import CIMultiDict

    both = CIMultiDict([("Authorization", f"Bearer {alice.token}"),
                        ("Authorization", f"Bearer {alice.token}")])
    await expect_401(api, "GET", "/users/me", both, "two headers")
    assert (await alice.get("/users/me"))[0] == 200  # one of them alone is fine


@pytest.mark.parametrize("raw", [b"Bearer \xff\xfe\xc3\x28.\xe2\x82.\x80", b"Bearer \x01\x02x.y.z",
                                 "Bearer é.€.ü".encode()])
async def test_raw_non_ascii_or_control_bytes_are_refused_not_a_crash(api: TestClient, raw: bytes) -> None:
    # Bytes no client library would send: written on the socket as they are.
    import asyncio

    assert api.server.host is not None and api.server.port is not None
    reader, writer = await asyncio.open_connection(api.server.host, api.server.port)
    writer.write(b"GET /api/v1/users/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 b"Authorization: " + raw + b"\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split()[1] in (b"400", b"401"), answer[:300]
    if b" 401 " in status_line:
        assert b'"status_code":401' in answer.replace(b" ", b"")


async def test_a_deactivated_user_is_401_everywhere_and_back_when_reactivated(
        api: TestClient, clock: FrozenClock) -> None:
    alice = await register(api, "Alice")
    auth = api.container.auth()  # type: ignore[attr-defined]
    await auth.set_active(alice.email, False)
    for method, path in authenticated_routes(api.app):
        await expect_401(api, method, path, alice.headers, "deactivated")
    await auth.set_active(alice.email, True)
    assert (await alice.get("/users/me"))[0] == 200


async def test_a_deleted_user_is_401_everywhere(api: TestClient, clock: FrozenClock) -> None:
    # Users are never deleted through the API; a token for an id no user has stands for one
    # removed by an operator, signed with the app's own key.
    ghost = JwtTokenIssuer(TEST_SECRET).issue(uuid.uuid4(), now=START).token
    for method, path in authenticated_routes(api.app):
        await expect_401(api, method, path, {"Authorization": f"Bearer {ghost}"}, "deleted user")


# -- revocation by a password change or reset -------------------------------------------------------

async def login(api: TestClient, email: str, password: str) -> str:
    r = await api.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert r.status == 200, await r.text()
    return (await r.json())["data"]["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def status_of(api: TestClient, token: str) -> int:
    return (await api.get(f"{API}/users/me", headers=bearer(token))).status


async def test_a_password_change_revokes_every_earlier_token_even_in_the_same_second(
        api: TestClient, clock: FrozenClock) -> None:
    alice, bob = await register(api, "Alice"), await register(api, "Bob")
    laptop = await login(api, alice.email, alice.password)
    # The clock does not move: the change happens in the same second as these logins, where a
    # timestamp comparison with JWT's one-second `iat` could not tell before from after.
    status, body = await alice.put("/users/me", json={"password": "a brand new password",
                                                       "current_password": alice.password})
    assert status == 200, body
    assert "password" not in json.dumps(body["data"])
    for token in (alice.token, laptop):
        assert await status_of(api, token) == 401
    fresh = await login(api, alice.email, "a brand new password")
    assert await status_of(api, fresh) == 200
    assert await status_of(api, bob.token) == 200  # someone else's tokens are untouched

    clock.advance(seconds=30)
    r = await api.put(f"{API}/users/me", headers=bearer(fresh),
                      json={"password": "and another one!", "current_password": "a brand new password"})
    assert r.status == 200
    assert await status_of(api, fresh) == 401
    assert await status_of(api, await login(api, alice.email, "and another one!")) == 200


async def test_changing_only_the_name_or_email_keeps_tokens(api: TestClient, clock: FrozenClock) -> None:
    alice = await register(api, "Alice")
    assert (await alice.put("/users/me", json={"name": "Alice B."}))[0] == 200
    status, _ = await alice.put("/users/me", json={"email": "alice.b@example.com",
                                                    "current_password": alice.password})
    assert status == 200
    assert await status_of(api, alice.token) == 200


async def test_a_refused_password_change_revokes_nothing(api: TestClient, clock: FrozenClock) -> None:
    alice = await register(api, "Alice")
    status, _ = await alice.put("/users/me", json={"password": "a brand new password",
                                                    "current_password": "not the password"})
    assert status == 403
    status, _ = await alice.put("/users/me", json={"password": "short",
                                                    "current_password": alice.password})
    assert status == 422
    assert await status_of(api, alice.token) == 200
    await login(api, alice.email, alice.password)


async def test_an_operator_reset_revokes_the_users_tokens(api: TestClient, clock: FrozenClock) -> None:
    alice, bob = await register(api, "Alice"), await register(api, "Bob")
    await api.container.auth().reset_password(alice.email.upper(), "reset by the operator")  # type: ignore[attr-defined]
    assert await status_of(api, alice.token) == 401
    assert await status_of(api, bob.token) == 200
    r = await api.post(f"{API}/auth/login", json={"email": alice.email, "password": alice.password})
    assert r.status == 401
    assert await status_of(api, await login(api, alice.email, "reset by the operator")) == 200


@pytest.mark.parametrize("email, password, fields", [
    ("nobody@example.com", "long enough password", None),
    ("not an email", "short", {"email", "password"}),
])
async def test_a_reset_of_no_one_or_with_bad_input_changes_nothing(
        api: TestClient, email: str, password: str, fields: set[str] | None) -> None:
    from catalyst_core.errors import InvalidInput, NotFound

    alice = await register(api, "Alice")
    with pytest.raises(InvalidInput if fields else NotFound) as caught:
        await api.container.auth().reset_password(email, password)  # type: ignore[attr-defined]
    if fields:
        assert set(caught.value.fields) == fields  # type: ignore[attr-defined]
    assert await status_of(api, alice.token) == 200
