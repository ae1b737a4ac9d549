"""Long pure computations on the event loop, in slices of about a millisecond.

A worker thread does not take Python work off the event loop: the GIL lets one thread run at a time,
and every time the loop's thread lets go of it (each socket read or write, each SQLite step) it
waits for the computing thread to hand it back, up to the switch interval (5 ms). A performance
report of 2,000 lines composed and presented on threads this way held the task list's loop in 5 ms
steps for 60-85 ms per report, and took the list's p99 from ~40 to ~95 ms (docs/benchmarks.md,
"Performance data and reports"). Done on the loop itself, a slice at a time with a turn of the loop
between slices, the same work delays no other request by more than a slice.

Used for every per-line step of a large answer: rows converted from storage, lines composed by the
core, lines presented and encoded by the HTTP API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

SLICE_SECONDS = 0.001


async def map_sliced(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """[fn(item) for item in items], letting the event loop run other work about every
    millisecond (the clock is read after each item: ~50 ns, and an item may be slow). `fn` must
    not depend on state other coroutines may change meanwhile."""
    out: list[R] = []
    append, clock = out.append, time.perf_counter
    deadline = clock() + SLICE_SECONDS
    for item in items:
        append(fn(item))
        if clock() >= deadline:
            await asyncio.sleep(0)
            deadline = clock() + SLICE_SECONDS
    return out
