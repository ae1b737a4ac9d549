"""Writers of several processes on one SQLite file take turns through a lock file (docs/adr/0003).

SQLite lets one writer in at a time and makes the others wait in its busy handler, which sleeps and
retries (1, 2, 5, ... 100 ms): under steady writes from two server processes, some writers lose round
after round (creates' p99 was 516 ms with two workers). An exclusive flock on a file beside the
database queues them instead: the kernel wakes a waiter the moment the holder lets go, and releases
the lock of a process that dies. (filelock's AsyncFileLock would poll, which is the problem here.)

Within a process, writers already take turns on an asyncio lock, so at most one coroutine per
process waits here; its wait runs on a worker thread, never on the event loop. A writer that gives
up (timed out, cancelled) leaves that thread waiting, and the next writer waits on the same thread
rather than starting another: while another process holds the lock for long, timed-out writers must
not pile up blocked threads in the event loop's default pool, which other work needs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's busy handler alone arbitrates between processes
    fcntl = None  # type: ignore[assignment]


class ProcessWriteLock:
    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self._timeout = timeout
        self._fd: int | None = None
        self._waiting: asyncio.Future[None] | None = None  # a thread blocked in flock, if any
        self._abandoned = False  # whether the writer that started it gave up

    @classmethod
    def beside(cls, database: Path, *, timeout: float) -> ProcessWriteLock | None:
        """The lock for `database`, or None where flock does not exist."""
        return cls(database.with_name(database.name + ".write-lock"), timeout=timeout) if fcntl else None

    def _fileno(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    async def acquire(self, within: float | None = None) -> None:
        """Take the lock; TimeoutError after `within` seconds (default: the lock's timeout) of
        another process holding it."""
        waiting = self._waiting
        if waiting is None:
            fd = self._fileno()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            waiting = self._waiting = asyncio.get_running_loop().run_in_executor(
                None, fcntl.flock, fd, fcntl.LOCK_EX)
            waiting.add_done_callback(self._waited)
        self._abandoned = False
        try:
            await asyncio.wait_for(asyncio.shield(waiting), self._timeout if within is None else within)
        except BaseException:
            # Timed out or cancelled while the thread still waits: the next writer takes its place,
            # or, if none comes, the lock is let go as soon as the thread gets it (_waited).
            if not waiting.done():
                self._abandoned = True
            elif not waiting.cancelled() and waiting.exception() is None:
                self.release()  # taken in the same instant as the timeout: not ours to keep
            raise
        finally:
            if waiting.done():
                self._waiting = None

    def _waited(self, waiting: asyncio.Future[None]) -> None:
        """The thread's flock returned; runs before the writer awaiting it resumes."""
        taken = not waiting.cancelled() and waiting.exception() is None
        if self._abandoned:
            self._abandoned = False
            self._waiting = None
            if taken:
                self.release()

    def release(self) -> None:
        fcntl.flock(self._fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
