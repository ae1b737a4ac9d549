"""Tiny real media files for tests, made in code: a PNG of any size, an MP4 and a WebM header."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 3, height: int = 2, *, padding: int = 0) -> bytes:
    """A valid RGB PNG; `padding` adds a private ancillary chunk of that many bytes (a large file
    that is still a real image)."""
    raw = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    extra = chunk(b"prVt", b"\x00" * padding) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def mp4(size: int = 64) -> bytes:
    """An ISO-BMFF file: an `ftyp` box with the isom/mp42 brands, then an `mdat` box."""
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 0x200) + b"isommp42"
    body = b"\x00" * max(0, size - len(ftyp) - 8)
    return ftyp + struct.pack(">I", len(body) + 8) + b"mdat" + body
