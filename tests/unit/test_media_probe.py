"""HeaderMediaProbe: real files made here (Pillow for images, hand-built MP4/QuickTime/WebM headers)
are recognised with their sizes; text, PDF, SVG, archives, empty and truncated input never raise."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from catalyst_adapters.media import DEFAULT_HEAD_BYTES, HeaderMediaProbe
from catalyst_core.ports import MediaInfo

probe = HeaderMediaProbe()


def image(fmt: str, size: tuple[int, int] = (7, 5), mode: str = "RGB", **options: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, fmt, **options)
    return out.getvalue()


def box(kind: bytes, payload: bytes = b"") -> bytes:
    """One ISO-BMFF box: 32-bit size, 4-byte type, payload."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))


def ebml_header(doctype: bytes) -> bytes:
    """An EBML header (Matroska/WebM) with the given DocType, then the start of a Segment."""
    def element(element_id: bytes, value: bytes) -> bytes:
        return element_id + bytes([0x80 | len(value)]) + value
    body = (element(b"\x42\x86", b"\x01") + element(b"\x42\xf7", b"\x01") + element(b"\x42\xf2", b"\x04")
            + element(b"\x42\xf3", b"\x08") + element(b"\x42\x82", doctype)
            + element(b"\x42\x87", b"\x04") + element(b"\x42\x85", b"\x02"))
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + b"\x18\x53\x80\x67\x01" + b"\x00" * 7


MP4 = ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41") + box(b"free") + box(b"mdat", b"\x00" * 64)
MP4_MP42 = ftyp(b"mp42", b"mp42", b"mp41") + box(b"moov", b"\x00" * 32)
QUICKTIME = ftyp(b"qt  ", b"qt  ") + box(b"wide") + box(b"mdat", b"\x00" * 16)
WEBM = ebml_header(b"webm")


@pytest.mark.parametrize(("data", "content_type", "size"), [
    (image("PNG"), "image/png", (7, 5)),
    (image("PNG", (640, 480), "RGBA"), "image/png", (640, 480)),
    (image("JPEG", (33, 1)), "image/jpeg", (33, 1)),
    (image("JPEG", (120, 80), exif=b"Exif\x00\x00" + b"\x00" * 60_000), "image/jpeg", (120, 80)),
    (image("GIF", (9, 4)), "image/gif", (9, 4)),
    (image("WEBP", (300, 200)), "image/webp", (300, 200)),
    (image("WEBP", (31, 17), lossless=True), "image/webp", (31, 17)),
    (image("WEBP", (31, 17), "RGBA", exif=b"Exif\x00\x00" + b"\x00" * 20), "image/webp", (31, 17)),
], ids=["png", "png-rgba", "jpeg", "jpeg-big-exif", "gif", "webp", "webp-lossless", "webp-extended"])
def test_images_are_recognised_with_their_size(data: bytes, content_type: str, size: tuple[int, int]) -> None:
    assert probe.probe(data) == MediaInfo(content_type=content_type, kind="image", width=size[0],
                                          height=size[1])


def test_an_animated_gif_and_png_are_images() -> None:
    frames = [Image.new("RGB", (6, 6), colour) for colour in ("red", "blue")]
    for fmt in ("GIF", "PNG"):
        out = io.BytesIO()
        frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
        info = probe.probe(out.getvalue())
        assert info is not None and info.kind == "image" and (info.width, info.height) == (6, 6)


@pytest.mark.parametrize(("data", "content_type"), [
    (MP4, "video/mp4"), (MP4_MP42, "video/mp4"), (QUICKTIME, "video/quicktime"), (WEBM, "video/webm"),
], ids=["mp4-isom", "mp4-mp42", "quicktime", "webm"])
def test_videos_are_recognised_without_a_size(data: bytes, content_type: str) -> None:
    assert probe.probe(data) == MediaInfo(content_type=content_type, kind="video")


def test_only_the_head_is_needed() -> None:
    big = image("PNG", (2000, 1500)) + b"\x00" * (2 * DEFAULT_HEAD_BYTES)
    assert probe.probe(big[:probe.head_bytes]) == probe.probe(big)
    assert probe.probe(big) == MediaInfo("image/png", "image", 2000, 1500)


@pytest.mark.parametrize("data", [
    b"",
    b"hello world\nthis is just text, renamed to holiday.png\n",
    "\ufeffUTF-8 text with a BOM and ünïcödé".encode(),
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    b'<svg xmlns="http://www.w3.org/2000/svg" width="3" height="4"><script>alert(1)</script></svg>',
    b"<!DOCTYPE html><html><body><img src=x></body></html>",
    b"RIFF\x00\x00\x00\x00WAVEfmt ",                  # RIFF, but audio
    b"RIFF\x24\x00\x00\x00AVI LIST",                  # RIFF, a video we do not accept
    ebml_header(b"matroska"),                         # MKV: not playable in browsers
    ftyp(b"M4A ", b"M4A ", b"mp42", b"isom")[:12],    # cut inside the ftyp box
    b"\x1f\x8b\x08\x00" + b"\x00" * 20,               # gzip
    b"\x00" * 1000,
], ids=["empty", "text", "bom-text", "pdf", "svg", "html", "wav", "avi", "mkv",
        "short-ftyp", "gzip", "zeros"])
def test_anything_else_is_none(data: bytes) -> None:
    assert probe.probe(data) is None


def test_a_zip_and_an_office_file_are_none() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("image.png", image("PNG"))
    assert probe.probe(out.getvalue()) is None


def test_a_text_file_renamed_png_is_none(tmp_path: Path) -> None:
    renamed = tmp_path / "holiday.png"
    renamed.write_text("Dear team,\nplease find the creative attached.\n" * 200, encoding="utf-8")
    with renamed.open("rb") as f:
        assert probe.probe(f.read(probe.head_bytes)) is None


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_truncated_images_never_raise(fmt: str) -> None:
    data = image(fmt, (50, 40))
    expected_type = f"image/{fmt.lower()}"
    sizes_seen = set()
    for cut in range(len(data) + 1):
        info = probe.probe(data[:cut])
        if info is None:
            continue
        assert (info.content_type, info.kind) == (expected_type, "image")
        sizes_seen.add((info.width, info.height))
    # A cut header gives the type without a size; the whole header gives the real size, never a wrong one.
    assert sizes_seen <= {(None, None), (50, 40)}
    assert (50, 40) in sizes_seen


def test_a_header_with_absurd_dimensions_records_no_size() -> None:
    png = bytearray(image("PNG"))
    png[16:24] = struct.pack(">II", 0, 5)  # width 0 in IHDR
    info = probe.probe(bytes(png))
    assert info is not None and info.content_type == "image/png"
    assert (info.width, info.height) == (None, None)


@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    for prefix in (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8",
                   b"\x00\x00\x00\x18ftypisom", b"\x1a\x45\xdf\xa3"):
        info = probe.probe(prefix + data)
        assert info is None or info.kind in ("image", "video")


def test_head_bytes_too_small_is_refused() -> None:
    with pytest.raises(ValueError):
        HeaderMediaProbe(head_bytes=16)
