"""Parsing requests and presenting responses: cattrs converters, strict on purpose.

cattrs' defaults are loose ("false" becomes True, None becomes "None"), so the body converter only
accepts the JSON type each field declares. Query strings carry text, so the query converter parses
text strictly instead. Every failure becomes InvalidInput naming each offending field."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar, get_origin

import attrs
import orjson
from aiohttp import web
from cattrs import Converter
from cattrs.cols import list_structure_factory
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from catalyst_api.inputs import NUL_MESSAGE, field_checks, nul_problems, refuse_other_media
from catalyst_core.cooperative import map_sliced
from catalyst_core.errors import InvalidInput

T = TypeVar("T")


class MalformedBody(Exception):
    """The body is not JSON; answered 400."""




# -- strict scalar hooks ---------------------------------------------------------------------------

def _text_from(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError("must be a string")
    # PostgreSQL cannot store U+0000 in text: refused on every storage, so all three agree.
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


def _expect(kind: type | tuple[type, ...], name: str) -> Callable[[Any, type], Any]:
    def hook(value: Any, _: type) -> Any:
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise TypeError(f"must be {name}")
        if not isinstance(value, kind):
            raise TypeError(f"must be {name}")
        return value
    return hook


def _whole_number(value: Any, _: type) -> int:
    # JSON has one number type: 7.0 is the whole number 7, as JSON Schema's `integer` says too.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _expect(int, "an integer")(value, _)  # type: ignore[no-any-return]


def _uuid_from(value: Any, _: type) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError("must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError("must be a UUID") from None


def _date_from(value: Any, _: type) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a valid date (YYYY-MM-DD)") from None


def parse_datetime(value: str) -> datetime:
    """ISO-8601; a time without zone is taken as UTC; always returned in UTC."""
    try:
        parsed = datetime.fromisoformat(value)
        # Converting to UTC can leave datetime's range (9999-12-31T23:00-05:00): still bad input.
        return (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO-8601 date-time") from None


def _datetime_from(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError("must be an ISO-8601 date-time string")
    return parse_datetime(value)


def _enum_from(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in cls)  # type: ignore[attr-defined]
        raise ValueError(f"must be one of {allowed}") from None


def _query_int(value: Any, _: type) -> int:
    # Any size (a page far past the end is simply empty), but not so long that parsing costs.
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,40}", value.strip()):
        return int(value)
    raise ValueError("must be an integer")


def _query_bool(value: Any, _: type) -> bool:
    lowered = str(value).strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError("must be true or false")


def _base_converter(*, forbid_extra_keys: bool) -> Converter:
    conv = Converter(forbid_extra_keys=forbid_extra_keys, detailed_validation=True)
    conv.register_structure_hook(uuid.UUID, _uuid_from)
    conv.register_structure_hook(date, _date_from)
    conv.register_structure_hook(datetime, _datetime_from)
    conv.register_structure_hook(str, _text_from)
    # Registered for StrEnum too: it comes before str in a StrEnum's MRO, so the str hook
    # above does not swallow our enums.
    conv.register_structure_hook(enum.StrEnum, _enum_from)
    conv.register_structure_hook(enum.Enum, _enum_from)
    return conv


def _strict_list_factory(shape: Any, conv: Any) -> Callable[[Any, type], Any]:
    # cattrs turns any iterable into a list: a string into its characters, an object into its keys.
    structure_list = list_structure_factory(shape, conv)

    def hook(value: Any, type_: type) -> Any:
        if not isinstance(value, list):
            raise TypeError("must be an array")
        return structure_list(value, type_)
    return hook


def body_converter() -> Converter:
    conv = _base_converter(forbid_extra_keys=True)
    conv.register_structure_hook_factory(lambda t: t is list or get_origin(t) is list, _strict_list_factory)
    conv.register_structure_hook(int, _whole_number)
    conv.register_structure_hook(float, lambda v, _: float(_expect((int, float), "a number")(v, _)))
    conv.register_structure_hook(bool, _expect(bool, "a boolean"))
    return conv


def query_converter() -> Converter:
    # Unknown query parameters are ignored: proxies and browsers add their own.
    conv = _base_converter(forbid_extra_keys=False)
    conv.register_structure_hook(int, _query_int)
    conv.register_structure_hook(bool, _query_bool)
    return conv


BODY = body_converter()
QUERY = query_converter()


# -- error details ---------------------------------------------------------------------------------

def _issues(exc: BaseException, path: str) -> dict[str, str]:
    if isinstance(exc, ForbiddenExtraKeysError):
        return {_join(path, key): "unknown field" for key in sorted(exc.extra_fields)}
    if isinstance(exc, ClassValidationError | IterableValidationError):
        found: dict[str, str] = {}
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            key = note.name if isinstance(note, AttributeValidationNote) else str(note.index)
            found.update(_issues(sub, _join(path, key)))
        for sub in without:
            found.update(_issues(sub, path))
        return found
    if isinstance(exc, KeyError):
        return {path: "required"}
    return {path or "body": _message(exc)}


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else ""
    if isinstance(exc, TypeError | ValueError) and text.startswith("must "):
        return text
    return "invalid value"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def structure(conv: Converter, data: Any, shape: type[T]) -> T:
    """`data` read into `shape`; one InvalidInput names every field of the wrong type, every
    text holding U+0000 and every field its `checked` check refuses."""
    problems = nul_problems(data)
    try:
        parsed = conv.structure(data, shape)
    except InvalidInput as e:
        problems = {**e.fields, **problems}
        parsed = None
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as e:
        problems = {**_issues(e, ""), **problems}
        parsed = None
    for name, message in field_checks(conv, data, shape).items():
        problems.setdefault(name, message)
    if problems:
        raise InvalidInput(problems)
    return parsed  # type: ignore[return-value]


# -- request helpers -------------------------------------------------------------------------------

async def read_json(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; an absent body is {} when `optional`."""
    raw = await request.read()
    refuse_other_media(request, raw)
    return decode_json(raw, optional=optional)


