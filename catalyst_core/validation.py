"""Checking a caller's JSON-like input in one pass: every problem is collected under its dotted path
(`condition_config.operator`, `weights.engagement`), so one InvalidInput names them all.

`Problems.take(path, check, raw)` runs one check; a check raises `Bad` with what the value must be."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


class Problems:
    """Collects every problem under its dotted path; `take` runs one check and records its failure."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, message)

    def take(self, path: str, check: Callable[[Any], Any], raw: Any, default: Any = None) -> Any:
        try:
            return check(raw)
        except Bad as e:
            self.add(path, str(e))
            return default


class Bad(Exception):
    """A check's failure; its message says what the value must be."""


def text(max_length: int, *, required: bool) -> Callable[[Any], str | None]:
    def check(raw: Any) -> str | None:
        if raw is None:
            if required:
                raise Bad("is required")
            return None
        if not isinstance(raw, str):
            raise Bad("must be a string")
        if "\x00" in raw:
            raise Bad("must not contain U+0000")
        text = raw.strip()
        if required and not text:
            raise Bad("must not be empty")
        if len(text) > max_length:
            raise Bad(f"must be at most {max_length} characters")
        return text if text or required else None
    return check


def choice(kind: type[Any]) -> Callable[[Any], Any]:
    def check(raw: Any) -> Any:
        try:
            return kind(raw)
        except ValueError:
            raise Bad("must be one of " + ", ".join(m.value for m in kind)) from None
    return check



def boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise Bad("must be true or false")
    return raw


def int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(raw: Any) -> int:
        # JSON has one number type: 7.0 is the whole number 7 (JSON Schema's `integer` says so too).
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise Bad(f"must be a whole number from {low} to {high}")
        return raw
    return check


def decimal_number(raw: Any, maximum: Decimal) -> Decimal:
    """A non-negative finite number, exactly as sent (a JSON number or decimal text)."""
    if isinstance(raw, bool):
        raise Bad("must be a number")
    try:
        if isinstance(raw, float):
            if not math.isfinite(raw):
                raise Bad("must be a finite number")
            value = Decimal(repr(raw))
        elif isinstance(raw, int | Decimal):
            value = Decimal(raw)
        elif isinstance(raw, str):
            value = Decimal(raw.strip())
        else:
            raise Bad("must be a number")
    except InvalidOperation:
        raise Bad("must be a number") from None
    if not value.is_finite():
        raise Bad("must be a finite number")
    if value < 0:
        raise Bad("must not be negative")
    if value > maximum:
        raise Bad(f"must be at most {maximum:,}")
    return value



def object_of(problems: Problems, path: str, raw: Any, keys: frozenset[str]) -> Mapping[str, Any]:
    """`raw` as a mapping with only known keys (each unknown one is a problem of its own)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(path, "must be an object")
        return {}
    for key in raw:
        if key not in keys:
            problems.add(f"{path}.{key}" if path else str(key), "is not a known field")
    return raw
