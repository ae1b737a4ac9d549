"""Counting shared by the processes of one `catalyst serve --workers N` without Redis: a table in
memory mapped before the fork, read and written with no lock between processes and no system call
per request.

Why it is correct without a cross-process lock: the table has `rows` rows of `slots` 64-bit words,
and every live process owns one row, of which it is the only writer (a process claims its row once,
with an fcntl record lock the kernel drops when the process dies, so a replacement worker takes over
a dead worker's row and its counts). A key's count is the sum of its words over all rows. Each word
packs the key's fingerprint, the end of the window it counts and the count, so one aligned 8-byte
store publishes all three at once and a reader in another process sees either the old word or the
new one, never a mix. A key lives in one of `PROBES` slots picked by a keyed hash; a slot whose
window has ended is reused, and a full probe set evicts its smallest count (with 65,536 slots per
process that takes that many users active within one window).

What it gives up: two processes counting the same key at the same instant may both see the other's
count or neither, so at the limit's edge one request in such a race can pass or be refused early.
Two keys whose hashes agree in slot and 20-bit fingerprint would share a count (about one chance
in 2**32 per pair of keys active in the same window). A count saturates at 2**20 - 1 per process
and window, far above any sensible hourly limit per user."""

from __future__ import annotations

import logging
import mmap
import os
import tempfile
import threading
import weakref

from catalyst_adapters.ratelimit.memory import MemoryRateLimiter

log = logging.getLogger("catalyst.ratelimit")

PROBES = 4
_TAG_MASK = (1 << 24) - 1  # the window's end in Unix seconds, modulo 2**24 (194 days)
_HALF_TAG = 1 << 23
_COUNT_MAX = (1 << 20) - 1
_SHM_DIR = "/dev/shm"  # tmpfs on Linux: the mapping never goes to disk

_tables: weakref.WeakSet[SharedRateTable] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked worker owns no row yet (record locks are not inherited), and a lock held by another
    # thread of the parent at fork time would never be released in the child.
    for table in list(_tables):
        table._row = None
        table._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class SharedRateTable:
    """The shared counters. Create it in the parent before forking the processes that share it;
    each process then counts through its own `SharedMemoryRateLimiter(table)`."""

    def __init__(self, *, rows: int, slots: int = 1 << 16) -> None:
        if rows < 1 or slots < PROBES or slots & (slots - 1):
            raise ValueError("rows must be at least 1 and slots a power of two of at least 4")
        size = rows * slots * 8
        self._file = tempfile.TemporaryFile(dir=_SHM_DIR if os.path.isdir(_SHM_DIR) else None)
        self._file.truncate(size)
        self._map = mmap.mmap(self._file.fileno(), size)  # MAP_SHARED: forked processes see the writes
        self.words = memoryview(self._map).cast("Q")
        self.rows, self.slots = rows, slots
        self._row: int | None = None
        self._lock = threading.Lock()
        _tables.add(self)

    @classmethod
    def for_workers(cls, workers: int) -> SharedRateTable:
        # A row per worker, and as many again for replacements starting while a dying worker
        # still holds its row.
        return cls(rows=2 * workers + 2)

    def own_row(self) -> int:
        """This process's row, claimed on first use; -1 when every row is held by a live process."""
        row = self._row
        if row is None:
            row = self._row = self._claim()
        return row

    def _claim(self) -> int:
        import fcntl  # POSIX only, as forking server processes are

        for row in range(self.rows):
            try:
                fcntl.lockf(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, row)
            except OSError:
                continue
            return row
        return -1

    def close(self) -> None:
        self.words.release()
        self._map.close()
        self._file.close()


class SharedMemoryRateLimiter:
    """The RateLimiter port over a SharedRateTable (see the module's docstring)."""

    def __init__(self, table: SharedRateTable) -> None:
        self.table = table
        self._mask = table.slots - 1
        self._starts = [row * table.slots for row in range(table.rows)]
        self._fallback: MemoryRateLimiter | None = None

    async def hit(self, key: str, window: int, now: float) -> int:
        return self.hit_now(key, window, now)

    def hit_now(self, key: str, window: int, now: float) -> int:
        fp, base, tag = self._locate(key, window, now)
        table = self.table
        with table._lock:  # threads of one process share its row; uncontended, this is no syscall
            own = table.own_row()
            if own < 0:
                return self._count_alone(key, window, now)
            words, start, mask, now_s = table.words, own * table.slots, self._mask, int(now)
            chosen, mine, free, weakest, weakest_count = -1, 0, -1, -1, _COUNT_MAX + 1
            for p in range(PROBES):
                i = start + ((base + p) & mask)
                w = words[i]
                if w == 0:  # never used: no entry of this key lies past it
                    chosen = i if free < 0 else free
                    break
                if w >> 44 == fp:
                    chosen, mine = i, (w & _COUNT_MAX if (w >> 20) & _TAG_MASK == tag else 0)
                    break
                if free < 0 and ((now_s - (w >> 20)) & _TAG_MASK) < _HALF_TAG:  # its window ended
                    free = i
                elif w & _COUNT_MAX < weakest_count:
                    weakest, weakest_count = i, w & _COUNT_MAX
            if chosen < 0:
                chosen = free if free >= 0 else weakest
            mine = min(mine + 1, _COUNT_MAX)
            words[chosen] = (fp << 44) | (tag << 20) | mine  # one aligned 8-byte store
        return mine + self._sum(fp, base, tag, skip=own)

    async def count(self, key: str, window: int, now: float) -> int:
        fp, base, tag = self._locate(key, window, now)
        alone = 0 if self._fallback is None else await self._fallback.count(key, window, now)
        return alone + self._sum(fp, base, tag, skip=-1)

    def _count_alone(self, key: str, window: int, now: float) -> int:
        # No free row (more live processes than the table was made for): serve on, counting this
        # process's hits by themselves, rather than refuse requests.
        if self._fallback is None:
            self._fallback = MemoryRateLimiter()
            log.error("rate limiting: no free row in the shared table (%d rows); this process "
                      "counts its own requests only", self.table.rows)
        fp, base, tag = self._locate(key, window, now)
        return self._fallback.hit_now(key, window, now) + self._sum(fp, base, tag, skip=-1)

    async def close(self) -> None:
        """The table belongs to the process that made it and lives as long as the server."""

    def _sum(self, fp: int, base: int, tag: int, *, skip: int) -> int:
        words, mask, total = self.table.words, self._mask, 0
        skip_start = skip * self.table.slots if skip >= 0 else -1
        for start in self._starts:
            if start == skip_start:
                continue
            for p in range(PROBES):
                w = words[start + ((base + p) & mask)]
                if w == 0:
                    break
                if w >> 44 == fp:
                    if (w >> 20) & _TAG_MASK == tag:
                        total += w & _COUNT_MAX
                    break
        return total

    def _locate(self, key: str, window: int, now: float) -> tuple[int, int, int]:
        """(fingerprint, first slot, tag of the window holding `now`)."""
        if window < 1:
            raise ValueError(f"a rate-limit window is at least 1 second, got {window}")
        # Python's own hash is keyed (SipHash with a secret drawn at interpreter start) and only
        # processes forked from the table's maker can reach the table, so all of them agree on it.
        h = hash((window, key)) & 0xFFFF_FFFF_FFFF_FFFF
        reset = (int(now) // window + 1) * window
        return h >> 44, h & self._mask, reset & _TAG_MASK
