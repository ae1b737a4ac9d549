"""Rate limits over HTTP: the X-RateLimit-* headers, 429 with Retry-After, limits per user, `0`
turning them off, failed-login limits per e-mail and per client address, Redis shared by several
apps or gone. The clock is frozen: windows end when a test moves it, never by sleeping."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from catalyst_adapters.clock import FrozenClock
from tests.helpers import API, START, Caller, register

RESET = int(START.timestamp()) + 3600  # START is on the hour: its window ends an hour later
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
REDIS_URL = os.environ.get("CATALYST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

ApiFactory = Callable[..., Awaitable[TestClient]]


async def limited_api(api_factory: ApiFactory, kind: str = "memory", **settings: Any
                      ) -> tuple[TestClient, FrozenClock]:
    client = await api_factory(kind, **settings)
    clock = FrozenClock(START)
    client.container.clock.override(clock)  # type: ignore[attr-defined]
    return client, clock


async def call(caller: Caller, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
    response = await caller.client.request(method, API + path, headers=caller.headers, **kwargs)
    return response.status, response.headers, await response.json()


def rate(headers: Any) -> tuple[int, int, int]:
    return tuple(int(headers[name]) for name in RATE_HEADERS)  # type: ignore[return-value]


async def login(client: TestClient, email: str, password: str) -> Any:
    return await client.post(f"{API}/auth/login", json={"email": email, "password": password})


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_every_authenticated_response_carries_the_headers_errors_included(
        api_factory: ApiFactory, kind: str) -> None:
    client, _ = await limited_api(api_factory, kind, rate_limit=10)
    alice = await register(client)  # registering and logging in are not counted
    status, headers, _ = await call(alice, "GET", "/users/me")
    assert status == 200 and rate(headers) == (10, 9, RESET)
    status, headers, body = await call(alice, "GET", f"/tasks/{uuid.uuid4()}")
    assert status == 404 and body["status_code"] == 404 and rate(headers) == (10, 8, RESET)
    status, headers, body = await call(alice, "POST", "/clients", json={"name": 7})
    assert status == 422 and rate(headers) == (10, 7, RESET)
    status, headers, _ = await call(alice, "GET", "/tasks?limit=1000")
    assert status == 422 and rate(headers) == (10, 6, RESET)
    # Without a user there is no quota to tell: no token, a bad token, public routes.
    for response in (await client.get(f"{API}/users/me"),
                     await client.get(f"{API}/users/me", headers={"Authorization": "Bearer nope"}),
                     await client.get(f"{API}/health"),
                     await login(client, alice.email, alice.password)):
        assert not any(name in response.headers for name in RATE_HEADERS), response.status


async def test_past_the_limit_is_429_in_the_envelope_with_retry_after(api_factory: ApiFactory) -> None:
    client, clock = await limited_api(api_factory, rate_limit=3)
    alice = await register(client)
    for remaining in (2, 1, 0):
        status, headers, _ = await call(alice, "GET", "/users/me")
        assert status == 200 and rate(headers) == (3, remaining, RESET)
    clock.advance(seconds=100)
    status, headers, body = await call(alice, "POST", "/clients", json={"name": "Acme"})
    assert status == 429
    assert body == {"status_code": 429, "message": "Too Many Requests", "detail": body["detail"]}
    assert "3 requests per hour" in body["detail"]
    assert headers["Retry-After"] == "3500"
    assert rate(headers) == (3, 0, RESET)
    # Refused means not done: once the window has passed, the client list is still empty.
    clock.set(START.replace(hour=START.hour + 1))
    status, headers, body = await call(alice, "GET", "/clients")
    assert status == 200 and body["data"]["total_items"] == 0
    assert rate(headers) == (3, 2, RESET + 3600)


async def test_users_are_counted_apart(api_factory: ApiFactory) -> None:
    client, _ = await limited_api(api_factory, rate_limit=2)
    alice, bob = await register(client), await register(client)
    for _ in range(3):
        await call(alice, "GET", "/users/me")
    assert (await call(alice, "GET", "/users/me"))[0] == 429
    status, headers, _ = await call(bob, "GET", "/users/me")
    assert status == 200 and rate(headers) == (2, 1, RESET)


async def test_a_limit_of_zero_turns_limiting_off(api_factory: ApiFactory) -> None:
    client, _ = await limited_api(api_factory, rate_limit=0)
    alice = await register(client)
    for _ in range(30):
        status, headers, _ = await call(alice, "GET", "/users/me")
        assert status == 200
        assert not any(name in headers for name in RATE_HEADERS)


# -- failed logins -------------------------------------------------------------------------------------

async def test_failed_logins_per_email_are_limited_and_the_window_lifts_it(api_factory: ApiFactory) -> None:
    client, clock = await limited_api(api_factory, login_limit_per_email=3, login_limit_per_ip=0,
                                      login_limit_window_seconds=900)
    alice, bob = await register(client), await register(client)
    for _ in range(3):
        assert (await login(client, alice.email, "wrong guess 1")).status == 401
    # From now on even the right password is refused: a guesser must not learn which guess was right.
    refused = await login(client, alice.email.upper(), alice.password)  # any spelling of the address
    assert refused.status == 429
    body = await refused.json()
    assert body["status_code"] == 429 and body["message"] == "Too Many Requests"
    assert refused.headers["Retry-After"] == "900"
    assert (await login(client, bob.email, bob.password)).status == 200  # others log in as usual
    clock.advance(seconds=900)
    assert (await login(client, alice.email, alice.password)).status == 200


async def test_successful_logins_are_not_counted(api_factory: ApiFactory) -> None:
    client, _ = await limited_api(api_factory, login_limit_per_email=2, login_limit_per_ip=2)
    alice = await register(client)
    for _ in range(10):
        assert (await login(client, alice.email, alice.password)).status == 200


async def test_failed_logins_per_client_address_are_limited(api_factory: ApiFactory) -> None:
    client, clock = await limited_api(api_factory, login_limit_per_email=0, login_limit_per_ip=4)
    alice = await register(client)
    # Four different addresses guessed from one client (the test client's 127.0.0.1).
    for i in range(4):
        assert (await login(client, f"nobody{i}@example.com", "a guess 123")).status == 401
    assert (await login(client, alice.email, alice.password)).status == 429
    assert (await login(client, "nobody9@example.com", "a guess 123")).status == 429
    clock.advance(seconds=900)
    assert (await login(client, alice.email, alice.password)).status == 200


async def test_failed_login_limits_are_not_the_request_quota(api_factory: ApiFactory) -> None:
    client, _ = await limited_api(api_factory, rate_limit=2, login_limit_per_email=5)
    alice = await register(client)
    for _ in range(3):
        await call(alice, "GET", "/users/me")  # her request quota is spent
    assert (await login(client, alice.email, alice.password)).status == 200


# -- Redis -----------------------------------------------------------------------------------------

async def _require_redis() -> None:
    from tests.contract.test_rate_limiters import _redis_reachable

    await _redis_reachable(REDIS_URL)


async def test_apps_sharing_redis_count_together(api_factory: ApiFactory) -> None:
    """Two apps over one storage and one Redis, as two server processes would be."""
    await _require_redis()
    first, _ = await limited_api(api_factory, rate_limit=4, redis_url=REDIS_URL)
    second = await api_factory("memory", rate_limit=4, redis_url=REDIS_URL)
    second.container.storage.override(first.container.storage())  # type: ignore[attr-defined]
    second.container.clock.override(first.container.clock())  # type: ignore[attr-defined]
    alice = await register(first)
    alice_there = Caller(second, alice.user, alice.token, alice.password)
    seen = []
    for caller in (alice, alice_there, alice, alice_there, alice):
        status, headers, _ = await call(caller, "GET", "/users/me")
        seen.append((status, headers.get("X-RateLimit-Remaining")))
    assert seen == [(200, "3"), (200, "2"), (200, "1"), (200, "0"), (429, "0")]


async def test_without_redis_the_api_keeps_serving(api_factory: ApiFactory) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    client, _ = await limited_api(api_factory, rate_limit=3, redis_url=dead)
    alice = await register(client)
    seen = [(await call(alice, "GET", "/users/me"))[:2] for _ in range(4)]
    assert [(status, headers["X-RateLimit-Remaining"]) for status, headers in seen] == [
        (200, "2"), (200, "1"), (200, "0"), (429, "0")]  # counted in the process meanwhile


# -- `catalyst serve --workers 2` without Redis ------------------------------------------------------

def _owner(pids: list[int], server_port: int, client_port: int) -> int | None:
    """Which of `pids` holds the server side of the connection from `client_port` (/proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":"), fields[2].split(":")
        if int(local[1], 16) == server_port and int(remote[1], 16) == client_port:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return pid
    return None


