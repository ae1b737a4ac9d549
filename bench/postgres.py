"""The load benchmark on PostgreSQL (issue #14, item 5): the task list and task creation on
`catalyst serve` with one and two processes, against the bare aiohttp ceiling and the same list
on SQLite, all measured in the same run.

    .venv/bin/python bench/postgres.py [--reuse] [--duration 6] [--workers 1,2] [--rounds 1]

Steps: seed the 100,000 tasks of bench/seed.py (same seed, so the same ids as the SQLite bench)
into the database `catalyst_bench_seed` once (--reuse keeps it), VACUUM ANALYZE it; then for each
process count: copy it to `catalyst_bench_run` (CREATE DATABASE ... TEMPLATE: the creates of one
phase never reach the next), start `catalyst serve --workers N` on it, the SQLite server on a copy
of bench/run.py's seeded file and bench/ceiling.py, and drive with wrk (bench/run.py's phases):

  ceiling   the list's requests, answered with a fixed body (bare aiohttp, N processes)
  list      GET /api/v1/tasks?client_id=<10 rotating>&status=pending&limit=20&page=<1..50>
  sqlite    the same list on SQLite (the target: PostgreSQL's list reaches half of it)
  create    POST /api/v1/tasks (JSON body, one assignee)

With --rounds R the ceiling and both lists alternate R times and the median of each is kept.
Server CPU is `catalyst serve`'s (workers summed); "PG CPU" is that of the PostgreSQL processes
serving the bench database (its backends, the WAL writer, the checkpointer...), from /proc.
Then (`lag` phase) the longest event-loop stall of list requests on PostgreSQL, in-process
(bench/loop_lag.py's sentinel; --lag-only picks the shapes, default the bench's list shape).

Extra server settings for a variant: --env CATALYST_DATABASE_POOL_SIZE=8 (repeatable).
Results: bench/results/<stamp>-pg.json, a Markdown table on stdout, logs in bench/results/<stamp>-pg/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run  # noqa: E402  (bench/ is not a package)
import seed as seeding  # noqa: E402
from tools import (  # noqa: E402
    HOST,
    catalyst_command,
    free_port,
    run_wrk,
    server_env,
    start,
    stop,
    wait_ready,
    wait_workers,
)

RESULTS = BENCH_DIR / "results"
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
SEED_DB, RUN_DB = "catalyst_bench_seed", "catalyst_bench_run"
TARGET_SPEEDUP, TARGET_OF_SQLITE, TARGET_STALL_MS = 1.6, 0.5, 2.0
BENCH_SHAPE = "client status sort=created_at"


# -- the databases ---------------------------------------------------------------------------------

async def admin(base: str, *statements: str, database: str = "postgres") -> list[Any]:
    """Statements one by one outside any transaction (CREATE and DROP DATABASE, VACUUM refuse to run
    inside one), by default on the maintenance database; each one's first value."""
    import asyncpg

    conn = await asyncpg.connect(f"{base.replace('+asyncpg', '')}/{database}")
    try:
        return [await conn.fetchval(sql) for sql in statements]
    finally:
        await conn.close()


def _drop(name: str) -> list[str]:
    return [f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            f'DROP DATABASE IF EXISTS "{name}"']


def seeded(args: argparse.Namespace) -> dict[str, Any]:
    """The seed record of `catalyst_bench_seed`, seeding it first unless --reuse finds it."""
    folder = args.data_dir / "pg-seed"
    known = folder / seeding.SEED_FILE
    record = json.loads(known.read_text()) if args.reuse and known.exists() else None
    exists = asyncio.run(admin(args.pg, f"SELECT 1 FROM pg_database WHERE datname = '{SEED_DB}'"))[0]
    if record is not None and exists and record["tasks"] == args.tasks:
        print(f"reusing the seeded database {SEED_DB} (seeded in {record['seconds']['total']} s)",
              flush=True)
        return record
    print(f"seeding {args.tasks:,} tasks into {SEED_DB} ...", flush=True)
    asyncio.run(admin(args.pg, *_drop(SEED_DB), f'CREATE DATABASE "{SEED_DB}"'))
    url = f"{args.pg}/{SEED_DB}"
    record = asyncio.run(seeding.seed(folder, n_tasks=args.tasks, quiet=True, database_url=url))
    started = time.perf_counter()  # VACUUM: the visibility map, for index-only scans
    record["db_bytes"] = asyncio.run(admin(args.pg, "VACUUM ANALYZE", "SELECT pg_database_size("
                                           "current_database())", database=SEED_DB))[-1]
    record["seconds"]["vacuum"] = round(time.perf_counter() - started, 2)
    (folder / seeding.SEED_FILE).write_text(json.dumps(record, indent=2) + "\n")
    print(f"  seeded in {record['seconds']['total']} s (tasks {record['seconds']['tasks']} s), "
          f"{record['db_bytes'] / 1e6:.0f} MB", flush=True)
    return record


