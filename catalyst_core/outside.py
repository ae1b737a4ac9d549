"""The ports to the rest of the outside world (storage is in `catalyst_core.ports`, which also
re-exports these): time, events, passwords, tokens, the lead scorer, files and rate limits.

Adapters do not inherit from these; they fit them. Each port's contract lives in
`catalyst_contracts` where it has one."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from attrs import frozen

from catalyst_core.auth.model import IssuedToken, TokenClaims
from catalyst_core.events import Event
from catalyst_core.ids import UserId
from catalyst_core.leads.model import ScoringSettings

# ---------------------------------------------------------------------------------------------
# The rest of the outside world.
# ---------------------------------------------------------------------------------------------


class Clock(Protocol):
    """The current time, timezone-aware in UTC. The only way time enters the core."""

    def now(self) -> datetime: ...


class Notifier(Protocol):
    """Delivers events after their transaction committed. Never raises: delivery failures are the
    adapter's to log or retry, so a committed use case is never reported as failed.
    A `durable` notifier must not lose an event to a crash: use cases then also write each event
    to the transaction's outbox (`Transaction.outbox`) with the change that caused it, and the
    notifier delivers from there (`notify` only tells it that more is waiting)."""

    durable: bool

    async def notify(self, event: Event) -> None: ...


class PasswordHasher(Protocol):
    """Hashes and verifies passwords without blocking the event loop. `verify` returns False for a
    wrong password or an unreadable hash; it never raises for bad input."""

    async def hash(self, password: str) -> str: ...
    async def verify(self, password: str, hashed: str) -> bool: ...
    def needs_rehash(self, hashed: str) -> bool: ...


class TokenIssuer(Protocol):
    """Issues and verifies access tokens. `verify` raises Unauthenticated for a tampered, expired,
    unsigned (`alg: none`) or otherwise invalid token. `version` (the user's token_version) is
    carried in the token and returned by `verify` as `TokenClaims.version`."""

    def issue(self, user_id: UserId, *, now: datetime, version: int = 0) -> IssuedToken: ...
    def verify(self, token: str, *, now: datetime) -> TokenClaims: ...


@frozen
class ScoreResult:
    """A lead's score in [0, 1], its component scores in [0, 1] by name (`engagement`,
    `demographic`, `behavioral`), and the factors that moved it most (never empty)."""

    score: float
    components: Mapping[str, float]
    explanation: Sequence[str]


class Scorer(Protocol):
    """Scores a lead's raw data against the client's settings, at `now` (for recency). Pure,
    deterministic and fast enough to call inside a request (thousands a batch); unknown keys are
    ignored; raises InvalidInput naming the field (`raw_data.page_views`) when a known key has a
    value of the wrong type or range. The label is the core's, from the client's thresholds."""

    def score(self, raw_data: Mapping[str, Any], settings: ScoringSettings, *, now: datetime,
              source: str | None = None) -> ScoreResult: ...


# ---------------------------------------------------------------------------------------------
# Media: the files of creative submissions.
# ---------------------------------------------------------------------------------------------


@frozen
class StoredBlob:
    """What a BlobStore holds under a key: its size in bytes and when it was written (UTC), so a
    sweep can tell a finished orphan from an upload still in flight."""

    key: str
    size: int
    created_at: datetime


class BlobStore(Protocol):
    """Keeps files (blobs) by key. Keys are short ASCII strings of letters, digits, `-` and `_`
    chosen by the core; anything else is a ValueError.
    - `put` streams `chunks` to the store and returns what it kept. Past `max_bytes` it raises
      TooLarge and keeps nothing, not even a part; any other failure (the source raising, a full
      disk, cancellation) also keeps nothing and re-raises. A blob becomes visible to `stat` and
      `read` only complete, never half-written. Putting an existing key replaces it.
    - `stat` returns the StoredBlob or None when the key holds nothing.
    - `read` yields the bytes in [start, end) (end None: to the end) in chunks; NotFound when the
      key holds nothing. `start`/`end` past the size are clamped.
    - `delete` removes the blob; deleting a missing key is not an error.
    - `keys` lists every key held (for sweeping files whose row never committed)."""

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredBlob: ...
    async def stat(self, key: str) -> StoredBlob | None: ...
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...
    async def keys(self) -> list[str]: ...


@frozen
class MediaInfo:
    """What the bytes of a file say it is: a MIME type (`image/png`, `video/mp4`), its kind
    (`image` or `video`), and for images the pixel size when the header tells it."""

    content_type: str
    kind: str
    width: int | None = None
    height: int | None = None


class MediaProbe(Protocol):
    """Recognises images and videos from their first bytes (`head`, at least the first
    `head_bytes` of the file, or all of it when shorter), never from a name or a declared type.
    Returns None for anything that is not an image or a video (text, PDF, an archive). Pure and
    fast: it reads headers only, never decodes the media."""

    head_bytes: int

    def probe(self, head: bytes) -> MediaInfo | None: ...


# ---------------------------------------------------------------------------------------------
# Rate limiting: counters of events in fixed windows, shared by every server process.
# ---------------------------------------------------------------------------------------------


class RateLimiter(Protocol):
    """Counts events per key in fixed windows of `window` whole seconds (at least 1) aligned to the
    Unix epoch: the window holding `now` covers [k * window, (k + 1) * window) with
    k = floor(now / window), and it resets at (k + 1) * window. `now` is Unix time in seconds and
    comes from the caller's Clock, so adapters never read a clock of their own for counting.
    A key is any string; a key counted with two window lengths is two independent counters.
    - `hit` adds one to the key's count in the window holding `now` and returns the new count
      (1 for the first event of a window). Concurrent hits are never lost: n hits, from any number of
      tasks or server processes sharing the limiter, return n distinct counts 1..n.
    - `count` returns the key's count in the window holding `now` (0 when none) without adding.
    - `close` releases connections; a closed limiter is not used again.
    A window length below 1 is a ValueError. A limiter never raises because its backing service is
    down: it keeps answering from a fallback (counting in this process) and resumes when it is back.
    Counts may be forgotten once their window has ended."""

    async def hit(self, key: str, window: int, now: float) -> int: ...
    async def count(self, key: str, window: int, now: float) -> int: ...
    async def close(self) -> None: ...