def decode_json(raw: bytes, *, optional: bool = False) -> dict[str, Any]:
    """A body's bytes as a JSON object: MalformedBody (400) when they are not JSON, InvalidInput
    (422, naming `body`) when the JSON is not an object; empty is {} when `optional`."""
    if not raw.strip():
        if optional:
            return {}
        raise MalformedBody("a JSON object body is required")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:  # also invalid UTF-8 and lone surrogates (\ud800)
        raise MalformedBody("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput({"body": "must be a JSON object"})
    return data


async def body(request: web.Request, shape: type[T], *, optional: bool = False) -> T:
    return structure(BODY, await read_json(request, optional=optional), shape)


@attrs.frozen
class NoBody:
    """The body of an action that takes none: empty, or an empty JSON object."""


async def no_body(request: web.Request) -> None:
    """Refuses a body an action does not take (not JSON: 415; any field: 422), as every other
    JSON endpoint refuses what it does not read."""
    await body(request, NoBody, optional=True)


async def patch_body(request: web.Request, shape: type[T], *,
                     nullable: Collection[str] = ()) -> tuple[T, set[str]]:
    """A partial update and the fields it names: fields left out stay unchanged, and null is
    accepted only for the `nullable` fields, where it clears the value."""
    return patch_of(await read_json(request), shape, nullable=nullable)


def patch_of(raw: dict[str, Any], shape: type[T], *,
             nullable: Collection[str] = ()) -> tuple[T, set[str]]:
    """patch_body on a body already read."""
    known = attrs.fields_dict(shape)  # type: ignore[arg-type]
    problems = {k: "must not be null" for k, v in raw.items()
                if v is None and k in known and k not in nullable}
    try:
        parsed = structure(BODY, raw, shape)
    except InvalidInput as e:
        problems = {**e.fields, **problems}
    if problems:
        raise InvalidInput(dict(sorted(problems.items())))
    return parsed, set(raw)


def query(request: web.Request, shape: type[T]) -> T:
    return structure(QUERY, dict(request.query), shape)


def all_of(*reads: Callable[[], Any]) -> list[Any]:
    """Each read's value; when any fail, one InvalidInput names what every one of them found (a
    bad path id and a bad query value, filters and paging, are all named at once)."""
    values: list[Any] = []
    problems: dict[str, str] = {}
    for read in reads:
        try:
            values.append(read())
        except InvalidInput as e:
            problems.update(e.fields)
    if problems:
        raise InvalidInput(problems)
    return values


def attempt(problems: dict[str, str], read: Callable[[], T], default: Any = None) -> T:
    """read(), or `default` once its InvalidInput's fields are added to `problems`: for handlers
    that gather the problems of several parts (query, path, body) into one 422."""
    try:
        return read()
    except InvalidInput as e:
        problems.update(e.fields)
        return default  # type: ignore[no-any-return]


def query_parts(request: web.Request, *shapes: type) -> tuple[Any, ...]:
    """The query string read into several shapes at once (filters and paging, say); one 422
    names every offending parameter."""
    return tuple(all_of(*(lambda shape=shape: query(request, shape) for shape in shapes)))


def path_id(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise InvalidInput({name: "must be a UUID"}) from None


# -- presenting ------------------------------------------------------------------------------------

def _json_extra(value: Any) -> Any:
    """What orjson does not encode itself: exact money (Decimal) as a JSON number, digit for digit."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value.normalize(), "f"))
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(payload: Any) -> bytes:
    """JSON with UUIDs, enums, dates and UTC datetimes (as ...Z) encoded natively by orjson, and
    Decimals as exact numbers."""
    return orjson.dumps(payload, default=_json_extra, option=orjson.OPT_UTC_Z)


def envelope(data: Any, *, status: int = 200, message: str = "Success",
             headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps({"status_code": status, "message": message, "data": data}),
                        status=status, content_type="application/json", headers=headers)


async def large_envelope(present: Callable[[], Awaitable[Any]], *, status: int = 200,
                         message: str = "Success") -> web.Response:
    """envelope(await present()), for answers of thousands of lines (reports, lead batches):
    `present` builds their lists with `encoded_list`, so no step holds the event loop for long
    (catalyst_core.cooperative says why not a worker thread). What is left to encode here is
    the envelope around pieces already encoded: a copy."""
    data = await present()
    return web.Response(body=dumps({"status_code": status, "message": message, "data": data}),
                        status=status, content_type="application/json")


async def encoded_list(present_one: Callable[[T], Any], items: Iterable[T]) -> orjson.Fragment:
    """The JSON array of present_one(item) for each item, presented and encoded on the event loop
    a slice at a time: a part of a payload for `dumps`, which copies it as it is."""
    pieces = await map_sliced(lambda item: dumps(present_one(item)), items)
    return orjson.Fragment(b"[" + b",".join(pieces) + b"]")


def error_response(status: int, message: str, detail: Any = None,
                   headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps({"status_code": status, "message": message, "detail": detail}),
                        status=status, content_type="application/json", headers=headers)
