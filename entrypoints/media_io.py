"""Media over HTTP: serving a stored blob (with byte ranges, so videos seek) and streaming an upload's
file part, both chunk by chunk, never the whole file in memory."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from aiohttp import BodyPartReader, hdrs, web

from catalyst_api.wire import error_response
from catalyst_core.errors import NotFound
from catalyst_core.ports import BlobStore, StoredBlob

UPLOAD_CHUNK = 64 * 1024
_UNSAFE_FALLBACK = re.compile(r'[^\x20-\x7e]|["\\%]')


class _Unsatisfiable(Exception):
    pass


async def blob_response(request: web.Request, store: BlobStore, key: str, *, content_type: str,
                        filename: str | None = None) -> web.StreamResponse:
    """The response for GET (and HEAD) of the blob under `key`; NotFound when the store has none.

    `Range: bytes=a-b`, `bytes=a-` and `bytes=-n` get 206 with Content-Range (an `If-Range` that
    does not match this blob's ETag or Last-Modified gets the whole file, as RFC 9110 says); a range
    past the end gets 416 with `Content-Range: bytes */size`; a malformed or multi-range header is
    ignored and the whole file served with 200 (RFC 9110 allows it, and it spares us multipart
    bodies). The response is returned unprepared, so the middleware still adds its headers; its
    body streams from the store when aiohttp prepares it."""
    blob = await store.stat(key)
    if blob is None:
        raise NotFound("The file is not available")
    etag = _etag(blob)
    headers = {
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.CONTENT_TYPE: content_type,
        "X-Content-Type-Options": "nosniff",
        # Members-only media: a shared cache must never keep a copy.
        hdrs.CACHE_CONTROL: "private",
    }
    if filename:
        headers[hdrs.CONTENT_DISPOSITION] = content_disposition(filename)
    try:
        span = _byte_range(request, blob.size, etag, blob.created_at)
    except _Unsatisfiable:
        return error_response(416, "Range Not Satisfiable",
                              f"the requested range is outside the file's {blob.size} bytes",
                              headers={hdrs.CONTENT_RANGE: f"bytes */{blob.size}",
                                       hdrs.ACCEPT_RANGES: "bytes"})
    # A satisfiable Range is answered 206 even when it covers the whole file: Safari's player wants it.
    partial = span is not None
    first, stop = span if span is not None else (0, blob.size)
    if partial:
        headers[hdrs.CONTENT_RANGE] = f"bytes {first}-{stop - 1}/{blob.size}"
    chunks: AsyncIterator[bytes] | None = None
    opening: bytes = b""
    if request.method != hdrs.METH_HEAD and stop > first:
        chunks = store.read(key, first, stop)
        # Pull the first piece now: a blob gone since `stat` is still a clean 404, not a broken body.
        opening = await anext(chunks, b"")
    response = BlobResponse(chunks, opening, status=206 if partial else 200, headers=headers)
    response.content_length = stop - first
    response.etag = etag.strip('"')
    # Formatted here: aiohttp rounds a datetime up to the next second, a time the file did not exist.
    response.headers[hdrs.LAST_MODIFIED] = format_datetime(blob.created_at.replace(microsecond=0),
                                                           usegmt=True)
    return response


class BlobResponse(web.StreamResponse):
    """A StreamResponse whose body is written when aiohttp prepares it (as its FileResponse does), so
    the handler can return it and the middleware can still add headers before anything is sent."""

    def __init__(self, chunks: AsyncIterator[bytes] | None, opening: bytes, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._chunks = chunks
        self._opening = opening

    async def prepare(self, request: web.BaseRequest) -> object:
        if self.prepared:
            return await super().prepare(request)
        writer = await super().prepare(request)
        if self._chunks is None:
            return writer
        # aclosing: a client that goes away mid-file still releases the store's open file at once.
        async with contextlib.aclosing(self._chunks) as chunks:  # type: ignore[type-var]
            if self._opening:
                await self.write(self._opening)  # write() waits for the socket to drain
            self._opening = b""
            async for chunk in chunks:
                await self.write(chunk)
        return writer


def content_disposition(filename: str) -> str:
    """`inline` with the name twice (RFC 6266): `filename*` carries it exactly in UTF-8, `filename` an
    ASCII stand-in for old clients. Neither can break out of the header (CR, LF, quotes are escaped)."""
    fallback = _UNSAFE_FALLBACK.sub("_", filename) or "file"
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def file_chunks(part: BodyPartReader, chunk_size: int = UPLOAD_CHUNK) -> AsyncIterator[bytes]:
    """The raw bytes of one multipart file part, `chunk_size` at a time as they arrive (no
    Content-Transfer-Encoding decoding: browsers and HTTP clients send binary parts as they are)."""
    while chunk := await part.read_chunk(chunk_size):
        yield chunk


# -- ranges ----------------------------------------------------------------------------------------

def _byte_range(request: web.Request, size: int, etag: str,
                modified: datetime) -> tuple[int, int] | None:
    """[first, stop) of the blob to send; None (the whole blob, 200) when there is no usable Range."""
    header = request.headers.get(hdrs.RANGE)
    if header is None or size == 0 or not _if_range_holds(request, etag, modified):
        return None  # an empty file has no byte to point at: it is always served whole
    try:
        wanted = request.http_range  # aiohttp's parser: one range only, `start-end` inclusive
    except ValueError:
        return None  # malformed, reversed or several ranges: ignored (RFC 9110 14.2)
    if wanted.start is None:  # no Range header after all (aiohttp found nothing to parse)
        return None
    if wanted.start < 0:  # bytes=-n: the last n bytes, the whole file when n is larger
        return max(size + wanted.start, 0), size
    if wanted.start == 0 and wanted.stop is None and _is_suffix(header):
        raise _Unsatisfiable()  # bytes=-0, which aiohttp reads as "from 0": no byte asked for
    if wanted.start >= size:
        raise _Unsatisfiable()
    return wanted.start, size if wanted.stop is None else min(wanted.stop, size)


def _is_suffix(header: str) -> bool:
    return header.partition("=")[2].strip().startswith("-")


def _if_range_holds(request: web.Request, etag: str, modified: datetime) -> bool:
    """False when an If-Range names another version: the client's earlier bytes are stale, so it
    must get the whole file. Only strong validators count (RFC 9110 13.1.5)."""
    condition = request.headers.get(hdrs.IF_RANGE)
    if condition is None:
        return True
    condition = condition.strip()
    if condition.startswith(('"', "W/")):
        return condition == etag
    try:
        when = parsedate_to_datetime(condition)
    except (TypeError, ValueError):
        return False
    return when.tzinfo is not None and int(when.timestamp()) == int(modified.timestamp())


def _etag(blob: StoredBlob) -> str:
    # Keys are written once per file here; size and write time still tell a replaced blob apart.
    stamp = int(blob.created_at.timestamp() * 1_000_000)
    return f'"{blob.size:x}-{stamp:x}"'