def _ask(conn: http.client.HTTPConnection, method: str, path: str, token: str | None = None,
         body: Any = None) -> tuple[int, Any, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, "/api/v1" + path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    return response.status, response.headers, json.loads(response.read())


@pytest.mark.skipif(sys.platform == "win32" or not Path("/proc/net/tcp").exists(),
                    reason="gunicorn and /proc: Linux")
def test_two_server_processes_count_one_limit(tmp_path: Path) -> None:
    from tests.unit.test_serve import _children, _free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env.update(CATALYST_DATA_DIR=str(tmp_path), CATALYST_LOG_LEVEL="WARNING", CATALYST_RATE_LIMIT="6",
               CATALYST_SCHEDULER="0")
    command = [sys.executable, "-m", "catalyst_api.cli"]
    subprocess.run([*command, "users", "create", "--email", "ops@example.com", "--name", "Ops",
                    "--password-stdin"], input=b"correct horse battery\n", env=env, check=True,
                   capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*command, "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    held: dict[int, http.client.HTTPConnection] = {}
    try:
        deadline = time.monotonic() + 60
        while len(_children(server.pid)) < 2 or not _healthy(port):
            assert server.poll() is None, server.communicate()[0].decode()
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        workers = _children(server.pid)
        # Open connections until each worker holds one: the kernel decides which accepts which.
        for _ in range(200):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            assert _ask(conn, "GET", "/health")[0] == 200
            owner = _owner(workers, port, conn.sock.getsockname()[1])
            if owner is not None and owner not in held:
                held[owner] = conn
            else:
                conn.close()
            if len(held) == 2:
                break
        assert len(held) == 2, "no connection reached the second worker"
        first, second = held.values()
        status, _, body = _ask(first, "POST", "/auth/login",
                               body={"email": "ops@example.com", "password": "correct horse battery"})
        assert status == 200, body
        token = body["data"]["access_token"]

        seen = []
        for conn in (first, second, first, second, first, second, first, second):
            status, headers, _ = _ask(conn, "GET", "/users/me", token)
            seen.append((status, headers["X-RateLimit-Remaining"]))
        # Counted per process, each would still have 3 left after three requests of its own.
        assert seen == [(200, "5"), (200, "4"), (200, "3"), (200, "2"), (200, "1"), (200, "0"),
                        (429, "0"), (429, "0")]
    finally:
        for conn in held.values():
            conn.close()
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
    assert "Traceback" not in output, output


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            return _ask(conn, "GET", "/health")[0] == 200
        finally:
            conn.close()
    except OSError:
        return False


@pytest.mark.parametrize("setting", [{"rate_limit": -1}, {"login_limit_per_ip": -5},
                                     {"login_limit_window_seconds": 0}])
def test_impossible_limits_fail_at_start(setting: dict[str, Any]) -> None:
    from catalyst_api.container import build_container
    from catalyst_api.settings import Settings
    from tests.conftest import TEST_SECRET

    with pytest.raises(ValueError):
        build_container(Settings(database_url="memory", data_dir=Path("unused"), jwt_secret=TEST_SECRET,
                                 **setting))


def test_the_limits_are_read_from_the_environment() -> None:
    from catalyst_api.settings import Settings

    default = Settings.from_env({})
    assert (default.rate_limit, default.redis_url, default.login_limit_per_email,
            default.login_limit_per_ip, default.login_limit_window_seconds) == (1000, None, 10, 50, 900)
    chosen = Settings.from_env({"CATALYST_RATE_LIMIT": "0", "CATALYST_REDIS_URL": "redis://r:6379/1",
                                "CATALYST_LOGIN_LIMIT_PER_EMAIL": "3", "CATALYST_LOGIN_LIMIT_PER_IP": "0",
                                "CATALYST_LOGIN_LIMIT_WINDOW_SECONDS": "60"})
    assert (chosen.rate_limit, chosen.redis_url, chosen.login_limit_per_email,
            chosen.login_limit_per_ip, chosen.login_limit_window_seconds) == (0, "redis://r:6379/1", 3, 0, 60)
