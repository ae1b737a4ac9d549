"""Reads give way to writes: while writes are arriving, at most a few reads run per turn of the
event loop.

A request's handler runs from start to end in one step of the loop (reads and brief writes alike
never leave it: docs/adr/0001, 0007), and each turn of the loop runs every request that became
ready during the previous one. Under a flood of reads a turn holds dozens of them, so a write, which
a client sends only after its previous one was answered, waits a whole turn full of reads each
time: with 28 connections reading and 4 creating tasks, creates fell to a fifth of their rate alone
while reads kept three quarters of theirs (docs/benchmarks.md, "Writes"). Writes are few and each
one costs the client a round trip; reads are many and cheap. So while writes have been seen within
WINDOW seconds, reads past `per_turn` in one turn of the loop wait for a later turn (in arrival
order), which keeps every turn short and lets a write through within a turn or two. Without writes,
a read pays one clock reading."""

from __future__ import annotations

import asyncio
from collections import deque

WINDOW = 0.5  # seconds after the last write during which reads are paced


class ReadPacer:
    def __init__(self, per_turn: int, window: float = WINDOW) -> None:
        if per_turn < 1:
            raise ValueError("per_turn must be at least 1")
        self._per_turn = per_turn
        self._window = window
        self._last_write = float("-inf")
        self._admitted = 0  # reads let through in this turn of the loop
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._turn_scheduled = False

    def wrote(self, now: float) -> None:
        """A write request arrived at `now` (any monotonic clock in seconds, the one `pacing` is
        given too: the middleware passes the request's perf_counter start)."""
        self._last_write = now

    def pacing(self, now: float) -> bool:
        return now - self._last_write < self._window

    async def admit(self) -> None:
        """Return when this read may run: at once while the turn's allowance lasts, else in a
        later turn, after the reads that waited before it."""
        loop = asyncio.get_running_loop()
        self._schedule_turn(loop)
        if self._admitted < self._per_turn and not self._waiting:
            self._admitted += 1
            return
        waiter = loop.create_future()
        self._waiting.append(waiter)
        await waiter

    def _schedule_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._turn_scheduled:
            self._turn_scheduled = True
            loop.call_soon(self._next_turn, loop)

    def _next_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        """Runs once per turn of the loop while reads are paced: a fresh allowance, given first to
        the reads that waited (their handlers run in the next turn)."""
        self._turn_scheduled = False
        self._admitted = 0
        waiting = self._waiting
        while waiting and self._admitted < self._per_turn:
            waiter = waiting.popleft()
            if not waiter.done():  # a waiter whose client went away is cancelled
                waiter.set_result(None)
                self._admitted += 1
        if waiting or self._admitted:
            self._schedule_turn(loop)
