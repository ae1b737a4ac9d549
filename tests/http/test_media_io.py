"""blob_response and file_chunks on a tiny aiohttp app (the real middleware, a MemoryBlobStore): whole
files, every Range form, 416, If-Range, HEAD, headers, a big file streamed with backpressure, and a
multipart upload streamed chunk by chunk."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from catalyst_adapters.blobs import MemoryBlobStore
from catalyst_api.media_io import blob_response, content_disposition, file_chunks
from catalyst_api.middleware import api_middleware
from catalyst_core.auth.model import Actor

DATA = bytes(range(256)) * 40  # 10,240 bytes whose every offset is recognisable
SIZE = len(DATA)
STORE = web.AppKey("store", Any)
SEEN_CHUNKS = web.AppKey("seen_chunks", list)


async def _no_auth(token: str) -> Actor:  # the app's routes live outside /api/v1: never called
    raise AssertionError("no authentication expected")


async def _source(data: bytes) -> AsyncIterator[bytes]:
    yield data


class CountingStore(MemoryBlobStore):
    """Counts the bytes its reads have handed out, to see how far ahead of the client the server is."""

    def __init__(self) -> None:
        super().__init__()
        self.handed_out = 0

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in super().read(key, start, end):
            self.handed_out += len(chunk)
            yield chunk


async def serve(request: web.Request) -> web.StreamResponse:
    return await blob_response(request, request.app[STORE], request.match_info["key"],
                               content_type="video/mp4", filename=request.query.get("name"))


async def upload(request: web.Request) -> web.Response:
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, aiohttp.BodyPartReader) and part.name == "file":
            async def counted(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
                async for chunk in chunks:
                    request.app[SEEN_CHUNKS].append(len(chunk))
                    yield chunk
            stored = await request.app[STORE].put("upload", counted(file_chunks(part)), max_bytes=10**8)
            return web.json_response({"size": stored.size})
    return web.json_response({"size": None}, status=422)


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    app = web.Application(middlewares=[api_middleware(_no_auth, headers={"X-Frame-Options": "DENY"})])
    store = CountingStore()
    await store.put("clip", _source(DATA), max_bytes=SIZE)
    await store.put("empty", _source(b""), max_bytes=0)
    app[STORE], app[SEEN_CHUNKS] = store, []
    app.router.add_get("/blobs/{key}", serve)
    app.router.add_post("/upload", upload)
    return await aiohttp_client(app)


def store_of(client: TestClient) -> CountingStore:
    return client.app[STORE]


# -- whole files -----------------------------------------------------------------------------------

async def test_a_whole_file(client: TestClient) -> None:
    r = await client.get("/blobs/clip?name=launch.mp4")
    assert r.status == 200
    assert await r.read() == DATA
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.headers["Content-Type"] == "video/mp4"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"] == "inline; filename=\"launch.mp4\"; filename*=UTF-8''launch.mp4"
    assert r.headers["Cache-Control"] == "private"
    assert "Content-Range" not in r.headers
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    # The middleware's headers still reach a streamed response.
    assert r.headers["X-Request-ID"] and r.headers["X-Frame-Options"] == "DENY"


async def test_no_filename_no_disposition(client: TestClient) -> None:
    r = await client.get("/blobs/clip")
    assert r.status == 200 and "Content-Disposition" not in r.headers


async def test_a_missing_blob_is_a_404_envelope(client: TestClient) -> None:
    r = await client.get("/blobs/nothing")
    assert r.status == 404
    assert (await r.json())["status_code"] == 404


async def test_an_empty_file_is_served_whole_even_with_a_range(client: TestClient) -> None:
    for headers in ({}, {"Range": "bytes=0-10"}, {"Range": "bytes=-5"}):
        r = await client.get("/blobs/empty", headers=headers)
        assert r.status == 200
        assert await r.read() == b""
        assert r.headers["Content-Length"] == "0"


# -- ranges ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-0", 0, 0),
    ("bytes=0-1", 0, 1),
    ("bytes=100-199", 100, 199),
    ("bytes=100-", 100, SIZE - 1),
    ("bytes=0-", 0, SIZE - 1),                  # the whole file, still a 206 (Safari's player asks so)
    ("bytes=10000-99999", 10000, SIZE - 1),     # the end is clamped to the file
    (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),
    ("bytes=-1", SIZE - 1, SIZE - 1),
    ("bytes=-500", SIZE - 500, SIZE - 1),
    (f"bytes=-{SIZE + 50}", 0, SIZE - 1),       # a suffix longer than the file is the whole file
    ("BYTES=5-9", 5, 9),
])
async def test_a_satisfiable_range_is_206(client: TestClient, header: str, first: int, last: int) -> None:
    r = await client.get("/blobs/clip", headers={"Range": header})
    assert r.status == 206
    assert await r.read() == DATA[first:last + 1]
    assert r.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert r.headers["Content-Length"] == str(last - first + 1)
    assert r.headers["Content-Type"] == "video/mp4"
    assert r.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=99999-",
                                    "bytes=-0"])
async def test_an_unsatisfiable_range_is_416(client: TestClient, header: str) -> None:
    r = await client.get("/blobs/clip", headers={"Range": header})
    assert r.status == 416
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"
    body = await r.json()
    assert body["status_code"] == 416 and body["detail"]


@pytest.mark.parametrize("header", [
    "bytes=5-2",            # reversed
    "bytes=0-1,5-6",        # several ranges: we serve the whole file rather than multipart
    "bytes=abc", "bytes=", "bytes=-", "items=0-5", "0-5", "bytes 0-5", "bytes=1-2-3",
])
async def test_a_malformed_or_multi_range_gets_the_whole_file(client: TestClient, header: str) -> None:
    r = await client.get("/blobs/clip", headers={"Range": header})
    assert r.status == 200
    assert await r.read() == DATA
    assert "Content-Range" not in r.headers


async def test_if_range_honours_only_the_current_version(client: TestClient) -> None:
    whole = await client.get("/blobs/clip")
    etag, modified = whole.headers["ETag"], whole.headers["Last-Modified"]
    for validator in (etag, modified):
        r = await client.get("/blobs/clip", headers={"Range": "bytes=0-9", "If-Range": validator})
        assert r.status == 206 and await r.read() == DATA[:10]
    for stale in ('"0-0"', f"W/{etag}", "Wed, 21 Oct 2015 07:28:00 GMT", "not a date"):
        r = await client.get("/blobs/clip", headers={"Range": "bytes=0-9", "If-Range": stale})
        assert r.status == 200 and await r.read() == DATA
    # A replaced blob gets a new ETag: the old one no longer resumes.
    await store_of(client).put("clip", _source(DATA[::-1]), max_bytes=SIZE)
    r = await client.get("/blobs/clip", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status == 200 and await r.read() == DATA[::-1]


# -- HEAD --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "status", "length"), [
    ({}, 200, SIZE), ({"Range": "bytes=10-19"}, 206, 10),
])
async def test_head_has_the_headers_and_no_body(client: TestClient, headers: dict[str, str], status: int,
                                                length: int) -> None:
    r = await client.head("/blobs/clip", headers=headers)
    assert r.status == status
    assert r.headers["Content-Length"] == str(length)
    assert r.headers["Accept-Ranges"] == "bytes"
    assert await r.read() == b""
    assert store_of(client).handed_out == 0  # the store was never read


# -- streaming ---------------------------------------------------------------------------------------

async def test_a_big_file_streams_with_backpressure(client: TestClient) -> None:
    big = os.urandom(1024 * 1024) * 48  # 48 MiB, far more than socket buffers can hold
    store = store_of(client)
    await store.put("big", _source(big), max_bytes=len(big))
    async with client.get("/blobs/big") as r:
        assert r.status == 200 and r.headers["Content-Length"] == str(len(big))
        first = await r.content.readexactly(1024)
        for _ in range(50):  # let the server run ahead as far as it can
            await asyncio.sleep(0)
        # The server reads from the store only as the client takes bytes, never the whole file.
        assert store.handed_out < len(big) // 2
        digest = hashlib.sha256(first)
        while chunk := await r.content.read(1024 * 1024):
            digest.update(chunk)
    assert digest.digest() == hashlib.sha256(big).digest()
    assert store.handed_out == len(big)


async def test_a_client_that_leaves_mid_file_stops_the_read(client: TestClient) -> None:
    big = b"\x00" * (48 * 1024 * 1024)
    store = store_of(client)
    await store.put("big", _source(big), max_bytes=len(big))
    async with client.get("/blobs/big") as r:
        await r.content.readexactly(1024)
    for _ in range(50):
        await asyncio.sleep(0)
    assert store.handed_out < len(big)


async def test_file_chunks_streams_a_multipart_upload(client: TestClient) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 123)
    form = aiohttp.FormData()
    form.add_field("ad_type", "video")
    form.add_field("file", payload, filename="clip.mp4", content_type="video/mp4")
    r = await client.post("/upload", data=form)
    assert r.status == 200 and (await r.json())["size"] == len(payload)
    assert b"".join([c async for c in store_of(client).read("upload")]) == payload
    seen = client.app[SEEN_CHUNKS]
    assert len(seen) > 1 and max(seen) <= 64 * 1024


def test_content_disposition_keeps_the_name_and_the_header_safe() -> None:
    assert content_disposition("summer sale.png") == (
        "inline; filename=\"summer sale.png\"; filename*=UTF-8''summer%20sale.png")
    value = content_disposition('été "promo"\r\nX-Evil: 1.mp4')
    assert "\r" not in value and "\n" not in value
    assert value.startswith('inline; filename="_t_ _promo___X-Evil: 1.mp4"; ')
    assert value.endswith("filename*=UTF-8''%C3%A9t%C3%A9%20%22promo%22%0D%0AX-Evil%3A%201.mp4")
