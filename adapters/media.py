"""MediaProbe adapter: what an upload is, judged from its first bytes (never its name or header).

Detection uses `filetype`: pure Python with no dependencies (no system libmagic, so a fresh CI machine
needs nothing), and each of its matchers checks a format's structure rather than one short magic
string (RIFF *and* `WEBP`, an ISO-BMFF `ftyp` box *and* its brands, EBML *and* its DocType), so it
gives one unambiguous answer. `puremagic` was tried too: its table maps a bare `RIFF` or a `free` box
to image/webp or video/quicktime, which would let non-media through. Its format list is stable (the
signatures of these formats do not change), so its slow release pace costs us nothing.
Pixel sizes come from `imagesize`, pure Python and maintained, which reads only the header of the
format (never decodes pixels and has no decompression-bomb limit to trip over on huge dimensions)."""

from __future__ import annotations

import io
from collections.abc import Mapping

import filetype
import imagesize

from catalyst_core.ports import MediaInfo

# What creatives may be: the formats browsers and the ad platforms display. Everything else is None
# (and so 415), including SVG on purpose: it is XML that can carry scripts, served from our origin.
ACCEPTED: Mapping[str, str] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/apng": "image",  # an animated PNG (filetype tells it apart); browsers show it as a PNG
    "image/gif": "image",
    "image/webp": "image",
    "image/avif": "image",
    "video/mp4": "video",
    "video/x-m4v": "video",
    "video/quicktime": "video",
    "video/webm": "video",
}

# A JPEG's frame header (which holds the size) follows its EXIF and ICC segments, each up to 64 KiB;
# 128 KiB covers what cameras and phones write while keeping an upload's look-ahead small.
DEFAULT_HEAD_BYTES = 128 * 1024
# Largest side we believe: a header claiming more is corrupt or hostile, so its size is not recorded.
_MAX_SIDE = 1 << 20


class HeaderMediaProbe:
    """Recognises the ACCEPTED image and video formats from the first `head_bytes` of a file and, for
    images, reads the width and height from the header. Never raises: anything it cannot recognise is
    None, and an image whose header is cut short is recognised without a size."""

    def __init__(self, head_bytes: int = DEFAULT_HEAD_BYTES,
                 accepted: Mapping[str, str] = ACCEPTED) -> None:
        if head_bytes < 262:  # filetype needs this much for its longest signature (tar's at 257)
            raise ValueError(f"head_bytes must be at least 262, got {head_bytes}")
        self.head_bytes = head_bytes
        self._accepted = dict(accepted)

    def probe(self, head: bytes) -> MediaInfo | None:
        head = bytes(head[:self.head_bytes])
        if not head:
            return None
        try:
            kind = filetype.guess(head)
        except Exception:  # a matcher tripping over odd bytes means "not recognised", never a 500
            return None
        if kind is None or kind.mime not in self._accepted:
            return None
        media_kind = self._accepted[kind.mime]
        if media_kind != "image":
            return MediaInfo(content_type=kind.mime, kind=media_kind)
        width, height = _image_size(head)
        return MediaInfo(content_type=kind.mime, kind=media_kind, width=width, height=height)


def _image_size(head: bytes) -> tuple[int | None, int | None]:
    try:
        width, height = imagesize.get(io.BytesIO(head))
    except Exception:  # a truncated or malformed header: the type stands, the size is unknown
        return None, None
    # imagesize answers -1 when it cannot tell and floats for vector formats; keep only real sizes.
    if (isinstance(width, int) and isinstance(height, int)
            and 0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        return width, height
    return None, None
