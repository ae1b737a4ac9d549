"""Properties of the passlib hasher and the PyJWT token issuer."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_core.errors import Unauthenticated
from catalyst_core.ids import UserId

SECRET = "s" * 32
OTHER_SECRET = "o" * 32
LIFETIME = 2_628_000
NOW = datetime(2024, 5, 17, 12, 30, 15, 250_000, tzinfo=UTC)

FAST = PasslibHasher.fast_for_tests()

passwords = st.text(min_size=8, max_size=64)
user_ids = st.uuids().map(UserId)
# Aware UTC instants across a wide span, with microseconds, so `iat` truncation is exercised.
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
hash_settings = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(coro):
    # Hypothesis drives sync test functions; each example gets a short-lived loop.
    return asyncio.run(coro)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(user_id: uuid.UUID, iat: int, **extra) -> dict:
    return {"sub": str(user_id), "iat": iat, "exp": iat + 60, "jti": uuid.uuid4().hex, "iss": "catalyst",
            **extra}


issuer = JwtTokenIssuer(SECRET)


# --- hashing --------------------------------------------------------------------------------


@hash_settings
@given(password=passwords)
def test_hash_round_trip(password: str) -> None:
    hashed = run(FAST.hash(password))
    assert hashed != password
    assert run(FAST.verify(password, hashed))
    assert not FAST.needs_rehash(hashed)


@hash_settings
@given(password=passwords, other=passwords)
def test_other_password_does_not_verify(password: str, other: str) -> None:
    assume(password != other)
    assert not run(FAST.verify(other, run(FAST.hash(password))))


@hash_settings
@given(password=passwords, garbage=st.text(max_size=120) | st.sampled_from([
    "$argon2id$v=19$m=8,t=1,p=1$xx",
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$",
    "$2b$12$abcdefghijklmnopqrstuu",  # a bcrypt config string, not a hash
    # A well-formed bcrypt hash: False whether or not the bcrypt backend is installed.
    "$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m",
    "$1$abc$def",
]))
def test_verify_of_garbage_hash_is_false(password: str, garbage: str) -> None:
    assert run(FAST.verify(password, garbage)) is False
    assert FAST.needs_rehash(garbage) in (True, False)  # answers, never raises


async def test_hash_differs_each_time_and_runs_off_the_loop() -> None:
    first, second = await asyncio.gather(FAST.hash("correct horse"), FAST.hash("correct horse"))
    assert first != second  # salted
    assert await FAST.verify("correct horse", first)
    assert await FAST.verify("correct horse", second)


async def test_default_hasher_is_argon2id_and_weak_hashes_need_rehash() -> None:
    default = PasslibHasher()
    hashed = await default.hash("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert await default.verify("a long enough password", hashed)
    assert not default.needs_rehash(hashed)
    # A hash made with the tiny test costs is below the default policy: upgrade it at next login.
    assert default.needs_rehash(await FAST.hash("a long enough password"))


# --- tokens ---------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(user_id=user_ids, now=instants)
def test_token_round_trip(user_id: UserId, now: datetime) -> None:
    issued = issuer.issue(user_id, now=now)
    assert issued.expires_in == LIFETIME
    claims = issuer.verify(issued.token, now=now)
    assert claims.user_id == user_id
    assert claims.issued_at == now.replace(microsecond=0)
    assert claims.expires_at == claims.issued_at + timedelta(seconds=LIFETIME)
    assert claims.issued_at.tzinfo is not None and claims.expires_at.tzinfo is not None
    assert len(claims.token_id) == 32


def test_token_ids_are_unique_and_claims_are_ints() -> None:
    user_id = UserId(uuid.uuid4())
    tokens = [issuer.issue(user_id, now=NOW).token for _ in range(20)]
    payloads = [jwt.decode(t, SECRET, algorithms=["HS256"], options={"verify_exp": False}) for t in tokens]
    assert len({p["jti"] for p in payloads}) == 20
    for p in payloads:
        assert set(p) == {"sub", "iat", "exp", "jti", "iss"}
        assert type(p["iat"]) is int and type(p["exp"]) is int
        assert p["sub"] == str(user_id) and p["iss"] == "catalyst"


TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ !"


@settings(max_examples=300, deadline=None)
@given(user_id=user_ids, data=st.data())
def test_any_single_character_change_is_rejected(user_id: UserId, data: st.DataObject) -> None:
    token = issuer.issue(user_id, now=NOW).token
    position = data.draw(st.integers(0, len(token) - 1), label="position")
    replacement = data.draw(st.sampled_from(TOKEN_ALPHABET).filter(lambda c: c != token[position]))
    tampered = token[:position] + replacement + token[position + 1:]
    with pytest.raises(Unauthenticated):
        issuer.verify(tampered, now=NOW)


@pytest.mark.parametrize("segment", [1, 2])
def test_last_character_spare_bits_are_not_a_loophole(segment: int) -> None:
    # The last base64 character carries spare bits; flipping only those keeps the decoded bytes.
    # Older PyJWT releases accepted such a token; the issuer insists on the canonical spelling.
    token = issuer.issue(UserId(uuid.uuid4()), now=NOW).token
    parts = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = parts[segment][-1]
    for candidate in alphabet:
        if candidate == last:
            continue
        parts_copy = list(parts)
        parts_copy[segment] = parts[segment][:-1] + candidate
        with pytest.raises(Unauthenticated):
            issuer.verify(".".join(parts_copy), now=NOW)


@settings(max_examples=30, deadline=None)
@given(user_id=user_ids, now=instants)
def test_token_signed_with_another_key_is_rejected(user_id: UserId, now: datetime) -> None:
    foreign = JwtTokenIssuer(OTHER_SECRET).issue(user_id, now=now).token
    with pytest.raises(Unauthenticated, match="signature"):
        issuer.verify(foreign, now=now)


def test_alg_none_is_rejected() -> None:
    iat = int(NOW.timestamp())
    unsigned = jwt.encode(claims_for(uuid.uuid4(), iat), key=None, algorithm="none")
    assert unsigned.endswith(".")
    with pytest.raises(Unauthenticated):
        issuer.verify(unsigned, now=NOW)
    # By hand, with a dummy signature so the malformed-token guard is not what rejects it.
    header = b64({"alg": "none", "typ": "JWT"})
    by_hand = f"{header}.{b64(claims_for(uuid.uuid4(), iat))}.AAAA"
    with pytest.raises(Unauthenticated, match="algorithm"):
        issuer.verify(by_hand, now=NOW)


def test_other_hmac_algorithm_with_the_same_key_is_rejected() -> None:
    token = jwt.encode(claims_for(uuid.uuid4(), int(NOW.timestamp())), SECRET * 2, algorithm="HS512")
    with pytest.raises(Unauthenticated, match="algorithm"):
        JwtTokenIssuer(SECRET * 2).verify(token, now=NOW)


@settings(max_examples=50, deadline=None)
@given(now=instants, lifetime=st.integers(1, 10 * LIFETIME))
def test_valid_strictly_before_exp(now: datetime, lifetime: int) -> None:
    short = JwtTokenIssuer(SECRET, lifetime_seconds=lifetime)
    token = short.issue(UserId(uuid.uuid4()), now=now).token
    exp = now.replace(microsecond=0) + timedelta(seconds=lifetime)
    short.verify(token, now=exp - timedelta(seconds=1))
    short.verify(token, now=exp - timedelta(microseconds=1))
    for at in (exp, exp + timedelta(microseconds=1), exp + timedelta(days=400)):
        with pytest.raises(Unauthenticated, match="expired"):
            short.verify(token, now=at)


def test_expiry_uses_the_given_now_not_the_wall_clock() -> None:
    long_ago = datetime(1995, 1, 1, tzinfo=UTC)
    token = issuer.issue(UserId(uuid.uuid4()), now=long_ago).token
    assert issuer.verify(token, now=long_ago + timedelta(days=1)).issued_at == long_ago
    far_future = datetime(2150, 1, 1, tzinfo=UTC)
    token = issuer.issue(UserId(uuid.uuid4()), now=far_future).token
    issuer.verify(token, now=far_future)


def _signed(claims: dict, secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"iat": 1, "exp": 2, "jti": "x", "iss": "catalyst"}, id="no-sub"),
        pytest.param({"sub": str(uuid.uuid4()), "exp": 2, "jti": "x", "iss": "catalyst"}, id="no-iat"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "jti": "x", "iss": "catalyst"}, id="no-exp"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "exp": 2, "iss": "catalyst"}, id="no-jti"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "exp": 2, "jti": "x"}, id="no-iss"),
        pytest.param({"sub": "not-a-uuid", "iat": 1, "exp": 2, "jti": "x", "iss": "catalyst"}, id="bad-sub"),
        pytest.param({"sub": 42, "iat": 1, "exp": 2, "jti": "x", "iss": "catalyst"}, id="int-sub"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "exp": 2, "jti": "x", "iss": "evil"}, id="issuer"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "exp": "2", "jti": "x", "iss": "catalyst"},
                     id="str-exp"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "exp": True, "jti": "x", "iss": "catalyst"},
                     id="bool-exp"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1.5, "exp": 2, "jti": "x", "iss": "catalyst"},
                     id="float-iat"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "exp": 10**20, "jti": "x", "iss": "catalyst"},
                     id="huge-exp"),
        pytest.param({"sub": str(uuid.uuid4()), "iat": 1, "exp": 2, "jti": "", "iss": "catalyst"},
                     id="empty-jti"),
    ],
)
def test_bad_claims_are_rejected(claims: dict) -> None:
    with pytest.raises(Unauthenticated):
        issuer.verify(_signed(claims), now=datetime(1970, 1, 1, tzinfo=UTC))


def test_a_well_formed_foreign_token_passes_the_same_checks() -> None:
    # The counterpart of the test above: the same shape with valid values is accepted, so those
    # rejections are about the claim each case breaks.
    user_id = uuid.uuid4()
    claims = issuer.verify(_signed({"sub": str(user_id), "iat": 1, "exp": 2, "jti": "x", "iss": "catalyst"}),
                           now=datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert claims.user_id == user_id and claims.token_id == "x"


def test_issuer_none_neither_writes_nor_requires_iss() -> None:
    bare = JwtTokenIssuer(SECRET, issuer=None)
    token = bare.issue(UserId(uuid.uuid4()), now=NOW).token
    assert "iss" not in jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    bare.verify(token, now=NOW)
    with pytest.raises(Unauthenticated):
        issuer.verify(token, now=NOW)  # but an issuer that expects `iss` refuses it


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c.d", "....", "ü.ü.ü", "eyJ.eyJ.sig", None, 42])
def test_malformed_tokens_are_rejected(garbage) -> None:
    with pytest.raises(Unauthenticated):
        issuer.verify(garbage, now=NOW)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        JwtTokenIssuer("x" * 31)
    JwtTokenIssuer("x" * 32)
    # Bytes, not characters, count: 11 three-byte characters are 33 bytes.
    JwtTokenIssuer("€" * 11)
    with pytest.raises(ValueError, match="64 bytes"):
        JwtTokenIssuer("x" * 63, algorithm="HS512")
    with pytest.raises(ValueError):
        JwtTokenIssuer(SECRET, algorithm="none")
    with pytest.raises(ValueError):
        JwtTokenIssuer(SECRET, lifetime_seconds=0)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        issuer.issue(UserId(uuid.uuid4()), now=datetime(2024, 1, 1))
    token = issuer.issue(UserId(uuid.uuid4()), now=NOW).token
    with pytest.raises(ValueError):
        issuer.verify(token, now=datetime(2024, 1, 1))


def test_repr_does_not_leak_the_secret() -> None:
    assert SECRET not in repr(issuer)


def test_verified_tokens_are_remembered_but_expiry_and_forgeries_are_judged_every_time() -> None:
    kept = JwtTokenIssuer(SECRET, lifetime_seconds=60)
    user_id = UserId(uuid.uuid4())
    token = kept.issue(user_id, now=NOW).token
    assert kept.verify(token, now=NOW).user_id == user_id
    assert kept.verify(token, now=NOW + timedelta(seconds=59)).user_id == user_id  # from memory
    with pytest.raises(Unauthenticated, match="expired"):
        kept.verify(token, now=NOW + timedelta(seconds=60))
    head, body, _ = token.split(".")
    forged = f"{head}.{body}.{_signed({}, OTHER_SECRET).split('.')[2]}"
    for _ in range(2):  # a failure is never remembered as a success
        with pytest.raises(Unauthenticated):
            kept.verify(forged, now=NOW)
    for _ in range(5000):  # memory stays bounded however many tokens pass
        kept.verify(kept.issue(user_id, now=NOW).token, now=NOW)
    assert kept._decode.cache_info().currsize <= 4096
