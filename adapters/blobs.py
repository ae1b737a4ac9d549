"""BlobStore adapters: a local directory (the default, under the data directory) and memory (tests).

Both fit catalyst_core.ports.BlobStore: a blob is visible only once complete, and a put that fails for
any reason (too large, the source raising, cancellation) keeps nothing."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any

from catalyst_core.errors import NotFound, TooLarge
from catalyst_core.ports import Clock, StoredBlob

# Reads are served in pieces of this size: big enough that the thread hop per piece is cheap, small
# enough that a response never holds much of a file.
READ_CHUNK = 64 * 1024
# Incoming chunks (aiohttp hands out ~8 KiB) are gathered up to this size before one write, so a put
# costs one thread hop per 64 KiB rather than per network read; memory stays bounded by it.
WRITE_BUFFER = 64 * 1024

# Keys become file names: only this alphabet, so no separator, dot, NUL or drive letter ever gets
# into a path (no traversal, no hidden files, nothing that clashes with our `.partial-` temp files).
_KEY = re.compile(r"[A-Za-z0-9_-]{1,200}")
_PARTIAL_PREFIX = ".partial-"


def check_key(key: object) -> str:
    """The key itself when it is valid; ValueError otherwise (the port's rule, shared by adapters)."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise ValueError(f"invalid blob key: {key!r}")
    return key


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < 0):
        raise ValueError(f"invalid blob range: start={start!r} end={end!r}")


def _too_large(max_bytes: int) -> TooLarge:
    return TooLarge(f"The file is larger than the limit of {max_bytes} bytes")


