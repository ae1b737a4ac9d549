"""Password hashing with passlib (argon2id by default) and access tokens with PyJWT."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import functools
import logging
import math
import os
import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import jwt
from passlib.context import CryptContext
from passlib.exc import MissingBackendError

from catalyst_core.auth.model import IssuedToken, TokenClaims
from catalyst_core.errors import Unauthenticated
from catalyst_core.ids import UserId

log = logging.getLogger(__name__)

_T = TypeVar("_T")

DEFAULT_TOKEN_LIFETIME = 2_628_000  # seconds, as in the API reference (about a month)
VERIFIED_TOKENS_KEPT = 4096  # tokens whose signature and claims were checked, most recent first


# OWASP's minimum for Argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane. About
# 20 ms of one core per hash here, against ~0.2 s for passlib's own defaults (64 MiB, t=3, p=4).
ARGON2_MEMORY_KIB = 19_456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


class PasslibHasher:
    """A PasswordHasher over a passlib CryptContext: Argon2id with OWASP's minimum costs unless
    told otherwise. Extra keyword arguments go to the context, e.g. `argon2__memory_cost=...`;
    schemes other than the default are accepted for verification and reported by `needs_rehash`,
    as are argon2 hashes of other costs, so old hashes are upgraded at the next login.

    Hashes run on a pool of `threads` threads of their own (default: one per core). argon2
    releases the GIL, so more hashes at once than cores only add runnable threads that take CPU
    from the event loop; and on the default executor they would queue other work behind them."""

    def __init__(
        self,
        schemes: Sequence[str] = ("argon2",),
        default: str = "argon2",
        *,
        threads: int | None = None,
        **context_options: Any,
    ) -> None:
        if "argon2" in schemes:
            context_options = {"argon2__memory_cost": ARGON2_MEMORY_KIB,
                               "argon2__time_cost": ARGON2_TIME_COST,
                               "argon2__parallelism": ARGON2_PARALLELISM} | context_options
        self.context = CryptContext(
            schemes=list(schemes), default=default, deprecated="auto", **context_options
        )
        self._argon2 = self.context.handler("argon2") if default == "argon2" else None
        threads = threads if threads is not None else os.cpu_count() or 1
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    @classmethod
    def argon2id(cls, memory_kib: int = ARGON2_MEMORY_KIB, time_cost: int = ARGON2_TIME_COST,
                 parallelism: int = ARGON2_PARALLELISM, threads: int | None = None) -> PasslibHasher:
        """Argon2id at these costs (memory in KiB); impossible ones raise ValueError."""
        for name, value, least in (("memory_kib", memory_kib, 8 * parallelism),
                                   ("time_cost", time_cost, 1), ("parallelism", parallelism, 1)):
            if value < least:
                raise ValueError(f"argon2 {name} must be at least {least}, not {value}")
        return cls(argon2__memory_cost=memory_kib, argon2__time_cost=time_cost,
                   argon2__parallelism=parallelism, threads=threads)

    @classmethod
    def fast_for_tests(cls) -> PasslibHasher:
        """Argon2id with the smallest costs argon2 accepts: a hash takes microseconds, not 20 ms.
        Never use it in production."""
        return cls(argon2__memory_cost=8, argon2__time_cost=1, argon2__parallelism=1)

    @property
    def costs(self) -> tuple[int, int, int] | None:
        """(memory KiB, time cost, parallelism) of new argon2 hashes; None if argon2 is not the default."""
        if self._argon2 is None:
            return None
        return self._argon2.memory_cost, self._argon2.default_rounds, self._argon2.parallelism

    async def hash(self, password: str) -> str:
        # Argon2 is slow on purpose; on the loop it would stall every other request.
        return await self._off_loop(self.context.hash, password)

    async def verify(self, password: str, hashed: str) -> bool:
        return await self._off_loop(self._verify, password, hashed)

    async def _off_loop(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._pool is None or self._pool_pid != os.getpid():
            # Made on first use in each process: a pool's threads do not survive a fork
            # (`serve --workers N`).
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="password-hash")
            self._pool_pid = os.getpid()
        call = functools.partial(contextvars.copy_context().run, fn, *args)  # keeps the request id
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def _verify(self, password: str, hashed: str) -> bool:
        try:
            return bool(self.context.verify(password, hashed))
        except (ValueError, TypeError):
            # Unknown or malformed hash, or a password passlib refuses (too long, NUL in bcrypt).
            return False
        except MissingBackendError:
            # A readable hash whose library is not installed (bcrypt): a deployment problem that
            # the operator must see, but the port promises a plain False to the caller.
            log.error("cannot verify a password hash: its passlib backend is missing", exc_info=True)
            return False

    def needs_rehash(self, hashed: str) -> bool:
        """True when the hash uses a deprecated scheme or other costs than the current default
        (higher ones too: the configured costs are the policy; passlib compares memory, passes
        and lanes). An unreadable hash also answers True: whatever it is, it should be replaced."""
        try:
            return bool(self.context.needs_update(hashed))
        except (ValueError, TypeError):
            return True


# Minimum HMAC key sizes from RFC 7518 section 3.2: at least as long as the hash output.
_MIN_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")


def _is_canonical_b64url(segment: str) -> bool:
    # base64 decoding ignores stray characters and the spare bits of the last one, so several
    # strings decode to the same bytes. Requiring the one canonical spelling means any change to
    # any character of a token is rejected, not only changes that happen to alter the bytes.
    # Recent PyJWT checks this too; pyproject allows releases (>=2.8) that did not.
    if not _SEGMENT.match(segment):
        return False
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == segment


def _epoch(now: datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    return math.floor(now.timestamp())


class JwtTokenIssuer:
    """A TokenIssuer signing HMAC JWTs with PyJWT. Tokens carry `sub` (the user id), `iat`, `exp`,
    `jti` and, unless `issuer` is None, `iss`. A token is valid while `now < exp`; expiry is judged
    against the `now` passed in (the Clock), never the wall clock."""

    def __init__(
        self,
        secret: str,
        *,
        algorithm: str = "HS256",
        lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME,
        issuer: str | None = "catalyst",
    ) -> None:
        if algorithm not in _MIN_KEY_BYTES:
            raise ValueError(f"algorithm must be one of {sorted(_MIN_KEY_BYTES)}, got {algorithm!r}")
        min_bytes = _MIN_KEY_BYTES[algorithm]
        if len(secret.encode("utf-8")) < min_bytes:
            raise ValueError(f"the {algorithm} secret must be at least {min_bytes} bytes long")
        if lifetime_seconds <= 0:
            raise ValueError("lifetime_seconds must be positive")
        self._secret = secret
        self.algorithm = algorithm
        self.lifetime_seconds = lifetime_seconds
        self.issuer = issuer
        # Every request verifies its token, and a client sends the same token many times: checking
        # the signature and claims once per token, not per request, took 0.1 ms off each request
        # (docs/benchmarks.md). Only tokens that verified are kept; expiry is judged on every call.
        self._decode = functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._decode_uncached)

    def __repr__(self) -> str:
        # Never show the secret, even in a traceback or a debug dump of the container.
        return f"JwtTokenIssuer(algorithm={self.algorithm!r}, issuer={self.issuer!r})"

    def issue(self, user_id: UserId, *, now: datetime, version: int = 0) -> IssuedToken:
        issued_at = _epoch(now)
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iat": issued_at,
            "exp": issued_at + self.lifetime_seconds,
            "jti": uuid.uuid4().hex,
        }
        if version:
            # The user's token version (bumped by a password change); 0 is left out, as tokens
            # issued before versions existed are read as 0.
            claims["ver"] = version
        if self.issuer is not None:
            claims["iss"] = self.issuer
        token = jwt.encode(claims, self._secret, algorithm=self.algorithm)
        return IssuedToken(token=token, expires_in=self.lifetime_seconds)

    def verify(self, token: str, *, now: datetime) -> TokenClaims:
        _epoch(now)  # a naive `now` is a caller bug: fail loudly rather than compare wrongly
        if not isinstance(token, str):
            raise Unauthenticated("malformed token")
        claims = self._decode(token)
        if now >= claims.expires_at:
            raise Unauthenticated("token expired")
        return claims

    def _decode_uncached(self, token: str) -> TokenClaims:
        segments = token.split(".")
        if len(segments) != 3 or not all(_is_canonical_b64url(s) for s in segments):
            raise Unauthenticated("malformed token")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self.algorithm],
                issuer=self.issuer,
                # Expiry is checked below against the injected clock, not PyJWT's wall clock.
                options={"verify_exp": False, "verify_iat": False, "require": ["sub", "iat", "exp", "jti"]},
            )
        except jwt.InvalidSignatureError:
            raise Unauthenticated("invalid token signature") from None
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated("token algorithm not allowed") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks the {exc.claim!r} claim") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
            raise Unauthenticated("token from another issuer") from None
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None

        sub, iat, exp, jti = claims["sub"], claims["iat"], claims["exp"], claims["jti"]
        version = claims.get("ver", 0)
        # bool is an int subclass; `"exp": true` must not pass as 1970-01-01T00:00:01Z.
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)):
            raise Unauthenticated("malformed token times")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise Unauthenticated("malformed token version")
        if not isinstance(jti, str) or not jti:
            raise Unauthenticated("malformed token id")
        try:
            user_id = UserId(uuid.UUID(sub)) if isinstance(sub, str) else None
        except ValueError:
            user_id = None
        if user_id is None:
            raise Unauthenticated("malformed token subject")
        try:
            issued_at = datetime.fromtimestamp(iat, tz=UTC)
            expires_at = datetime.fromtimestamp(exp, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise Unauthenticated("malformed token times") from None
        return TokenClaims(user_id=user_id, token_id=jti, issued_at=issued_at, expires_at=expires_at,
                           version=version)
