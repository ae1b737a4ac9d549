"""Notifiers: one that writes each event to the log, and one that records events for tests."""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

from catalyst_core.events import Event

E = TypeVar("E", bound=Event)

EVENT_LOGGER = "catalyst.events"


def _render(value: Any) -> Any:
    # Plain JSON-friendly values, so structured log handlers can serialise `extra` without hooks.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [_render(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls))


def event_fields(event: Event) -> dict[str, Any]:
    """The event's fields as plain values (UUIDs and datetimes as strings)."""
    if attrs.has(type(event)):  # every write logs its events: the names are looked up once
        return {name: _render(getattr(event, name)) for name in _field_names(type(event))}
    return {name: _render(value) for name, value in vars(event).items()}


class LogNotifier:
    """Logs each event at INFO on the `catalyst.events` logger; never raises. Not durable: an event
    whose process dies before it is logged is lost, so use cases need not write it to the outbox."""

    durable = False

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(EVENT_LOGGER)

    async def notify(self, event: Event) -> None:
        try:
            kind = event.kind
            fields = event_fields(event)
            # The message is built here rather than lazily by the handler, so a value that cannot
            # be rendered fails inside this try and not somewhere the caller would see it.
            message = " ".join([kind, *(f"{name}={value}" for name, value in fields.items())])
            # Fields go under one key: spreading them into `extra` could collide with LogRecord's
            # own attributes (`name`, `args`, ...), which makes logging raise.
            self.logger.info(message, extra={"event_kind": kind, "event_fields": fields})
        except Exception:
            # The Notifier port promises never to raise: the use case already committed.
            try:
                self.logger.exception("could not log event of type %s", type(event).__name__)
            except Exception:
                pass  # the logging machinery itself is broken; there is nowhere left to report it


class RecordingNotifier:
    """Keeps every event in `.events`, in order, for tests to inspect. `durable=True` makes use
    cases also write each event to the outbox, as they do for a durable notifier (webhooks)."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.events: list[Event] = []

    async def notify(self, event: Event) -> None:
        self.events.append(event)

    def clear(self) -> None:
        self.events.clear()

    def of_type(self, cls: type[E]) -> list[E]:
        """The recorded events that are instances of `cls`, in the order they arrived."""
        return [event for event in self.events if isinstance(event, cls)]
