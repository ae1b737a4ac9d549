"""The longest time one task-list request holds the event loop, per list shape (issue #14, item 3).

The app runs in this process on the seeded 100,000-task database (bench/seed.py), fed one request at
a time through aiohttp's own entry point. A sentinel task yields to the loop without pause and
records the gap between two of its turns: while a request's code runs without awaiting, the
sentinel cannot run, so the longest gap during a request is the longest stall that request caused
(work done off the loop, in a worker thread or process, does not count unless it holds the GIL).

    .venv/bin/python bench/loop_lag.py [--runs 5] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import seed as seeding  # noqa: E402

SORTS = ("created_at", "updated_at", "name", "due_date", "priority")
# Each filter of GET /tasks with a value that matches part of the seeded data.
FILTERS: dict[str, str] = {
    "": "", "status": "status=pending", "task_type": "task_type=review_report",
    "priority": "priority=High", "by_me": "by_me=true", "other_people": "other_people=true",
    "assignee_id": "assignee_id={user_id}", "q": "q=report",
    "due_before": "due_before=2026-06-01", "due_after": "due_after=2026-06-01",
}
# Shapes whose cost could grow with the page number rather than the page size.
DEEP_PAGES = ("client_id={client_id}&status=pending&page=390",
              "client_id={client_id}&page=990", "page=9000")


def shapes(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, query string): every sort with every filter, with and without client_id."""
    values = {"user_id": record["user_id"], "client_id": record["client_ids"][0]}
    found = []
    for scoped in (True, False):
        for name, part in FILTERS.items():
            for sort in SORTS:
                query = "&".join(p for p in (
                    "client_id={client_id}" if scoped else "", part, f"sort={sort}") if p)
                label = f"{'client ' if scoped else 'all '}{name or '-'} sort={sort}"
                found.append((label, query.format(**values)))
    found += [(f"deep {q.split('page=')[1]} {q.split('&')[0].split('=')[0]}", q.format(**values))
              for q in DEEP_PAGES]
    return found


class Sentinel:
    """Yields to the loop without pause. `worst` is the longest gap between two of its turns in
    wall time; `worst_cpu` the longest in the loop thread's CPU time, which leaves out the time the
    OS gave the core to another process (this machine's 2 cores are shared, and a heavy read runs
    in a worker process beside us): the time the loop was held by our own code."""

    def __init__(self) -> None:
        self.worst = self.worst_cpu = self.worst_gc = 0.0
        self._stop = False
        self._gc_started = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks: the cyclic collector's pauses, which stall the loop whatever the request."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.worst_gc = max(self.worst_gc, time.perf_counter() - self._gc_started)

    async def run(self) -> None:
        clock, cpu = time.perf_counter, time.thread_time
        last, last_cpu = clock(), cpu()
        while not self._stop:
            await asyncio.sleep(0)
            now, now_cpu = clock(), cpu()
            if now - last > self.worst:
                self.worst = now - last
            if now_cpu - last_cpu > self.worst_cpu:
                self.worst_cpu = now_cpu - last_cpu
            last, last_cpu = now, now_cpu

    def stop(self) -> None:
        self._stop = True


# label, max wall stall, median wall stall, max CPU stall, longest GC pause (ms)
Result = tuple[str, float, float, float, float]


async def measure(record: dict[str, Any], runs: int, only: str | None) -> list[Result]:
    from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

    from catalyst_api.app import create_app
    from catalyst_api.serve import freeze_startup_objects

    app = create_app()
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/api/v1/auth/login",
                                 json={"email": record["email"], "password": record["password"]})
        token = (await resp.json())["data"]["access_token"]
        # As `catalyst serve` does once the app is built: without it, the cyclic collector's full
        # scans of the start-up objects stall the loop for 15-65 ms now and then, whatever the shape.
        freeze_startup_objects()
        headers = {"Authorization": f"Bearer {token}"}
        sentinel = Sentinel()
        watcher = asyncio.create_task(sentinel.run())
        gc.callbacks.append(sentinel.on_gc)
        results = []
        try:
            for label, query in shapes(record):
                if only and only not in label:
                    continue
                stalls, cpu_stalls, gc_pauses = [], [], []
                for i in range(runs + 1):  # the first builds and caches the shape's statements
                    request = make_mocked_request("GET", f"/api/v1/tasks?{query}&limit=20",
                                                  headers=headers, app=app)
                    await asyncio.sleep(0)
                    sentinel.worst = sentinel.worst_cpu = sentinel.worst_gc = 0.0
                    response = await app._handle(request)  # aiohttp's own entry point
                    await asyncio.sleep(0)  # let the sentinel record the last stretch
                    assert response.status == 200, (label, response.body)
                    if i:
                        stalls.append(sentinel.worst * 1e3)
                        cpu_stalls.append(sentinel.worst_cpu * 1e3)
                        gc_pauses.append(sentinel.worst_gc * 1e3)
                results.append((label, max(stalls), statistics.median(stalls), max(cpu_stalls),
                                max(gc_pauses)))
                print(_row(results[-1]), flush=True)
        finally:
            gc.callbacks.remove(sentinel.on_gc)
            sentinel.stop()
            await watcher
    return results


def _row(result: Result) -> str:
    label, worst, median, cpu, gc_pause = result
    return (f"{label:40} wall max {worst:6.2f} ms, median {median:5.2f}; CPU max {cpu:5.2f}; "
            f"GC max {gc_pause:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "results" / "data")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", help="only shapes whose label contains this")
    parser.add_argument("--limit-ms", type=float, default=2.0)
    args = parser.parse_args()
    with seeding.in_process_copy(args.data_dir, "catalyst-looplag-") as record:
        from catalyst_api.loop import new_event_loop

        with asyncio.Runner(loop_factory=new_event_loop) as runner:  # the server's loop (uvloop)
            results = runner.run(measure(record, args.runs, args.only))
    over = [r for r in results if r[1] > args.limit_ms or r[3] > args.limit_ms]
    print(f"\n{len(results)} shapes x {args.runs} runs; worst wall {max(r[1] for r in results):.2f} "
          f"ms, worst CPU {max(r[3] for r in results):.2f} ms; {len(over)} over {args.limit_ms} ms:")
    for result in sorted(over, key=lambda r: -r[3]):
        print(" ", _row(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
