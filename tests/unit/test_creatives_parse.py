"""The parse rules of a creative submission, as CreativesService applies them: one InvalidInput
names every bad field and nothing is read or stored; a file must be of its ad's kind; the name
kept for an upload is cleaned of paths and control characters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from catalyst_adapters.memory import MemoryStorage
from catalyst_contracts.state_machines.creatives import png
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.clients.model import ClientRole, Membership
from catalyst_core.creatives.model import MAX_FILENAME, upload_filename
from catalyst_core.creatives.service import Upload
from catalyst_core.errors import Forbidden, InvalidInput
from tests.unit.test_creatives_service import (
    ADMIN,
    C1,
    MEMBER,
    MP4,
    PNG,
    ROOT,
    T0,
    World,
    chunks,
    fields,
    member,
    upload,
)


@pytest.fixture
async def w() -> World:
    return await World(MemoryStorage()).seed()


async def never_read() -> AsyncIterator[bytes]:
    raise AssertionError("the upload must not be read when the fields are refused")
    yield b""  # pragma: no cover


async def test_one_invalid_input_names_every_bad_field(w: World) -> None:
    with pytest.raises(InvalidInput) as raised:
        await w.service.submit(member(MEMBER), {
            "client_id": str(C1), "name": "   ", "ad_type": "radio", "media_url": "ftp://x.example/a.png",
            "colour": "red", "headline": 7}, Upload(never_read()))
    assert set(raised.value.fields) == {"name", "ad_type", "media_url", "colour", "headline"}
    await w.assert_nothing_kept()


async def test_a_missing_client_id_and_ad_type_are_named(w: World) -> None:
    with pytest.raises(InvalidInput) as raised:
        await w.service.submit(member(MEMBER), {"name": "x", "client_id": "nope"})
    assert set(raised.value.fields) == {"client_id", "ad_type"}


async def test_media_url_and_a_file_together_are_refused(w: World) -> None:
    with pytest.raises(InvalidInput) as raised:
        await w.service.submit(member(MEMBER), fields(media_url="https://cdn.example/a.png"),
                               Upload(never_read()))
    assert set(raised.value.fields) == {"media_url"}
    await w.assert_nothing_kept()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://", "http://a b.example/x", "/relative.png"])
async def test_media_urls_must_be_http(w: World, url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        await w.service.submit(member(MEMBER), fields(media_url=url))
    assert set(raised.value.fields) == {"media_url"}


@pytest.mark.parametrize(("ad_type", "data"), [("image", MP4), ("video", PNG)],
                         ids=["image-ad-video-file", "video-ad-image-file"])
async def test_a_file_of_the_wrong_kind_is_invalid_on_file(w: World, ad_type: str, data: bytes) -> None:
    with pytest.raises(InvalidInput) as raised:
        await w.service.submit(member(MEMBER), fields(ad_type=ad_type), upload(data))
    assert set(raised.value.fields) == {"file"}
    await w.assert_nothing_kept()


async def test_carousels_take_videos_and_images_record_their_size(w: World) -> None:
    video = await w.service.submit(member(MEMBER), fields(ad_type="carousel"), upload(MP4))
    image = await w.service.submit(member(MEMBER), fields(), upload(png(640, 3)))
    assert (video.media.content_type, video.media.width, video.media.size) == ("video/mp4", None, len(MP4))
    assert (image.media.content_type, image.media.width, image.media.height) == ("image/png", 640, 3)


async def test_a_viewer_is_refused_before_the_upload_is_read(w: World) -> None:
    async with w.storage.transaction() as tx:
        await tx.members.add(Membership(C1, ROOT, ClientRole.VIEWER, T0))
    with pytest.raises(Forbidden):
        await w.service.submit(Actor(ROOT, GlobalRole.MEMBER), fields(), Upload(never_read()))
    await w.assert_nothing_kept()


@pytest.mark.parametrize(("raw", "kept"), [
    ("ad.png", "ad.png"),
    ("C:\\Users\\me\\Desktop\\summer ad.png", "summer ad.png"),
    ("../../etc/passwd", "passwd"),
    ("/var/tmp/", None),
    ("bad\x00na\x1bme\n.png", "badname.png"),
    ("gnp.\u202eexe", "gnp.exe"),  # a right-to-left override would disguise the extension
    ("  spaced.png  ", "spaced.png"),
    ("\t\r\n", None),
    ("", None),
    (None, None),
    ("é" * 300 + ".png", "é" * MAX_FILENAME),
])
def test_upload_filenames_are_cleaned(raw: str | None, kept: str | None) -> None:
    assert upload_filename(raw) == kept


async def test_the_stored_filename_is_the_cleaned_one(w: World) -> None:
    created = await w.service.submit(member(MEMBER), fields(),
                                     Upload(chunks(PNG), filename="C:\\fakepath\\..\\x\x07.png"))
    assert created.media.filename == "x.png"
    stored = await w.service.media(member(ADMIN), created.id)
    assert (stored.filename, stored.size, stored.content_type) == ("x.png", len(PNG), "image/png")
