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
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

SLICE_SECONDS = 0.001
# Items mapped between two looks at the clock: small enough that a slice overruns by little even
# for items of ~20 µs, large enough that the clock costs nothing per item.
CHUNK = 16


async def map_sliced(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """[fn(item) for item in items], letting the event loop run other work about every
    millisecond. `fn` must not depend on state other coroutines may change meanwhile."""
    out: list[R] = []
    it = iter(items)
    deadline = time.perf_counter() + SLICE_SECONDS
    while chunk := list(islice(it, CHUNK)):
        out += map(fn, chunk)
        if time.perf_counter() >= deadline:
            await asyncio.sleep(0)
            deadline = time.perf_counter() + SLICE_SECONDS
    return out
