"""Clocks: the system's UTC clock for production and a frozen, hand-driven one for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# A fixed, round instant so tests that do not care about the date still get reproducible output.
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)


def _as_utc(dt: datetime) -> datetime:
    # A naive datetime has no meaning in the core (everything is UTC); guessing would hide bugs.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {dt!r}")
    return dt.astimezone(UTC)


class SystemClock:
    """The wall clock, always timezone-aware in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: `advance(...)` or `set(...)`."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = _as_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by `timedelta(**delta)` (e.g. `advance(hours=1)`) and return the new time."""
        step = timedelta(**delta)
        # Time going backwards through `advance` is almost always a test typo; `set` can go back.
        if step < timedelta(0):
            raise ValueError(f"advance() only moves forward, got {step}")
        self._now += step
        return self._now

    def set(self, dt: datetime) -> datetime:
        """Jump to `dt` (forward or backward) and return it, converted to UTC."""
        self._now = _as_utc(dt)
        return self._now

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()})"
