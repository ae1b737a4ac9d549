"""Summarise py-spy's collapsed stacks (`py-spy record --format raw --threads`) of the server.

    .venv/bin/python bench/profile_summary.py bench/results/<stamp>/profile.txt [--requests N]

Each sample is put in one category: walking its stack from the root, the first frame that belongs
to a known cost (SQLAlchemy compile, result processing, the aiosqlite hop, JWT, JSON, cattrs, ...)
decides; a stack with none of them goes by its innermost frame's package (aiohttp, asyncio, ...).
Samples of other threads than the event loop's are the aiosqlite worker threads (sqlite3 itself).
With --requests the totals become milliseconds of that thread's busy time per request.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the repository, cut from frame paths
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*?)(?::(?P<line>\d+))?\)$")

# (category, test on "func (file:line)") in the order they are tried, root to leaf.
ROWS = "rows -> Task objects -> dicts (generated converters, _task, present_task)"
HOP = "aiosqlite thread hop (queue put wakes the worker, await_/greenlet)"
LOOP = "asyncio loop (epoll, self-pipe wake-ups from the worker threads, callbacks)"
RULES: list[tuple[str, re.Pattern[str]]] = [
    ("JWT verify (PyJWT + base64 checks)", re.compile(r"/jwt/|adapters/security\.py")),
    ("JSON encoding of the response", re.compile(r"^(dumps|_default|timestamp|envelope) .*wire\.py")),
    ("query-string parsing (cattrs)", re.compile(r"/cattrs/|^(query|structure) .*wire\.py")),
    (ROWS,
     re.compile(r"^_task .*task_repos\.py|^convert .*<string>|^page_data |^present_task ")),
]
# Judged on the innermost frame: SQLite's own work (stepping the statement, building row tuples)
# runs in C under the fast lane's Python frame (adapters/sql/inline.py).
LEAF_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("SQLite: running statements, fetching rows (C, under _Prepared.run)",
     re.compile(r"^_Prepared\.run ")),
]
SQLA = re.compile(r"/sqlalchemy/")
SQLA_SUB = [
    ("SQLAlchemy: compile / cache key", re.compile(
        r"sql/compiler\.py|_generate_cache_key|cache_key\.py|_compile_w_cache|sql/traversals\.py")),
    (HOP, re.compile(r"/aiosqlite/|greenlet|concurrency\.py|connectors/asyncio\.py|queue\.py")),
    ("SQLAlchemy: result rows / type processing (JSON column, UtcDateTime, Uuid)", re.compile(
        r"engine/result\.py|engine/row\.py|sqltypes\.py|type_api\.py|_row_getter|process_result|/json/")),
    ("SQLAlchemy: pool checkout/return", re.compile(r"/pool/")),
]
THREAD = re.compile(r"^thread \((?P<id>[^)]*)\)")


def parse(text: str) -> list[tuple[str, list[str], int]]:
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue  # a frame name with a line break in it (py-spy prints SQL text as is); skip
        frames = stack.split(";")
        thread = ""
        if frames and (m := THREAD.match(frames[0])):
            thread, frames = m.group("id"), frames[1:]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        samples.append((thread, frames, int(count)))
    return samples


def _package(frame: str) -> str:
    m = _FRAME.match(frame)
    file = m.group("file") if m else frame
    for key, name in (("aiohttp", "aiohttp (HTTP parsing, routing, writing)"),
                      ("asyncio", LOOP), ("selectors", LOOP), ("sqlalchemy", "SQLAlchemy: other"),
                      ("aiosqlite", HOP),
                      ("catalyst", "Catalyst code (handlers, services, middlewares)"),
                      ("entrypoints", "Catalyst code (handlers, services, middlewares)"),
                      ("adapters", "Catalyst code (handlers, services, middlewares)"),
                      ("logging", "logging"), ("uuid", "uuid (request ids, UUID parsing)")):
        if key in file:
            return name
    return f"other ({file.rsplit('/', 1)[-1]})"


def categorise(frames: list[str]) -> str:
    for name, rule in LEAF_RULES:
        if frames and rule.search(frames[-1]):
            return name
    for i, frame in enumerate(frames):
        for name, rule in RULES:
            if rule.search(frame):
                return name
        if SQLA.search(frame):
            deeper = frames[i:]
            for name, rule in SQLA_SUB:
                if any(rule.search(f) for f in deeper):
                    return name
            return "SQLAlchemy: other (execute plumbing, connection/transaction objects)"
    return _package(frames[-1]) if frames else "no Python frame (native code, GIL hand-over)"


def summarise(text: str, *, requests: int | None = None, rate: int = 100) -> dict[str, Any]:
    samples = parse(text)
    per_thread: Counter[str] = Counter()
    for thread, _, n in samples:
        per_thread[thread] += n
    # The event loop's thread is the one running web.run_app (or the one with most samples).
    loop_threads = {t for t, frames, _ in samples
                    if any("run_forever" in f or "run_app" in f for f in frames)}
    main = max(loop_threads or set(per_thread), key=lambda t: per_thread[t]) if per_thread else ""
    categories: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    worker: Counter[str] = Counter()
    for thread, frames, n in samples:
        if thread != main:
            leaf = frames[-1] if frames else "?"
            worker[_short_frame(leaf, with_line=True)] += n
            continue
        categories[categorise(frames)] += n
        if frames:
            self_time[_short_frame(frames[-1])] += n
        for f in set(frames):
            inclusive[_short_frame(f)] += n
    main_total = per_thread[main]
    worker_total = sum(v for t, v in per_thread.items() if t != main)

    def ms(n: int) -> float | None:
        return round(n / rate / requests * 1e3, 3) if requests else None

    return {
        "rate": rate, "requests": requests,
        "loop_thread_samples": main_total, "worker_thread_samples": worker_total,
        "loop_ms_per_request": ms(main_total), "worker_ms_per_request": ms(worker_total),
        "categories": [{"category": c, "samples": n, "share": round(n / main_total, 4),
                        "ms_per_request": ms(n)} for c, n in categories.most_common()],
        "top_self": [{"frame": f, "samples": n, "share": round(n / main_total, 4)}
                     for f, n in self_time.most_common(25)],
        "top_inclusive": [{"frame": f, "samples": n, "share": round(n / main_total, 4)}
                          for f, n in inclusive.most_common(60)],
        "worker_top": [{"frame": f, "samples": n} for f, n in worker.most_common(10)],
    }


_PREFIXES = re.compile(r"^.*?(site-packages/|lib/python3\.\d+/|" + re.escape(f"{ROOT}/") + ")")


def _short_frame(frame: str, *, with_line: bool = False) -> str:
    """`func (file)` with the install prefixes cut off; `func (file:line)` with `with_line`."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    file = _PREFIXES.sub("", m.group("file"))
    where = f"{file}:{m.group('line')}" if with_line and m.group("line") else file
    return f"{m.group('func')} ({where})"