def fresh_run_db(args: argparse.Namespace) -> str:
    """`catalyst_bench_run` as a new copy of the seeded database (a file copy: seconds)."""
    asyncio.run(admin(args.pg, *_drop(RUN_DB), f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{SEED_DB}"'))
    return f"{args.pg}/{RUN_DB}"


def pg_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process that serves `database` or the whole cluster
    (WAL writer, checkpointer...), by pid. Backends of other databases (test runs) are left out."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        backend = "127.0.0.1(" in title or "[local]" in title
        if backend and f" {database} " not in title:
            continue
        found[int(proc.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


# -- the servers -----------------------------------------------------------------------------------

class PgBench(run.Bench):
    """bench/run.py's phases, with `catalyst serve` on PostgreSQL and the database's CPU measured."""

    def __init__(self, args: argparse.Namespace, record: dict[str, Any], run_dir: Path,
                 url: str | None) -> None:
        super().__init__(args, record, run_dir, run_dir / "data")
        self.url = url

    def start_server(self) -> None:
        if self.url is None:  # the SQLite comparison: bench/run.py's server as it is
            super().start_server()
            return
        port = free_port()
        self.api = f"http://{HOST}:{port}"
        log = self.run_dir / "server.log"
        env = server_env(self.db_dir) | {"CATALYST_DATABASE_URL": self.url} | dict(
            kv.split("=", 1) for kv in self.args.env)
        self.server = start([*catalyst_command(), "serve", "--host", HOST, "--port", str(port),
                             "--no-access-log", "--workers", str(self.args.workers)], log, env)
        wait_ready(f"{self.api}/api/v1/health", self.server, log)
        wait_workers(self.server, self.args.workers, log)

    def measure(self, name: str, cmds: list[list[str]], pid: int) -> list[dict[str, Any]]:
        # The warm-up first, here, so the database's CPU is counted over the measured part only.
        warmup, self.args.warmup = self.args.warmup, 0
        try:
            if warmup > 0:
                self.wait_quiet()
                run_wrk([self._with_duration(c, warmup) for c in cmds])
            before = pg_cpu(RUN_DB)
            results = super().measure(name, cmds, pid)
            after = pg_cpu(RUN_DB)
        finally:
            self.args.warmup = warmup
        if self.url is None:
            return results
        spent = sum(t - before.get(p, 0.0) for p, t in after.items())
        total = sum(r["requests"] for r in results)
        for r in results:
            r["pg_cpu_us_per_request"] = round(spent / total * 1e6, 1) if total else None
            # bench/run.py counts PostgreSQL among the "other processes": take it out again.
            r["pg_cores"] = round(spent / r["seconds"], 2) if r.get("seconds") else None
            r["other_load_cores"] = round(max(0.0, r["other_load_cores"] - (r["pg_cores"] or 0)), 2)
        print(f"  {'':8} (PostgreSQL {results[0]['pg_cores']} cores of those other processes)",
              flush=True)
        return results


def one_count(args: argparse.Namespace, workers: int, record: dict[str, Any],
              sqlite: tuple[dict[str, Any], Path] | None, out: Path) -> dict[str, Any]:
    """Every wrk phase with `workers` server processes."""
    print(f"\n== {workers} server process(es)", flush=True)
    ns = argparse.Namespace(**{**vars(args), "workers": workers, "variant": None})
    run_dir = out / f"w{workers}"
    (run_dir / "data").mkdir(parents=True)
    pg = PgBench(ns, record, run_dir, fresh_run_db(args))
    lite = PgBench(ns, sqlite[0], run_dir / "sqlite", None) if sqlite else None
    if lite is not None:
        lite.run_dir.mkdir()
        lite.db_dir = sqlite[1]  # type: ignore[index]
    phases = args.phases
    taken: dict[str, list[dict[str, Any]]] = {"ceiling": [], "list": [], "sqlite": []}
    result: dict[str, Any] = {}
    try:
        pg.start_server()
        pg.login()
        page = pg.capture_page()
        if lite is not None:
            lite.start_server()
            lite.login()
            lite.capture_page()
        ceiling = pg.start_ceiling(page).rstrip("/") if "ceiling" in phases else None
        d, c = args.duration, args.connections
        for _ in range(args.rounds):
            if ceiling is not None:
                assert pg.ceiling is not None
                taken["ceiling"].append(pg.measure("ceiling", [pg.list_cmd(c, d, base=ceiling)],
                                                   pg.ceiling.pid)[0])
            if "list" in phases:
                assert pg.server is not None
                taken["list"].append(pg.measure("list", [pg.list_cmd(c, d)], pg.server.pid)[0])
            if lite is not None:
                assert lite.server is not None
                taken["sqlite"].append(lite.measure("sqlite", [lite.list_cmd(c, d)],
                                                    lite.server.pid)[0])
        stop(pg.ceiling)
        stop(lite.server if lite else None)
        result = {name: run.median_round(runs) for name, runs in taken.items() if runs}
        if "create" in phases:
            assert pg.server is not None
            result["create"] = run.median_round(
                pg.measure("create", [pg.create_cmd(c, d)], pg.server.pid))
        if args.profile:
            result["profile"] = pg.profile(d)
    finally:
        for proc in (pg.ceiling, pg.server, lite.server if lite else None):
            stop(proc)
    with (run_dir / "wrk.log").open("a") as log:
        for phase in result.values():
            log.write(str(phase.pop("raw", "")) + "\n")
    return result


# -- the event loop --------------------------------------------------------------------------------

def loop_lag(args: argparse.Namespace, record: dict[str, Any], out: Path) -> dict[str, Any]:
    """bench/loop_lag.py's measure, in this process, on a fresh copy of the PostgreSQL data."""
    import loop_lag as lag

    from catalyst_api.loop import new_event_loop

    os.environ.update(seeding.app_env(out) | {
        "CATALYST_DATABASE_URL": fresh_run_db(args), "CATALYST_LOG_LEVEL": "WARNING",
        "CATALYST_SCHEDULER": "0"} | dict(kv.split("=", 1) for kv in args.env))
    print(f"\n== event-loop stalls on PostgreSQL (shapes containing {args.lag_only!r})", flush=True)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        rows = runner.run(lag.measure(record, args.lag_runs, args.lag_only or None))
    shapes = [{"shape": r[0], "wall_max_ms": round(r[1], 3), "wall_median_ms": round(r[2], 3),
               "cpu_max_ms": round(r[3], 3), "gc_max_ms": round(r[4], 3)} for r in rows]
    return {"runs": args.lag_runs, "only": args.lag_only, "shapes": shapes,
            "worst_cpu_ms": max(s["cpu_max_ms"] for s in shapes),
            "worst_wall_ms": max(s["wall_max_ms"] for s in shapes),
            "median_of_medians_ms": round(statistics.median(s["wall_median_ms"] for s in shapes), 3)}


# -- reporting -------------------------------------------------------------------------------------

def _row(name: str, r: dict[str, Any], ceiling: dict[str, Any] | None) -> str:
    ratio = f"{r['rps'] / ceiling['rps']:.3f}" if ceiling and r is not ceiling else "-"
    return (f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r.get('server_cpu_us_per_request') or '-'} | {r.get('pg_cpu_us_per_request', '-')} | "
            f"{ratio} | {r.get('other_load_cores', '-')} |")


def speedup_bound(one: dict[str, Any]) -> float | None:
    """The most a second server process can add on this machine, from one process's CPU per
    request: one process is held to one core of server CPU (S per request), while two processes,
    PostgreSQL (P) and wrk (W) share all of the machine's cores: (cores x S) / (S + P + W)."""
    server, database = one.get("server_cpu_us_per_request"), one.get("pg_cpu_us_per_request")
    if not server or database is None:
        return None
    load = server + database + one["wrk_cores"] / one["rps"] * 1e6
    return round(min(2.0, (os.cpu_count() or 1) * server / load), 3)


def summary(result: dict[str, Any]) -> dict[str, Any]:
    by = result["processes"]
    out: dict[str, Any] = {}
    for phase in ("list", "create"):
        if all(phase in by.get(w, {}) for w in ("1", "2")):
            speedup = by["2"][phase]["rps"] / by["1"][phase]["rps"]
            out[f"{phase}_speedup_2v1"] = {"value": round(speedup, 3), "target": TARGET_SPEEDUP,
                                           "met": speedup >= TARGET_SPEEDUP}
        if phase in by.get("1", {}):
            out[f"{phase}_speedup_bound"] = {"value": speedup_bound(by["1"][phase]),
                                             "target": TARGET_SPEEDUP, "met": None}
    for w, phases in by.items():
        if "list" in phases and "sqlite" in phases:
            share = phases["list"]["rps"] / phases["sqlite"]["rps"]
            out[f"list_of_sqlite_{w}"] = {"value": round(share, 3), "target": TARGET_OF_SQLITE,
                                          "met": share >= TARGET_OF_SQLITE}
    if (lag := result.get("loop_lag")):
        out["longest_stall_cpu_ms"] = {"value": lag["worst_cpu_ms"], "target": TARGET_STALL_MS,
                                       "met": lag["worst_cpu_ms"] <= TARGET_STALL_MS}
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = ["| processes / phase | requests/s | p50 ms | p99 ms | server CPU µs/req | PG CPU µs/req "
             "| / ceiling | other load (cores) |", "|---|---|---|---|---|---|---|---|"] \
        if result["processes"] else []
    names = {"ceiling": "ceiling (bare aiohttp)", "list": "GET /tasks on PostgreSQL",
             "sqlite": "GET /tasks on SQLite", "create": "POST /tasks on PostgreSQL"}
    for w, phases in result["processes"].items():
        for name, label in names.items():
            if name in phases:
                lines.append(_row(f"{w}: {label}", phases[name], phases.get("ceiling")))
    lines.append("")
    for key, v in result["summary"].items():
        verdict = "an upper bound from CPU per request" if v["met"] is None else \
            "met" if v["met"] else "MISSED"
        lines.append(f"- {key}: {v['value']} (target {'>=' if 'stall' not in key else '<='} "
                     f"{v['target']}: {verdict})")
    if (lag := result.get("loop_lag")):
        lines.append(f"- event loop, {len(lag['shapes'])} shape(s) x {lag['runs']} runs: longest "
                     f"stall {lag['worst_wall_ms']} ms wall, {lag['worst_cpu_ms']} ms of loop CPU")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=PG, help="server URL, without a database")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded databases")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "data")
    parser.add_argument("--workers", default="1,2", help="process counts to run, in order")
    parser.add_argument("--phases", default="ceiling,list,sqlite,create,lag")
    parser.add_argument("--duration", type=float, default=6)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quiet-wait", type=float, default=10)
    parser.add_argument("--profile", action="store_true", help="py-spy on one more list phase")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra setting of the PostgreSQL server (repeatable)")
    parser.add_argument("--lag-only", default=BENCH_SHAPE,
                        help="loop-lag shapes containing this ('' for all 103)")
    parser.add_argument("--lag-runs", type=int, default=20)
    args = parser.parse_args(argv)
    args.phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    if unknown := args.phases - {"ceiling", "list", "sqlite", "create", "lag"}:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}-pg"
    out.mkdir(parents=True)
    record = seeded(args)
    sqlite = None
    if "sqlite" in args.phases:
        lite_args = argparse.Namespace(reuse=True, tasks=args.tasks, data_dir=args.data_dir)
        sqlite = run.prepare_db(lite_args, work_name="pg-sqlite")
    version = asyncio.run(admin(args.pg, "SHOW server_version"))[0]
    result: dict[str, Any] = {
        "stamp": stamp, "machine": run.machine() | {"postgresql": version},
        "args": {k: sorted(v) if isinstance(v, set) else str(v) if isinstance(v, Path) else v
                 for k, v in vars(args).items()},
        "seed": {k: record[k] for k in ("tasks", "tasks_per_status", "seconds", "db_bytes")},
        "processes": {},
    }
    print(f"results in {out}", flush=True)
    if args.phases & {"ceiling", "list", "sqlite", "create"}:
        for workers in (int(w) for w in args.workers.split(",") if w.strip()):
            result["processes"][str(workers)] = one_count(args, workers, record, sqlite, out)
    if "lag" in args.phases:
        result["loop_lag"] = loop_lag(args, record, out)
    result["summary"] = summary(result)
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"{stamp}-pg.json").write_text(text)
    (out / "result.json").write_text(text)
    table = markdown(result)
    (out / "table.md").write_text(table + "\n")
    print("\n" + table)
    bad = [(w, n) for w, phases in result["processes"].items() for n, r in phases.items()
           if isinstance(r, dict) and (r.get("non2xx") or r.get("socket_errors"))]
    if bad:
        print(f"\nFAILED: non-2xx responses or socket errors in {bad}; see {out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
