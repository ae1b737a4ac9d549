"""What every input must be, whatever the endpoint: JSON said to be JSON (else 415), and no text
holding U+0000 at any depth (PostgreSQL stores none, so it is refused on every storage and all
three answer the same). Also the hook that runs the core's own field checks while a body is read."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson
from aiohttp import hdrs, web
from cattrs import Converter

from catalyst_core.errors import InvalidInput

NUL_MESSAGE = "must not contain U+0000"
# application/json and the structured-syntax +json types (application/problem+json, ...).
_JSON_MEDIA = re.compile(r"application/(?:[a-z0-9!#$&^_.-]+\+)?json")
_CHECK = "catalyst.check"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def checked(check: Callable[[Any], Any]) -> dict[str, Any]:
    """Field metadata: the core's own check of the field (a name's length, a logo's scheme), run
    while the body is read so one 422 names the fields of the wrong type and the fields the core
    would refuse, all at once. A check raises InvalidInput naming its field."""
    return {_CHECK: check}


def field_checks(conv: Converter, data: Any, shape: type) -> dict[str, str]:
    """What the `checked` fields' checks say of the fields that have the right type."""
    if not isinstance(data, Mapping) or not attrs.has(shape):
        return {}
    problems: dict[str, str] = {}
    for f in attrs.fields(attrs.resolve_types(shape)):  # type: ignore[arg-type]
        check = f.metadata.get(_CHECK)
        if check is None or data.get(f.name) is None:
            continue
        try:
            value = conv.structure(data[f.name], f.type)
        except Exception:  # the full pass names the field's wrong type
            continue
        try:
            check(value)
        except InvalidInput as e:
            problems.update(e.fields)
    return problems


def nul_problems(data: Any, path: str = "") -> dict[str, str]:
    """Every text holding U+0000 at any depth (PostgreSQL stores none): a value is named by its
    path (`raw_data.note`, `rows.3.ad_id`), a key by the object holding it (`body` at the top)."""
    # JSON escapes U+0000 as \u0000: one fast encoding spares walking a clean body.
    if b"\\u0000" not in orjson.dumps(data, default=str):
        return {}
    found: dict[str, str] = {}
    _walk_nul(data, path, found)
    return found


def _walk_nul(value: Any, path: str, found: dict[str, str]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.setdefault(path or "body", NUL_MESSAGE)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if "\x00" in str(key):
                found.setdefault(path or "body", NUL_MESSAGE + " (in a key)")
            else:
                _walk_nul(item, _join(path, str(key)), found)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk_nul(item, _join(path, str(index)), found)


def is_json(request: web.Request) -> bool:
    """Whether the request says its body is JSON: application/json or a +json type, in UTF-8
    (RFC 8259: JSON exchanged between systems is UTF-8). A missing Content-Type is not JSON."""
    if hdrs.CONTENT_TYPE not in request.headers:
        return False
    charset = request.charset
    return (_JSON_MEDIA.fullmatch(request.content_type) is not None
            and (charset is None or charset.lower().replace("-", "") == "utf8"))


def refuse_other_media(request: web.Request, raw: bytes, *, also: Callable[[web.Request], bool]
                       | None = None) -> None:
    """415 for a body that is not JSON (nor what `also` accepts, for routes that take another
    type too). An empty body is let through whatever it says it is: a body-less POST sent with
    no Content-Type, or a form's, asks for nothing to be parsed."""
    if raw.strip() and not is_json(request) and not (also is not None and also(request)):
        sent = request.headers.get(hdrs.CONTENT_TYPE) or "no Content-Type"
        raise web.HTTPUnsupportedMediaType(text=f"the body must be application/json, not {sent}")
