"""Login behind limits on failed attempts, per e-mail and per client address, against password guessing."""

from __future__ import annotations

import hashlib

from catalyst_core.auth.model import normalize_email
from catalyst_core.auth.service import AuthService, LoginResult
from catalyst_core.errors import InvalidInput, RateLimited, Unauthenticated
from catalyst_core.limits import Quota
from catalyst_core.ports import Clock, RateLimiter


class LoginGuard:
    """`login` refuses with RateLimited, before checking the password, once an e-mail or a client
    address has had `per_email.limit` or `per_source.limit` failed logins in the current window.
    Only failures count, so successful logins are neither slowed nor spent; while a limit holds,
    the right password is refused too (otherwise the refusal would tell a guesser which guess was
    right). Concurrent guesses racing the check may each be counted, never skipped."""

    def __init__(self, auth: AuthService, limiter: RateLimiter, clock: Clock, *, per_email: Quota,
                 per_source: Quota) -> None:
        self.auth, self.limiter, self.clock = auth, limiter, clock
        self.per_email, self.per_source = per_email, per_source

    async def login(self, email: str, password: str, *, source: str | None = None) -> LoginResult:
        """`source` is the client's address as the entry point sees it (None: unknown)."""
        counters = self._counters(email, source)
        now = self.clock.now().timestamp()
        for key, quota in counters:
            if await self.limiter.count(key, quota.window, now) >= quota.limit:
                raise RateLimited("too many failed logins; try again later",
                                  quota.reset_at(now) - int(now))
        try:
            return await self.auth.login(email, password)
        except Unauthenticated:
            now = self.clock.now().timestamp()  # the password check took a while
            for key, quota in counters:
                await self.limiter.hit(key, quota.window, now)
            raise

    def _counters(self, email: str, source: str | None) -> list[tuple[str, Quota]]:
        counters = []
        if self.per_email.enabled:
            counters.append(("login-email:" + _email_key(email), self.per_email))
        if self.per_source.enabled and source:
            counters.append(("login-source:" + source, self.per_source))
        return counters


def _email_key(email: str) -> str:
    # The address as the login would look it up (case and spacing do not make a new counter),
    # hashed so a shared counter store (Redis) holds no e-mail addresses.
    try:
        email = normalize_email(email)
    except InvalidInput:
        email = email.strip().lower()
    return hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()[:32]