def markdown(s: dict[str, Any]) -> str:
    per = s["requests"] is not None
    lines = [f"py-spy at {s['rate']} Hz; event-loop thread busy "
             + (f"{s['loop_ms_per_request']} ms/request" if per else f"{s['loop_thread_samples']} samples")
             + ", aiosqlite worker threads busy "
             + (f"{s['worker_ms_per_request']} ms/request" if per
                else f"{s['worker_thread_samples']} samples")
             + ".", "", "| where the event loop's time goes | share | ms/request |", "|---|---|---|"]
    for c in s["categories"]:
        lines.append(f"| {c['category']} | {c['share']:.1%} | {c['ms_per_request'] or '-'} |")
    lines += ["", "Top functions by self time (event-loop thread):", "",
              "| function | self share |", "|---|---|"]
    lines += [f"| `{f['frame']}` | {f['share']:.1%} |" for f in s["top_self"][:15]]
    lines += ["", "Top functions by inclusive time (event-loop thread):", "",
              "| function | inclusive share |", "|---|---|"]
    lines += [f"| `{f['frame']}` | {f['share']:.1%} |" for f in s["top_inclusive"][:40]]
    lines += ["", "aiosqlite worker threads, innermost frames:", ""]
    lines += [f"- `{f['frame']}`: {f['samples']} samples" for f in s["worker_top"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--rate", type=int, default=250)
    args = parser.parse_args()
    print(markdown(summarise(args.raw.read_text(), requests=args.requests, rate=args.rate)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
