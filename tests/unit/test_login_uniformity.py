"""A failed login looks and costs the same whatever failed: an unknown email (or one that is not an
email at all), a wrong password, a deactivated user. Checked by structure, not by timing: each
login makes exactly one hash verification, against a hash of the same scheme and cost as a real
user's, and none of them hashes anything (the dummy hash is made once, whoever logs in first)."""

from __future__ import annotations

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_core.auth.service import AuthService
from catalyst_core.errors import Unauthenticated
from catalyst_core.ids import sequential_ids

PASSWORD = "correct horse battery"


class RecordingHasher:
    """A real hasher that records what it is asked to do."""

    def __init__(self) -> None:
        self.inner = PasslibHasher(argon2__memory_cost=64, argon2__time_cost=2, argon2__parallelism=1)
        self.verified: list[str] = []  # the hashes verified against
        self.hashes = 0

    async def hash(self, password: str) -> str:
        self.hashes += 1
        return await self.inner.hash(password)

    async def verify(self, password: str, hashed: str) -> bool:
        self.verified.append(hashed)
        return await self.inner.verify(password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        return self.inner.needs_rehash(hashed)


def cost(argon2_hash: str) -> str:
    """`$argon2id$v=19$m=64,t=2,p=1$salt$digest` -> the scheme, version and costs."""
    return "$".join(argon2_hash.split("$")[:4])


async def setup() -> tuple[AuthService, RecordingHasher]:
    hasher = RecordingHasher()
    auth = AuthService(MemoryStorage(), hasher, JwtTokenIssuer("s" * 40), FrozenClock(),
                       sequential_ids())
    await auth.register("ada@example.com", PASSWORD, "Ada")
    await auth.register("off@example.com", PASSWORD, "Off")
    await auth.set_active("off@example.com", False)
    return auth, hasher


FAILURES = [("ghost@example.com", PASSWORD), ("not an email", PASSWORD), ("", ""),
            ("ada@example.com", "wrong password"), ("ADA@example.com ", "wrong password"),
            ("off@example.com", PASSWORD)]


@pytest.mark.parametrize("first", [FAILURES[0], FAILURES[3], ("ada@example.com", PASSWORD)])
async def test_every_failed_login_verifies_once_against_a_hash_of_the_same_cost(
        first: tuple[str, str]) -> None:
    auth, hasher = await setup()
    real = cost(hasher.inner.context.hash("x"))
    # Whichever login comes first makes the dummy hash (one hash, whatever its outcome).
    hashes_before = hasher.hashes
    try:
        await auth.login(*first)
    except Unauthenticated:
        pass
    assert hasher.hashes == hashes_before + 1

    answers = set()
    for email, password in FAILURES:
        hasher.verified.clear()
        hashes_before = hasher.hashes
        with pytest.raises(Unauthenticated) as caught:
            await auth.login(email, password)
        answers.add(caught.value.message)
        assert len(hasher.verified) == 1, (email, hasher.verified)
        assert cost(hasher.verified[0]) == real, (email, hasher.verified[0])
        assert hasher.hashes == hashes_before, email  # no hashing on any failure path
    assert len(answers) == 1, answers  # and one answer for all: nothing tells them apart

    hasher.verified.clear()
    await auth.login("ada@example.com", PASSWORD)
    assert len(hasher.verified) == 1 and cost(hasher.verified[0]) == real
