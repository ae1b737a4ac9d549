"""Creative submissions with the file itself (multipart/form-data): what is recorded from the bytes,
the file served back with Range support, and every bad upload refused with nothing left behind
(too big, not media, a renamed text file, empty, fields after the file). Runs over memory, SQLite
and PostgreSQL storage, with the in-memory BlobStore, and once with the local-directory one."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from catalyst_adapters.blobs import LocalDirectoryBlobStore
from catalyst_adapters.clock import FrozenClock
from tests.helpers import API, Caller, Cast, cast
from tests.http.test_alerts import UNKNOWN, fields_of, schema_errors
from tests.media_files import mp4, png


@pytest.fixture
async def scene(api: Any, clock: FrozenClock) -> Cast:
    return await cast(api)


def form(client_id: str | None, data: bytes, *, filename: str = "banner.png",
         content_type: str = "image/png", ad_type: str = "image", before: dict[str, str] | None = None,
         after: dict[str, str] | None = None) -> aiohttp.FormData:
    body = aiohttp.FormData(quote_fields=False)  # names as browsers send them, not %-escaped
    fields = {"name": "Summer Sale Banner", "ad_type": ad_type, "headline": "Summer Sale",
              **({"client_id": client_id} if client_id else {}), **(before or {})}
    for name, value in fields.items():
        body.add_field(name, value)
    body.add_field("file", data, filename=filename, content_type=content_type)
    for name, value in (after or {}).items():
        body.add_field(name, value)
    return body


async def upload(who: Caller, body: aiohttp.FormData, **params: str) -> tuple[int, dict[str, Any]]:
    return await who.post("/creative-submissions", data=body, params=params)


async def nothing_stored(api: Any, scene: Cast) -> None:
    assert await api.container.blobs().keys() == []
    _, reply = await scene.admin.get("/creative-submissions", params={"client_id": scene.client})
    assert reply["data"]["submissions"] == []
    _, reply = await scene.admin.get("/tasks", params={"client_id": scene.client})
    assert reply["data"]["tasks"] == []


async def fetch(api: Any, who: Caller, submission: dict[str, Any], **headers: str
                ) -> aiohttp.ClientResponse:
    assert submission["media_url"].startswith(API)
    response = await api.get(submission["media_url"], headers={**who.headers, **headers})
    await response.read()
    return response


async def test_an_uploaded_image_is_recorded_from_its_bytes(scene: Cast, api: Any) -> None:
    image = png(640, 480)
    status, reply = await upload(scene.member, form(
        scene.client, image, filename="C:\\fakepath\\summer banner.PNG",
        content_type="application/octet-stream"))
    assert status == 201, reply
    s = reply["data"]
    assert schema_errors("CreativeSubmission", s) == []
    assert (s["media_filename"], s["media_size"], s["media_content_type"]) == (
        "summer banner.PNG", len(image), "image/png")
    assert (s["media_width"], s["media_height"]) == (640, 480)
    assert s["media_url"] == f"{API}/creative-submissions/{s['id']}/media"
    assert await api.container.blobs().keys() == [s["id"].replace("-", "")]
    response = await fetch(api, scene.viewer, s)
    assert response.status == 200
    assert await response.read() == image
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "summer%20banner.PNG" in response.headers["Content-Disposition"]


async def test_a_video_is_served_in_ranges(scene: Cast, api: Any) -> None:
    video = mp4(200_000)
    status, reply = await upload(scene.member, form(scene.client, video, filename="spot.mp4",
                                                    content_type="video/mp4", ad_type="video"))
    assert status == 201, reply
    s = reply["data"]
    assert (s["media_content_type"], s["media_width"], s["media_height"]) == ("video/mp4", None, None)
    for header, first, last in (("bytes=0-99", 0, 99), ("bytes=199990-", 199_990, 199_999),
                                ("bytes=-10", 199_990, 199_999), ("bytes=100000-100000", 100_000, 100_000),
                                ("bytes=199000-500000", 199_000, 199_999)):
        response = await fetch(api, scene.member, s, Range=header)
        assert response.status == 206, header
        assert await response.read() == video[first:last + 1], header
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(video)}"
        assert int(response.headers["Content-Length"]) == last - first + 1
    response = await fetch(api, scene.member, s, Range="bytes=200000-")
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{len(video)}"
    for ignored in ("bytes=abc", "bytes=0-1,5-6", "lines=1-2"):
        response = await fetch(api, scene.member, s, Range=ignored)
        assert response.status == 200 and await response.read() == video, ignored


async def test_a_carousel_takes_either_and_the_client_may_come_from_the_query(scene: Cast) -> None:
    status, reply = await upload(scene.member, form(None, mp4(), ad_type="carousel",
                                                    content_type="video/mp4"), client_id=scene.client)
    assert status == 201, reply
    status, reply = await upload(scene.member, form(None, png()))
    assert status == 422 and set(fields_of(reply)) == {"client_id"}


async def test_too_big_is_413_and_leaves_nothing(api_factory: Any) -> None:
    api = await api_factory("sqlite", max_upload_bytes=50_000)
    scene = await cast(api)
    for size in (50_001, 400_000):
        status, reply = await upload(scene.member, form(scene.client, png(padding=size)))
        assert status == 413 and reply["status_code"] == 413, reply
    await nothing_stored(api, scene)
    status, reply = await upload(scene.member, form(scene.client, png(padding=40_000)))
    assert status == 201, reply


async def test_content_that_is_no_image_or_video_is_415(scene: Cast, api: Any) -> None:
    for data, name, declared in ((b"just some text, honestly\n" * 20, "banner.png", "image/png"),
                                 (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "a.pdf",
                                  "application/pdf"),
                                 (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg", "image/svg+xml"),
                                 (b"PK\x03\x04" + b"\x00" * 100, "a.zip", "application/zip")):
        status, reply = await upload(scene.member, form(scene.client, data, filename=name,
                                                        content_type=declared))
        assert status == 415 and reply["status_code"] == 415, (name, reply)
    await nothing_stored(api, scene)


async def test_bad_forms_are_422_and_leave_nothing(scene: Cast, api: Any) -> None:
    status, reply = await upload(scene.member, form(scene.client, b""))
    assert status == 422 and fields_of(reply) == {"file": "must not be empty"}
    status, reply = await upload(scene.member, form(scene.client, mp4(), ad_type="image",
                                                    content_type="video/mp4"))
    assert status == 422 and set(fields_of(reply)) == {"file"}
    status, reply = await upload(scene.member, form(scene.client, png(),
                                                    before={"media_url": "https://example.com/x.png"}))
    assert status == 422 and set(fields_of(reply)) == {"media_url"}
    status, reply = await upload(scene.member, form(scene.client, png(), after={"ad_type": "poster"}))
    assert status == 422 and set(fields_of(reply)) == {"ad_type"}  # checked once the file is in
    status, reply = await upload(scene.member, form(scene.client, png(), after={"client_id": UNKNOWN}))
    assert status == 422 and set(fields_of(reply)) == {"client_id"}
    status, reply = await upload(scene.member, form(scene.client, png(), before={"colour": "red"}))
    assert status == 422 and set(fields_of(reply)) == {"colour"}
    status, reply = await upload(scene.member, form(scene.client, png(),
                                                    before={"name": " ", "ad_type": "gif"}))
    assert status == 422 and set(fields_of(reply)) == {"name", "ad_type"}
    status, reply = await upload(scene.member, form(scene.client, png(), before={"headline": "x" * 70_000}))
    assert status == 422 and set(fields_of(reply)) == {"headline"}
    body = aiohttp.FormData()
    body.add_field("name", io.BytesIO(b"\xff\xfe"), content_type="text/plain")
    body.add_field("file", png(), filename="a.png")
    status, reply = await upload(scene.member, body, client_id=scene.client)
    assert status == 422 and set(fields_of(reply)) == {"name"}
    await nothing_stored(api, scene)


async def test_fields_may_follow_the_file(scene: Cast, api: Any) -> None:
    """Clients that put the file first (or in the middle) are served: what follows the file is
    checked once it is stored, and a refusal then deletes it again."""
    body = aiohttp.FormData(quote_fields=False)
    body.add_field("ad_type", "image")
    body.add_field("file", png(8, 8), filename="early.png", content_type="image/png")
    body.add_field("name", "Late name")
    body.add_field("client_id", scene.client)
    status, reply = await upload(scene.member, body)
    assert status == 201, reply
    assert (reply["data"]["name"], reply["data"]["media_width"]) == ("Late name", 8)
    assert await api.container.blobs().keys() == [reply["data"]["id"].replace("-", "")]
    for who, expected in ((scene.viewer, 403), (scene.outsider, 404)):
        late = aiohttp.FormData(quote_fields=False)
        late.add_field("file", png(), filename="a.png", content_type="image/png")
        late.add_field("name", "x")
        late.add_field("ad_type", "image")
        late.add_field("client_id", scene.client)
        status, reply = await upload(who, late)
        assert status == expected, reply
    twice = aiohttp.FormData(quote_fields=False)
    twice.add_field("file", png(), filename="a.png", content_type="image/png")
    twice.add_field("file", png(), filename="b.png", content_type="image/png")
    status, reply = await upload(scene.member, twice, client_id=scene.client)
    assert status == 422 and set(fields_of(reply)) == {"file"}
    assert len(await api.container.blobs().keys()) == 1  # only the accepted one


async def test_the_roles_of_uploads_and_media(scene: Cast, api: Any) -> None:
    status, reply = await upload(scene.viewer, form(scene.client, png()))
    assert status == 403, reply
    status, reply = await upload(scene.outsider, form(scene.client, png()))
    assert status == 404, reply
    await nothing_stored(api, scene)
    status, reply = await upload(scene.member, form(scene.client, png()))
    s = reply["data"]
    for who, expected in ((scene.viewer, 200), (scene.admin, 200), (scene.platform, 200),
                          (scene.outsider, 404)):
        response = await fetch(api, who, s)
        assert response.status == expected
    response = await api.get(s["media_url"])
    assert response.status == 401


async def test_the_local_directory_store_keeps_the_file_on_disk(api_factory: Any, tmp_path: Path) -> None:
    api = await api_factory("sqlite")
    store = LocalDirectoryBlobStore(tmp_path / "media")
    api.container.blobs.override(store)
    scene = await cast(api)
    image = png(31, 17, padding=300_000)
    status, reply = await upload(scene.member, form(scene.client, image))
    assert status == 201, reply
    [stored] = list((tmp_path / "media").iterdir())
    assert stored.read_bytes() == image and stored.name == reply["data"]["id"].replace("-", "")
    response = await fetch(api, scene.member, reply["data"], Range="bytes=-17")
    assert response.status == 206 and await response.read() == image[-17:]
    status, reply = await upload(scene.member, form(scene.client, b"not an image at all"))
    assert status == 415
    assert [p.name for p in (tmp_path / "media").iterdir()] == [stored.name]  # no temp file left


async def test_a_form_that_cannot_be_read_is_400(scene: Cast, api: Any) -> None:
    for content_type, body in (("multipart/form-data", b"name=x"),
                               ("multipart/form-data; boundary=abc", b"garbage without a boundary"),
                               ("multipart/form-data; boundary=abc",
                                b"--abc\r\nContent-Disposition: form-data\r\n\r\nx\r\n--abc--\r\n")):
        status, reply = await scene.member.post("/creative-submissions", data=body,
                                                params={"client_id": scene.client},
                                                headers={"Content-Type": content_type})
        assert status in (400, 422) and reply["status_code"] == status, (content_type, body, reply)
    await nothing_stored(api, scene)