class LocalDirectoryBlobStore:
    """Blobs as files in one directory, `root/<key>`.

    A put streams into a temp file in the same directory (so the final rename stays on one file
    system and is atomic), fsyncs it, then `os.replace`s it into place; every failure removes the
    temp file. All disk I/O runs in worker threads, never on the event loop. Nothing touches the disk
    until the first call (the directory is created then)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- writing -----------------------------------------------------------------------------------

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredBlob:
        final = self.root / check_key(key)
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
        handle, temp = await asyncio.to_thread(self._open_temp)
        committed = False
        try:
            size = 0
            pending = bytearray()
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                pending += chunk
                if len(pending) >= WRITE_BUFFER:
                    await asyncio.to_thread(handle.write, pending)
                    pending = bytearray()
            modified = await asyncio.to_thread(self._seal, handle, bytes(pending))
            # The commit point, on the loop thread on purpose: a single rename syscall with no await
            # around it, so a cancellation lands either before (nothing kept) or after it.
            os.replace(temp, final)
            committed = True
            await _unstoppable(self._sync_directory)
            return StoredBlob(key=key, size=size, created_at=modified)
        except BaseException:
            if committed:
                # Cancelled while making the rename durable: the contract keeps nothing on
                # cancellation, so the just-committed blob goes too (two metadata syscalls).
                _unlink_quietly(final)
            else:
                await _unstoppable(lambda: _discard(handle, temp))
            raise

    def _open_temp(self) -> tuple[IO[bytes], Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=_PARTIAL_PREFIX, suffix=".tmp")
        return os.fdopen(fd, "wb"), Path(name)

    @staticmethod
    def _seal(handle: IO[bytes], tail: bytes) -> datetime:
        # fsync before the rename, or a crash could leave a complete-looking name over empty data.
        with handle:
            handle.write(tail)
            handle.flush()
            os.fsync(handle.fileno())
            return _mtime(os.fstat(handle.fileno()).st_mtime)

    def _sync_directory(self) -> None:
        # The rename itself lives in the directory; fsync it so a committed row never outlives its
        # file after a power cut. Some platforms cannot open directories: durability is best effort.
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    async def delete(self, key: str) -> None:
        path = self.root / check_key(key)
        await asyncio.to_thread(_unlink_quietly, path)

    async def remove_partials(self, older_than_seconds: float) -> int:
        """Removes temp files left by a process that died mid-put (a live put never leaves one
        behind); only those older than `older_than_seconds`, so puts in flight elsewhere are spared.
        Returns how many went."""
        return await asyncio.to_thread(self._remove_partials, older_than_seconds)

    def _remove_partials(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in self._entries():
            if entry.name.startswith(_PARTIAL_PREFIX) and entry.stat().st_mtime < cutoff:
                _unlink_quietly(Path(entry.path))
                removed += 1
        return removed

    # -- reading -----------------------------------------------------------------------------------

    async def stat(self, key: str) -> StoredBlob | None:
        path = self.root / check_key(key)
        try:
            info = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            return None
        if not S_ISREG(info.st_mode):  # a stray directory is no blob (keys() skips it too)
            return None
        return StoredBlob(key=key, size=info.st_size, created_at=_mtime(info.st_mtime))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self.root / check_key(key)
        _check_range(start, end)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound(f"No blob under key {key}") from None
        try:
            # An open handle keeps reading the version it opened even if a put replaces the name.
            await asyncio.to_thread(handle.seek, start)
            remaining = None if end is None else max(end - start, 0)
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            # Closing a read-only file is a quick syscall; doing it inline also works when the
            # generator is finalised without a running loop.
            handle.close()

    async def keys(self) -> list[str]:
        return await asyncio.to_thread(self._keys)

    def _keys(self) -> list[str]:
        return sorted(entry.name for entry in self._entries()
                      if _KEY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False))

    def _entries(self) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(self.root) as entries:
                return list(entries)
        except FileNotFoundError:
            return []


class MemoryBlobStore:
    """Blobs in a dict, for tests and the memory profile: same semantics as the local directory
    (whole-or-nothing puts, clamped ranges, ValueError on bad keys), bytes copied in and out."""

    def __init__(self, clock: Clock | None = None, *, read_chunk: int = READ_CHUNK) -> None:
        self._clock = clock
        self._read_chunk = read_chunk
        self._blobs: dict[str, tuple[bytes, datetime]] = {}

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredBlob:
        check_key(key)
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
        # Gathered aside and stored in one step at the end: nothing is visible before the source is
        # exhausted, and any exception (or cancellation) simply drops the buffer.
        buffer = bytearray()
        async for chunk in chunks:
            if len(buffer) + len(chunk) > max_bytes:
                raise _too_large(max_bytes)
            buffer += chunk
        created = self._now()
        self._blobs[key] = (bytes(buffer), created)
        return StoredBlob(key=key, size=len(buffer), created_at=created)

    async def stat(self, key: str) -> StoredBlob | None:
        found = self._blobs.get(check_key(key))
        if found is None:
            return None
        data, created = found
        return StoredBlob(key=key, size=len(data), created_at=created)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        _check_range(start, end)
        found = self._blobs.get(key)
        if found is None:
            raise NotFound(f"No blob under key {key}")
        data = found[0]  # the bytes object read now: a later replace does not change this read
        stop = len(data) if end is None else min(end, len(data))
        for offset in range(start, stop, self._read_chunk):
            yield data[offset:min(offset + self._read_chunk, stop)]
            # Give the loop a turn between pieces, as a real store would.
            await asyncio.sleep(0)

    async def delete(self, key: str) -> None:
        self._blobs.pop(check_key(key), None)

    async def keys(self) -> list[str]:
        return sorted(self._blobs)


# -- helpers --------------------------------------------------------------------------------------

def _mtime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _discard(handle: IO[bytes], temp: Path) -> None:
    # close() waits for a write still running in another thread (the buffered file's lock), so the
    # unlink never races a late write into a file we already removed.
    try:
        handle.close()
    except OSError:
        pass
    _unlink_quietly(temp)


async def _unstoppable(work: Callable[[], Any]) -> None:
    """Runs `work` in a thread and waits for it; if the waiting task is cancelled the thread still
    finishes the work (it was handed to the executor before the first await)."""
    future = asyncio.get_running_loop().run_in_executor(None, work)
    await asyncio.shield(future)
