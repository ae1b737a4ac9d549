"""The write-path benchmark (issue #14, item 1): creating, editing, completing and commenting on
tasks through `catalyst serve` on SQLite, each alone and under the list load, against the bare
aiohttp ceiling measured in the same run.

    .venv/bin/python bench/writes.py --reuse [--duration 12] [--warmup 3] [--workers 1]
                                     [--writes create,update,complete,comment] [--quiet-wait 30]

One copy of the seeded database per run (bench/run.py's prepare_db, in `<data dir>/writes/`), one
server, one log-in; then wrk phases (--latency -t2, each after an unrecorded warm-up):

  ceiling    the list load (bench/wrk/list.lua) on bench/ceiling.py           (--connections, 32)
  list       the list load alone                                               (32)
  and for each write W of --writes:
  W          W alone                                                           (32)
  W mixed    the list on 28 connections and W on 4, two wrk processes at once  (--mixed-writers 4)

The writes, each with the body a client's form sends:
  create     POST  /api/v1/tasks: one assignee, a due date, a description (bench/wrk/create.lua)
  update     PATCH /api/v1/tasks/{id}: name, priority, description, due date (bench/wrk/writes.lua)
  complete   POST  /api/v1/tasks/{id}/complete, no body; every task once (a completed one is a 409)
  comment    POST  /api/v1/tasks/{id}/comments: {"comment": "..."}
update and comment cycle over 4,000 pending tasks of the bench user's clients; complete takes the
other open tasks (pending first), read from the SQLite file just before its first phase, so the
tasks the create phases made count too.

Targets (issue #14): W alone reaches >= 1/16 of the ceiling's requests/s with p99 < 50 ms; in W's
mixed phase the list keeps >= half of its solo requests/s and W >= half of W's. A Markdown table
with met/MISSED per target is printed; everything goes to bench/results/writes-<stamp>.json, the
logs and raw wrk output to bench/results/writes-<stamp>/. Exit 1 on any non-2xx response or socket
error (a bug, not noise), or when the complete phases ran out of open tasks (numbers not valid).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import sys
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import seed as seeding  # noqa: E402  (bench/ is not a package)
from run import RESULTS, TARGET_P99_MS, Bench, machine, prepare_db, results_dir, row  # noqa: E402
from tools import report_failures, stop, wrk_command  # noqa: E402

WRITES = ("create", "update", "complete", "comment")
LABELS = {"create": "POST /tasks", "update": "PATCH /tasks/{id}",
          "complete": "POST /tasks/{id}/complete", "comment": "POST /tasks/{id}/comments"}
TARGET_RATIO = 1 / 16
TARGET_MIXED = 0.5
EDIT_POOL = 4_000  # pending tasks that update and comment cycle over (never completed here)
COMPLETE_RATE = 3_000  # requests/s the complete phases should find enough open tasks for


# -- task ids --------------------------------------------------------------------------------------

def open_tasks(db: Path, client_ids: list[str], *, skip: frozenset[str] = frozenset(),
               only_pending: bool = False, limit: int | None = None) -> list[str]:
    """Ids (hex, as stored) of the open tasks of these clients, pending ones first, in id order
    (random UUIDs: spread over clients and over the table), read-only beside the running server."""
    hexes = [uuid.UUID(c).hex for c in client_ids]
    statuses = ("pending",) if only_pending else ("pending", "in_progress")
    sql = (f"SELECT id FROM tasks WHERE client_id IN ({','.join('?' * len(hexes))}) "
           f"AND status IN ({','.join('?' * len(statuses))}) ORDER BY status != 'pending', id")
    out: list[str] = []
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        for (hex_id,) in con.execute(sql, [*hexes, *statuses]):
            if hex_id not in skip:
                out.append(hex_id)
                if limit is not None and len(out) >= limit:
                    break
    return out


def write_ids(path: Path, hex_ids: list[str]) -> None:
    """One hyphenated UUID a line (the API's form of the 32 hex characters SQLite holds)."""
    path.write_text("".join(f"{uuid.UUID(h)}\n" for h in hex_ids))
    path.with_name(path.name + ".cursor").unlink(missing_ok=True)


def ids_report(raw: str) -> dict[str, Any] | None:
    """The BENCH_IDS line bench/wrk/writes.lua prints: ids used, the complete cursor, exhaustion."""
    m = re.search(r"^BENCH_IDS (\{.*\})$", raw, re.M)
    return json.loads(m.group(1)) if m else None


# -- the bench -------------------------------------------------------------------------------------

class WriteBench(Bench):
    def __init__(self, args: argparse.Namespace, record: dict[str, Any], run_dir: Path,
                 db_dir: Path) -> None:
        super().__init__(args, record, run_dir, db_dir)
        self.db = db_dir / seeding.DB_FILE
        self.edit_ids = run_dir / "edit-ids.txt"
        self.complete_ids = run_dir / "complete-ids.txt"
        self.edit_pool: frozenset[str] = frozenset()
        self.complete_pool = 0

    def pick_edit_ids(self) -> None:
        hexes = open_tasks(self.db, self.record["client_ids"], only_pending=True, limit=EDIT_POOL)
        if len(hexes) < EDIT_POOL:
            raise SystemExit(f"only {len(hexes)} pending tasks in {self.db}")
        self.edit_pool = frozenset(hexes)
        write_ids(self.edit_ids, hexes)

    def pick_complete_ids(self) -> None:
        """The open tasks not edited here; enough, if the database has them, for COMPLETE_RATE over
        both complete phases and their warm-ups."""
        want = int(COMPLETE_RATE * (self.args.duration + self.args.warmup) * 2)
        hexes = open_tasks(self.db, self.record["client_ids"], skip=self.edit_pool)
        write_ids(self.complete_ids, hexes)
        self.complete_pool = len(hexes)
        note = "" if len(hexes) >= want else (
            f" (fewer than the {want:,} for {COMPLETE_RATE:,}/s: enough for "
            f"{len(hexes) / ((self.args.duration + self.args.warmup) * 2):,.0f}/s)")
        print(f"  complete: {len(hexes):,} open tasks to complete{note}", flush=True)

    def complete_used(self) -> int:
        cursor = self.complete_ids.with_name(self.complete_ids.name + ".cursor")
        return int(cursor.read_text().strip() or 0) if cursor.exists() else 0

    def write_cmd(self, write: str, connections: int, seconds: float) -> list[str]:
        if write == "create":
            return self.create_cmd(connections, seconds)
        threads = max(1, min(self.args.threads, connections))  # as wrk_command clamps -t
        ids = self.complete_ids if write == "complete" else self.edit_ids
        return wrk_command(self.api, "writes.lua", connections, seconds, self.args.threads,
                           [self.token, write, str(ids), str(threads)])


# -- reporting -------------------------------------------------------------------------------------

def verdicts(p: dict[str, Any], write: str) -> dict[str, Any]:
    solo, ceiling, listing = p[write], p["ceiling"], p["list"]
    v: dict[str, Any] = {"rps": solo["rps"], "p50_ms": solo["p50_ms"], "p99_ms": solo["p99_ms"],
                         "server_cpu_us_per_request": solo.get("server_cpu_us_per_request")}
    v["ratio"] = round(solo["rps"] / ceiling["rps"], 4)
    v["ratio_ok"] = v["ratio"] >= TARGET_RATIO
    v["p99_ok"] = solo["p99_ms"] < TARGET_P99_MS
    if (mixed := p.get(f"{write}_mixed")) is not None:
        v["mixed_list_rps"], v["mixed_write_rps"] = mixed["list"]["rps"], mixed["write"]["rps"]
        v["mixed_list_share"] = round(mixed["list"]["rps"] / listing["rps"], 3)
        v["mixed_write_share"] = round(mixed["write"]["rps"] / solo["rps"], 3)
        v["mixed_list_ok"] = v["mixed_list_share"] >= TARGET_MIXED
        v["mixed_write_ok"] = v["mixed_write_share"] >= TARGET_MIXED
    return v


def _ok(flag: bool) -> str:
    return "met" if flag else "**MISSED**"


def markdown(result: dict[str, Any]) -> str:
    a, p = result["args"], result["phases"]
    c, m = a["connections"], a["mixed_writers"]
    ceiling, listing = p["ceiling"], p["list"]
    lines = [f"{a['workers']} server process(es); ceiling {ceiling['rps']:,.0f} requests/s "
             f"(target for a write alone: >= {ceiling['rps'] * TARGET_RATIO:,.0f}); list alone "
             f"{listing['rps']:,.0f} requests/s, p99 {listing['p99_ms']:.1f} ms", "",
             f"| write | requests/s | p50 ms | p99 ms | server CPU µs/req | ÷ ceiling (>= "
             f"{TARGET_RATIO:.4f}) | p99 < {TARGET_P99_MS:.0f} ms | mixed: list ÷ list alone "
             f"(>= {TARGET_MIXED}) | mixed: write ÷ write alone (>= {TARGET_MIXED}) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for write, v in result["verdicts"].items():
        mixed = ("-", "-")
        if "mixed_list_share" in v:
            mixed = (f"{v['mixed_list_share']:.2f} {_ok(v['mixed_list_ok'])} "
                     f"({v['mixed_list_rps']:,.0f}/s)",
                     f"{v['mixed_write_share']:.2f} {_ok(v['mixed_write_ok'])} "
                     f"({v['mixed_write_rps']:,.0f}/s)")
        lines.append(f"| {LABELS[write]} | {v['rps']:,.0f} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} | "
                     f"{v['server_cpu_us_per_request'] or '-'} | {v['ratio']:.4f} {_ok(v['ratio_ok'])} "
                     f"| {v['p99_ms']:.1f} {_ok(v['p99_ok'])} | {mixed[0]} | {mixed[1]} |")
    lines += ["", "Every phase:", "",
              "| phase | connections | requests/s | p50 ms | p99 ms | non-2xx | server CPU µs/req "
              "| timeouts (>2 s) | other load (cores) |", "|---|---|---|---|---|---|---|---|---|",
              row("ceiling (bare aiohttp, list requests)", str(c), ceiling),
              row("GET /tasks (list page)", str(c), listing)]
    for write in result["verdicts"]:
        lines.append(row(LABELS[write], str(c), p[write]))
        if (mixed := p.get(f"{write}_mixed")) is not None:
            lines.append(row("mixed: GET /tasks", str(c - m), mixed["list"]))
            lines.append(row(f"mixed: {LABELS[write]}", str(m), mixed["write"]))
    if (ids := result.get("complete_ids")):
        lines += ["", f"complete: {ids['used']:,} of {ids['pool']:,} open tasks used"]
    return "\n".join(lines)


def phase_results(p: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{name}.{k}" if "rps" not in phase else name, r) for name, phase in p.items()
            for k, r in (phase.items() if "rps" not in phase else [("", phase)])]


# -- main ------------------------------------------------------------------------------------------

def run_phases(bench: WriteBench, args: argparse.Namespace, writes: list[str],
               result: dict[str, Any]) -> None:
    p = result["phases"]
    d, c, m = args.duration, args.connections, args.mixed_writers
    bench.start_server()
    bench.login()
    page = bench.capture_page()
    result["page_bytes"] = page.stat().st_size
    ceiling_url = bench.start_ceiling(page)
    assert bench.server is not None and bench.ceiling is not None
    # "The same load" as bench/run.py's ceiling: the list's own requests, answered by a bare handler.
    cmd = bench.list_cmd(c, d, base=ceiling_url.rstrip("/"))
    p["ceiling"] = bench.measure("ceiling", [cmd], bench.ceiling.pid)[0]
    stop(bench.ceiling)  # idle from here on; keep the two cores for the server
    p["list"] = bench.measure("list", [bench.list_cmd(c, d)], bench.server.pid)[0]
    bench.pick_edit_ids()
    for write in writes:
        if write == "complete":
            bench.pick_complete_ids()
        p[write] = bench.measure(write, [bench.write_cmd(write, c, d)], bench.server.pid)[0]
        loads = [bench.list_cmd(c - m, d), bench.write_cmd(write, m, d)]
        g, w = bench.measure(f"{write}+", loads, bench.server.pid)
        p[f"{write}_mixed"] = {"list": g, "write": w}
        if write == "complete":
            result["complete_ids"] = {"pool": bench.complete_pool, "used": bench.complete_used()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12, help="seconds per measured phase")
    parser.add_argument("--warmup", type=float, default=3, help="unrecorded seconds before each phase")
    parser.add_argument("--writes", default=",".join(WRITES),
                        help="comma-separated subset of " + ",".join(WRITES) + " (in this order)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--mixed-writers", type=int, default=4,
                        help="connections of the write load in the mixed phases (the rest list)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes of both servers (`catalyst serve --workers`, ceiling.py --workers)")
    parser.add_argument("--quiet-wait", type=float, default=30,
                        help="seconds to wait, before each phase, for other processes to go idle")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads per wrk process")
    parser.add_argument("--reuse", action="store_true", help="reuse the last seeded database")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "data")
    args = parser.parse_args(argv)
    args.variant = None  # Bench.start_server's what-if flags: plain `catalyst serve` here

    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install -y wrk` or `brew install wrk`", file=sys.stderr)
        return 2
    writes = [w.strip() for w in args.writes.split(",") if w.strip()]
    if unknown := set(writes) - set(WRITES):
        parser.error(f"unknown writes: {', '.join(sorted(unknown))}")
    if not 0 < args.mixed_writers < args.connections:
        parser.error("--mixed-writers must be between 1 and --connections - 1")

    stamp, run_dir = results_dir("writes")
    record, db_dir = prepare_db(args, "writes")
    bench = WriteBench(args, record, run_dir, db_dir)
    result: dict[str, Any] = {
        "stamp": stamp, "machine": machine(),
        "args": {"duration": args.duration, "warmup": args.warmup, "connections": args.connections,
                 "mixed_writers": args.mixed_writers, "threads": args.threads,
                 "workers": args.workers, "writes": writes},
        "targets": {"ratio": TARGET_RATIO, "p99_ms": TARGET_P99_MS, "mixed_share": TARGET_MIXED},
        "seed": {k: record[k] for k in ("tasks", "tasks_per_status", "db_bytes")},
        "phases": {},
    }
    print(f"results in {run_dir}", flush=True)
    failed = ""
    try:
        run_phases(bench, args, writes, result)
    except RuntimeError as e:  # wrk failed (it prints why), e.g. no task ids left to complete
        failed = str(e)
    finally:
        stop(bench.ceiling)
        stop(bench.server)

    p = result["phases"]
    exhausted = []
    with (run_dir / "wrk.log").open("a") as log:
        for name, r in phase_results(p):
            raw = r.pop("raw", "")
            if (ids := ids_report(raw)) is not None:
                r["ids"] = ids
                if ids["exhausted"]:
                    exhausted.append(name)
            log.write(f"== {name}\n{raw}\n")
    if "ceiling" in p and "list" in p:
        result["verdicts"] = {w: verdicts(p, w) for w in writes if w in p}
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"writes-{stamp}.json").write_text(text)
    if failed:
        print(f"\nFAILED: {failed}", file=sys.stderr)
        return 1
    table = markdown(result)
    (run_dir / "table.md").write_text(table + "\n")
    print()
    print(table)

    results = phase_results(p)
    if exhausted:
        print(f"\nFAILED: the complete load ran out of open tasks in {', '.join(exhausted)}: its "
              "numbers are not valid (shorter --duration, or seed more tasks)", file=sys.stderr)
        return 1
    return report_failures(results, run_dir)

if __name__ == "__main__":
    raise SystemExit(main())
