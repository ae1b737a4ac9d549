"""No response and no log line ever carries a password, a password hash, a token or the signing
key: registration, logins that fail and succeed, password changes refused and done, malformed and
invalid bodies, forged and revoked tokens, with every logger captured at DEBUG."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from catalyst_adapters.security import JwtTokenIssuer
from tests.conftest import TEST_SECRET
from tests.helpers import API


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog with every logger known now at DEBUG, including ones that do not propagate."""
    caplog.set_level(logging.DEBUG)
    detached = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                logger.addHandler(caplog.handler)
                detached.append(logger)
    yield caplog
    for logger in detached:
        logger.removeHandler(caplog.handler)


def record_text(record: logging.LogRecord) -> str:
    """All a record carries: message, arguments, extra fields, exception and stack."""
    parts = [record.getMessage(), repr(record.args), repr(vars(record))]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


class Exchange:
    """Sends requests and keeps everything that came back (status, headers and body)."""

    def __init__(self, api: TestClient) -> None:
        self.api, self.seen, self.logins = api, [], []  # logins: the answers that hand out a token

    async def send(self, method: str, path: str, *, token: str | None = None, **kwargs: Any
                   ) -> tuple[int, Any]:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        r = await self.api.request(method, API + path, headers=headers, **kwargs)
        raw = (await r.read()).decode("utf-8", "replace")
        text = f"{r.status} {dict(r.headers)!r} {raw}"
        (self.logins if path == "/auth/login" and r.status == 200 else self.seen).append(text)
        try:
            return r.status, await r.json()
        except ValueError:
            return r.status, raw


async def test_no_password_hash_or_token_in_any_response_or_log(api: TestClient,
                                                                 every_log: Any) -> None:
    x = Exchange(api)
    pw = {name: f"{name}-Pässword-{uuid.uuid4().hex[:8]}" for name in (
        "first", "second", "wrong", "unknown", "dup", "refused", "malformed", "extra", "current")}
    email = "alice@example.com"

    status, _ = await x.send("POST", "/auth/register", json={"email": email, "password": pw["first"],
                                                             "name": "Alice"})
    assert status == 201
    for body in ({"email": email, "password": pw["dup"], "name": "Again"},  # 409
                 {"email": "bob@example.com", "password": "short", "name": "Bob"},  # 422
                 {"email": "not an email", "password": pw["refused"], "name": ""},  # 422
                 {"email": "c@example.com", "password": pw["extra"], "name": "C", "admin": True}):
        status, _ = await x.send("POST", "/auth/register", json=body)
        assert status in (409, 422), body
    status, _ = await x.send("POST", "/auth/register", data=f'{{"password": "{pw["malformed"]}"',
                             headers={"Content-Type": "application/json"})
    assert status == 400
    status, _ = await x.send("POST", "/auth/register", json=[pw["malformed"]])
    assert status in (400, 422)

    for who, password in ((email, pw["wrong"]), ("nobody@example.com", pw["unknown"]),
                          ("not an email", pw["unknown"])):
        status, _ = await x.send("POST", "/auth/login", json={"email": who, "password": password})
        assert status == 401
    status, reply = await x.send("POST", "/auth/login", json={"email": email, "password": pw["first"]})
    assert status == 200
    first_token = reply["data"]["access_token"]
    assert (await x.send("GET", "/users/me", token=first_token))[0] == 200

    for change, expected in (({"password": pw["second"], "current_password": pw["current"]}, 403),
                             ({"password": "short", "current_password": pw["first"]}, 422),
                             ({"password": pw["second"]}, 422),
                             ({"password": pw["second"], "current_password": pw["first"]}, 200)):
        status, reply = await x.send("PUT", "/users/me", token=first_token, json=change)
        assert status == expected, reply
    assert (await x.send("GET", "/users/me", token=first_token))[0] == 401  # revoked
    status, reply = await x.send("POST", "/auth/login", json={"email": email, "password": pw["second"]})
    assert status == 200
    second_token = reply["data"]["access_token"]

    ghost = JwtTokenIssuer(TEST_SECRET).issue(uuid.uuid4(), now=datetime.now(UTC)).token
    forged = JwtTokenIssuer("another-secret-that-is-long-enough-for-hs256").issue(
        uuid.UUID(reply["data"]["user"]["id"]), now=datetime.now(UTC)).token
    for token in (ghost, forged, second_token + "x", "garbage.token.here"):
        assert (await x.send("GET", "/clients", token=token))[0] == 401
    assert (await x.send("GET", "/no/such/route", token=second_token))[0] == 404
    assert (await x.send("DELETE", "/users/me", token=second_token))[0] == 405

    async with api.container.storage().transaction(write=False) as tx:  # type: ignore[attr-defined]
        stored_hash = (await tx.users.get_by_email(email)).password_hash
    dummy = api.container.auth()._dummy_hash  # type: ignore[attr-defined]
    secrets = {**pw, "stored hash": stored_hash, "dummy hash": dummy, "jwt key": TEST_SECRET}
    for name, token in (("first token", first_token), ("second token", second_token),
                        ("ghost token", ghost), ("forged token", forged)):
        secrets[name] = token
        secrets[f"{name} signature"] = token.rsplit(".", 1)[1]
    # A hash's digest alone is a secret too (the part after the last `$`).
    secrets["stored digest"] = stored_hash.rsplit("$", 1)[1]

    logs = [record_text(r) for r in every_log.records]
    assert logs, "nothing was logged at all: the capture is not working"
    assert len(x.logins) == 2 and len(x.seen) > 20
    for name, secret in secrets.items():
        assert secret, name
        # The login answer hands its own token out, and nothing else secret.
        for text in x.seen + ([] if "token" in name else x.logins):
            assert secret not in text, f"a response carries the {name}: {text[:500]}"
        for text in logs:
            assert secret not in text, f"a log record carries the {name}: {text[:500]}"
