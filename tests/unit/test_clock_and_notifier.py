"""The clocks and the notifiers behave as the ports promise."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from attrs import frozen

from catalyst_adapters.clock import FrozenClock, SystemClock
from catalyst_adapters.notifier import LogNotifier, RecordingNotifier
from catalyst_core.events import Event, TaskAssigned, TaskCompleted
from catalyst_core.ids import ClientId, TaskId, UserId

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def completed(**overrides) -> TaskCompleted:
    fields = {
        "occurred_at": START,
        "task_id": TaskId(uuid.UUID(int=1)),
        "client_id": ClientId(uuid.UUID(int=2)),
        "by": UserId(uuid.UUID(int=3)),
    }
    return TaskCompleted(**(fields | overrides))


# --- clocks ---------------------------------------------------------------------------------


def test_system_clock_is_aware_utc_and_close_to_now() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_clock_stands_still() -> None:
    clock = FrozenClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_frozen_clock_advance_accumulates() -> None:
    clock = FrozenClock(START)
    assert clock.advance(hours=1) == START + timedelta(hours=1)
    clock.advance(minutes=30, seconds=5)
    assert clock.now() == START + timedelta(hours=1, minutes=30, seconds=5)
    clock.advance()  # no arguments: no movement
    assert clock.now() == START + timedelta(hours=1, minutes=30, seconds=5)


def test_frozen_clock_advance_refuses_to_go_back() -> None:
    clock = FrozenClock(START)
    with pytest.raises(ValueError):
        clock.advance(seconds=-1)
    assert clock.now() == START


def test_frozen_clock_set_jumps_both_ways_and_normalises_to_utc() -> None:
    clock = FrozenClock(START)
    earlier = datetime(2020, 1, 1, tzinfo=UTC)
    assert clock.set(earlier) == earlier
    assert clock.now() == earlier
    paris = datetime(2024, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    clock.set(paris)
    assert clock.now() == paris
    assert clock.now().utcoffset() == timedelta(0) and clock.now().hour == 12


def test_frozen_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        FrozenClock(datetime(2024, 1, 1))
    clock = FrozenClock(START)
    with pytest.raises(ValueError):
        clock.set(datetime(2024, 1, 1))
    assert clock.now() == START


def test_frozen_clock_has_a_fixed_default_start() -> None:
    assert FrozenClock().now() == FrozenClock().now()
    assert FrozenClock().now().tzinfo is not None


# --- notifiers ------------------------------------------------------------------------------


async def test_recording_notifier_keeps_events_in_order_and_filters() -> None:
    notifier = RecordingNotifier()
    first = completed()
    assigned = TaskAssigned(occurred_at=START, task_id=TaskId(uuid.uuid4()), client_id=ClientId(uuid.uuid4()),
                            assignees=(UserId(uuid.uuid4()),), by=UserId(uuid.uuid4()))
    second = completed(by=UserId(uuid.uuid4()))
    for event in (first, assigned, second):
        await notifier.notify(event)
    assert notifier.events == [first, assigned, second]
    assert notifier.of_type(TaskCompleted) == [first, second]
    assert notifier.of_type(TaskAssigned) == [assigned]
    assert notifier.of_type(Event) == [first, assigned, second]
    notifier.clear()
    assert notifier.events == []
    assert notifier.of_type(TaskCompleted) == []


async def test_log_notifier_logs_kind_and_fields(caplog: pytest.LogCaptureFixture) -> None:
    user = UserId(uuid.uuid4())
    event = TaskAssigned(
        occurred_at=START,
        task_id=TaskId(uuid.UUID(int=7)),
        client_id=ClientId(uuid.UUID(int=8)),
        assignees=(user,),
        by=user,
    )
    with caplog.at_level(logging.INFO, logger="catalyst.events"):
        await LogNotifier().notify(event)
    [record] = caplog.records
    assert record.name == "catalyst.events" and record.levelno == logging.INFO
    assert record.event_kind == "TaskAssigned"
    assert record.event_fields == {
        "occurred_at": START.isoformat(),
        "task_id": str(uuid.UUID(int=7)),
        "client_id": str(uuid.UUID(int=8)),
        "assignees": [str(user)],
        "by": str(user),
    }
    message = record.getMessage()
    assert message.startswith("TaskAssigned ")
    assert f"task_id={uuid.UUID(int=7)}" in message and str(user) in message


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot render")

    __repr__ = __str__


@frozen(kw_only=True)
class OddEvent(Event):
    payload: object


async def test_log_notifier_swallows_an_unrenderable_event(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="catalyst.events"):
        await LogNotifier().notify(OddEvent(occurred_at=START, payload=Unprintable()))  # must not raise
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "OddEvent" in record.getMessage()
    assert record.exc_info is not None and "cannot render" in str(record.exc_info[1])


class ExplodingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        raise OSError("disk full")

    # Handler.handle catches nothing itself when emit raises outside handleError; make sure the
    # exception really reaches the logger call, as a broken third-party handler would.
    def handle(self, record: logging.LogRecord) -> bool:
        self.emit(record)
        return True


async def test_log_notifier_survives_a_broken_handler() -> None:
    logger = logging.getLogger("catalyst.events.test-broken")
    logger.propagate = False
    handler = ExplodingHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with pytest.raises(OSError):
            logger.info("sanity: the handler really raises")
        await LogNotifier(logger).notify(completed())  # must not raise
    finally:
        logger.removeHandler(handler)
