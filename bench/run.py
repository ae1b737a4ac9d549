"""The load benchmark: the task list and task creation on `catalyst serve` over SQLite, against a
bare aiohttp ceiling measured in the same run.

    .venv/bin/python bench/run.py [--duration 12] [--connections 32] [--reuse] [--profile]

Steps: seed 100,000 tasks over 10 clients (bench/seed.py; --reuse keeps the last seeded database),
copy the pristine database to a working directory, start `catalyst serve --no-access-log` and
bench/ceiling.py on free ports of 127.0.0.1, log in, then drive with wrk (--latency -t2):

  ceiling  the list phase's requests, answered with a fixed JSON body as big as a real page
  list     GET /api/v1/tasks?client_id=<10 rotating>&status=pending&limit=20&page=<1..50>
  create   POST /api/v1/tasks (JSON body, one assignee)                      (--connections)
  mixed    list and create at once from two wrk processes             (28 + 4 by default)

Each phase is preceded by a short warm-up that is not recorded. Results go to
bench/results/<stamp>.json (and latest.json) and a Markdown table is printed. The run fails (exit
1) when any response is not 2xx or any socket error happens: that is a bug to report, not noise.

--profile adds a last phase: the list load again with py-spy attached to the server (sampling, all
threads, idle excluded); the collapsed stacks and a summary by category are written next to the
results. wrk must be installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))


TARGET_RATIO = 1 / 8
TARGET_P99_MS = 50.0
LIST_PAGES = 50
RATE = 250  # py-spy samples per second


import seed as seeding  # noqa: E402, F401  (bench/ is not a package; run.seeding for the others)
from records import (  # noqa: E402, F401  (kept reachable as run.<name>)
    RESULTS,
    machine,
    median_round,
    prepare_db,
    results_dir,
)
from tools import (  # noqa: E402  (the shared helpers, kept reachable as run.<name>)
    HOST,
    catalyst_command,
    children_cpu_seconds,
    cpu_seconds,
    free_port,
    http,
    report_failures,
    run_wrk,
    server_env,
    start,
    stop,
    system_busy_seconds,
    wait_ready,
    wait_workers,
    wrk_command,
)

# -- phases ----------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, record: dict[str, Any], run_dir: Path,
                 db_dir: Path) -> None:
        self.args, self.record, self.run_dir, self.db_dir = args, record, run_dir, db_dir
        self.server: subprocess.Popen[bytes] | None = None
        self.ceiling: subprocess.Popen[bytes] | None = None
        self.api = ""
        self.token = ""
        self.clients = ",".join(record["client_ids"])

    # servers
    def start_server(self) -> None:
        port = free_port()
        self.api = f"http://{HOST}:{port}"
        log = self.run_dir / "server.log"
        if self.args.variant is not None:
            cmd = [sys.executable, str(BENCH_DIR / "serve_variant.py"), "--host", HOST, "--port",
                   str(port), *self.args.variant.split()]
        else:
            cmd = [*catalyst_command(), "serve", "--host", HOST, "--port", str(port), "--no-access-log",
                   "--workers", str(self.args.workers)]
        self.server = start(cmd, log, server_env(self.db_dir))
        wait_ready(f"{self.api}/api/v1/health", self.server, log)
        wait_workers(self.server, self.args.workers if self.args.variant is None else 1, log)

    def start_ceiling(self, body_file: Path) -> str:
        port = free_port()
        log = self.run_dir / "ceiling.log"
        self.ceiling = start([sys.executable, str(BENCH_DIR / "ceiling.py"), "--host", HOST,
                              "--port", str(port), "--body-file", str(body_file),
                              "--workers", str(self.args.workers)], log)
        url = f"http://{HOST}:{port}/"
        wait_ready(url, self.ceiling, log)
        wait_workers(self.ceiling, self.args.workers, log)
        return url

    def login(self) -> None:
        status, raw = http("POST", f"{self.api}/api/v1/auth/login",
                           {"email": self.record["email"], "password": self.record["password"]})
        if status != 200:
            raise SystemExit(f"login failed: {status} {raw[:300]!r}")
        self.token = json.loads(raw)["data"]["access_token"]

    def capture_page(self) -> Path:
        """One real list page: checks the endpoint answers, and becomes the ceiling's body."""
        url = (f"{self.api}/api/v1/tasks?client_id={self.record['client_ids'][0]}"
               f"&status=pending&limit=20&page=1")
        status, raw = http("GET", url, token=self.token)
        if status != 200:
            raise SystemExit(f"GET /tasks answered {status}: {raw[:300]!r}")
        page = json.loads(raw)["data"]
        if len(page["tasks"]) != 20:
            raise SystemExit(f"expected a full page of 20 tasks, got {len(page['tasks'])}")
        path = self.run_dir / "page.json"
        path.write_bytes(raw)
        return path

    # load
    def list_cmd(self, connections: int, seconds: float, base: str | None = None) -> list[str]:
        """The list load; against `base` (the ceiling) the very same requests, token and all."""
        return wrk_command(base or self.api, "list.lua", connections, seconds, self.args.threads,
                           [self.token, self.clients, str(LIST_PAGES)])

    def create_cmd(self, connections: int, seconds: float) -> list[str]:
        return wrk_command(self.api, "create.lua", connections, seconds, self.args.threads,
                           [self.token, self.clients, self.record["user_id"]])

    def wait_quiet(self) -> None:
        """Wait (at most --quiet-wait seconds) for the machine to be idle: other sessions' test
        runs share these two cores and would otherwise be measured along with us."""
        deadline = time.monotonic() + self.args.quiet_wait
        while True:
            b0 = system_busy_seconds()
            time.sleep(1)
            busy = system_busy_seconds() - b0
            if busy < 0.3 or time.monotonic() >= deadline:
                if busy >= 0.3:
                    print(f"  (machine still busy: {busy:.2f} cores in use by others; measuring anyway)",
                          flush=True)
                return

    def measure(self, name: str, cmds: list[list[str]], pid: int) -> list[dict[str, Any]]:
        self.wait_quiet()
        warm = [self._with_duration(c, self.args.warmup) for c in cmds]
        if self.args.warmup > 0:
            run_wrk(warm)
        cpu0, sys0, wrk0 = cpu_seconds(pid), system_busy_seconds(), children_cpu_seconds()
        t0 = time.monotonic()
        results = run_wrk(cmds)
        cpu = cpu_seconds(pid) - cpu0
        wrk_cpu = children_cpu_seconds() - wrk0
        wall = time.monotonic() - t0
        # Whatever else ran on the machine meanwhile (other sessions' test suites...): the numbers
        # of a phase with much of it are not comparable; bench/run.py reports it beside each phase.
        other = max(0.0, (system_busy_seconds() - sys0) - cpu - wrk_cpu) / wall
        total = sum(r["requests"] for r in results)
        for r in results:
            r["server_cpu_seconds"] = round(cpu, 2)
            r["server_cpu_us_per_request"] = round(cpu / total * 1e6, 1) if total else None
            r["server_cores"] = round(cpu / wall, 2)
            r["wrk_cores"] = round(wrk_cpu / wall, 2)
            r["other_load_cores"] = round(other, 2)
            r["command"] = " ".join(self._redacted(c) for c in cmds)
        line = " + ".join(f"{r['rps']:,.0f} rps p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms"
                          for r in results)
        print(f"  {name:<8} {line}  (server {cpu / wall:.2f} cores, wrk {wrk_cpu / wall:.2f}, "
              f"other processes {other:.2f})", flush=True)
        if other > 0.25:
            print(f"  WARNING: other processes used {other:.2f} of the {os.cpu_count()} cores during "
                  f"this phase; its numbers are disturbed", flush=True)
        return results

    def _with_duration(self, cmd: list[str], seconds: float) -> list[str]:
        return [f"-d{seconds:g}s" if c.startswith("-d") and c[2:3].isdigit() else c for c in cmd]

    def _redacted(self, cmd: list[str]) -> str:
        return " ".join("<token>" if c == self.token else
                        "<client_ids>" if c == self.clients else c for c in cmd)

    def profile(self, seconds: float, phase: str = "list") -> dict[str, Any]:
        """The list (or create) load once more, with py-spy sampling the server."""
        assert self.server is not None
        pyspy = Path(sys.executable).parent / "py-spy"
        pyspy_cmd = str(pyspy) if pyspy.exists() else shutil.which("py-spy")
        if not pyspy_cmd:
            print("  profile: py-spy is not installed (`.venv/bin/pip install py-spy`); "
                  "see bench/profile_server.py for the cProfile alternative", flush=True)
            return {"skipped": "py-spy missing"}
        raw = self.run_dir / f"profile-{phase}.txt"
        record = [pyspy_cmd, "record", "--pid", str(self.server.pid), "--duration",
                  f"{int(seconds) + 1}", "--rate", str(RATE), "--nonblocking", "--threads",
                  *(["--subprocesses"] if self.args.workers > 1 else [])]
        spies = [subprocess.Popen([*record, "--format", "raw", "-o", str(raw)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
        time.sleep(0.5)
        if phase == "mixed":
            writers = self.args.mixed_post
            results = run_wrk([self.list_cmd(self.args.connections - writers, seconds),
                               self.create_cmd(writers, seconds)])
            result = {"rps": sum(r["rps"] for r in results),
                      "requests": sum(r["requests"] for r in results)}
        else:
            load = self.create_cmd if phase == "create" else self.list_cmd
            result = run_wrk([load(self.args.connections, seconds)])[0]
        out, _ = spies[0].communicate()
        if not raw.exists():
            print(f"  profile: py-spy wrote nothing:\n{out}", flush=True)
            return {"skipped": out}
        import profile_summary
        summary = profile_summary.summarise(raw.read_text(), requests=result["requests"], rate=RATE)
        (self.run_dir / f"profile-{phase}-summary.md").write_text(profile_summary.markdown(summary))
        print(f"  profile  {phase}: {result['rps']:,.0f} rps under py-spy; "
              f"summary in {self.run_dir / f'profile-{phase}-summary.md'}", flush=True)
        return {"rps_under_profiler": result["rps"], "requests": result["requests"],
                "summary": summary, "raw": str(raw)}


# -- reporting -------------------------------------------------------------------------------------

def row(name: str, conns: str, r: dict[str, Any]) -> str:
    return (f"| {name} | {conns} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['non2xx']} | {r.get('server_cpu_us_per_request') or '-'} | {r.get('timeouts', 0)} | "
            f"{r.get('other_load_cores', '-')} |")


def markdown(result: dict[str, Any]) -> str:
    p = result["phases"]
    c = result["args"]["connections"]
    lines = [f"{result['args'].get('workers', 1)} server process(es) each (catalyst serve --workers, "
             "ceiling.py --workers)", "",
             "| phase | connections | requests/s | p50 ms | p99 ms | non-2xx | server CPU µs/req "
             "| timeouts (>2 s) | other load (cores) |", "|---|---|---|---|---|---|---|---|---|"]
    if "ceiling" in p:
        lines.append(row("ceiling (bare aiohttp, fixed JSON)", str(c), p["ceiling"]))
    if "list" in p:
        lines.append(row("GET /tasks (list page)", str(c), p["list"]))
    if "create" in p:
        lines.append(row("POST /tasks", str(c), p["create"]))
    if "mixed" in p:
        g, w = p["mixed"]["list"], p["mixed"]["create"]
        lines.append(row("mixed: GET /tasks", str(result["args"]["mixed_get"]), g))
        lines.append(row("mixed: POST /tasks", str(result["args"]["mixed_post"]), w))
    if result["args"].get("rounds", 1) > 1:
        lines += ["", f"ceiling and list: the median of {result['args']['rounds']} alternating rounds"]
    if (v := result.get("verdict")):
        if len(v["round_ratios"]) > 1:
            lines += ["", "list/ceiling by round: " + ", ".join(f"{r:.3f}" for r in v["round_ratios"])]
        lines += ["", f"list/ceiling = {v['ratio']:.3f} (target >= {TARGET_RATIO:.3f}: "
                      f"{'met' if v['ratio_ok'] else 'MISSED'}); list p99 = {v['list_p99_ms']:.1f} ms "
                      f"(target < {TARGET_P99_MS:.0f} ms: {'met' if v['p99_ok'] else 'MISSED'})"]
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12, help="seconds per measured phase")
    parser.add_argument("--warmup", type=float, default=3, help="unrecorded seconds before each phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--mixed-post", type=int, default=4,
                        help="connections of the POST load in the mixed phase (the rest do GETs)")
    parser.add_argument("--quiet-wait", type=float, default=30,
                        help="seconds to wait, before each phase, for other processes to go idle")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads per wrk process")
    parser.add_argument("--reuse", action="store_true", help="reuse the last seeded database")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "data")
    parser.add_argument("--phases", default="ceiling,list,create,mixed",
                        help="comma-separated subset of ceiling,list,create,mixed")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes of both servers (`catalyst serve --workers`, ceiling.py --workers)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the ceiling and list phases this many times; report medians")
    parser.add_argument("--profile", nargs="?", const="list", choices=("list", "create", "mixed"),
                        help="then profile the server under the list (default), create or mixed "
                             "load with py-spy")
    parser.add_argument("--variant", metavar="FLAGS",
                        help="serve through bench/serve_variant.py with these what-if flags, e.g. "
                             "\"--switch-interval 0.0005 --pool-size 32\"")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk is not installed. Install it with `sudo apt-get install -y wrk` (Debian/Ubuntu), "
              "`brew install wrk` (macOS), or build it from https://github.com/wg/wrk.",
              file=sys.stderr)
        return 2
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := set(phases) - {"ceiling", "list", "create", "mixed"}:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = RESULTS / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    record, db_dir = prepare_db(args)
    mixed_get = args.connections - args.mixed_post

    bench = Bench(args, record, run_dir, db_dir)
    result: dict[str, Any] = {
        "stamp": stamp, "machine": machine(),
        "args": {"duration": args.duration, "warmup": args.warmup, "connections": args.connections,
                 "threads": args.threads, "mixed_get": mixed_get, "mixed_post": args.mixed_post,
                 "list_pages": LIST_PAGES, "variant": args.variant, "workers": args.workers,
                 "rounds": args.rounds},
        "seed": {k: record[k] for k in ("tasks", "tasks_per_status", "seconds", "db_bytes")}
        | {"clients": len(record["client_ids"])},
        "phases": {},
    }
    print(f"results in {run_dir}", flush=True)
    try:
        bench.start_server()
        bench.login()
        page = bench.capture_page()
        result["page_bytes"] = page.stat().st_size
        ceiling_url = bench.start_ceiling(page)
        assert bench.server is not None and bench.ceiling is not None
        d, c = args.duration, args.connections
        # The ceiling and the list take turns, --rounds times: the machine's speed drifts from one
        # phase to the next, and a ratio of medians over alternating rounds is what holds still.
        taken: dict[str, list[dict[str, Any]]] = {"ceiling": [], "list": []}
        for _ in range(args.rounds):
            if "ceiling" in phases:
                # "The same load": the list phase's own request stream (same paths, same bearer
                # token, same wrk script), answered by the bare handler.
                cmd = bench.list_cmd(c, d, base=ceiling_url.rstrip("/"))
                taken["ceiling"].append(bench.measure("ceiling", [cmd], bench.ceiling.pid)[0])
            if "list" in phases:
                taken["list"].append(bench.measure("list", [bench.list_cmd(c, d)], bench.server.pid)[0])
        for name, runs in taken.items():
            if runs:
                result["phases"][name] = median_round(runs)
        stop(bench.ceiling)  # idle, but keep the two cores for the phases below
        if "create" in phases:
            result["phases"]["create"] = bench.measure("create", [bench.create_cmd(c, d)],
                                                       bench.server.pid)[0]
        if "mixed" in phases:
            loads = [bench.list_cmd(mixed_get, d), bench.create_cmd(args.mixed_post, d)]
            g, w = bench.measure("mixed", loads, bench.server.pid)
            result["phases"]["mixed"] = {"list": g, "create": w}
        if args.profile:
            result["profile"] = bench.profile(d, args.profile)
    finally:
        stop(bench.ceiling)
        stop(bench.server)

    p = result["phases"]
    if "ceiling" in p and "list" in p:
        ratio = p["list"]["rps"] / p["ceiling"]["rps"]
        result["verdict"] = {
            "ratio": round(ratio, 4), "ratio_target": TARGET_RATIO, "ratio_ok": ratio >= TARGET_RATIO,
            "list_p99_ms": p["list"]["p99_ms"], "p99_target_ms": TARGET_P99_MS,
            "p99_ok": p["list"]["p99_ms"] < TARGET_P99_MS,
            "list_rps_needed": round(p["ceiling"]["rps"] * TARGET_RATIO),
            "round_ratios": [round(lr / cr, 4) for lr, cr in
                             zip(p["list"]["round_rps"], p["ceiling"]["round_rps"], strict=True)],
        }
    # The raw wrk output of every round and phase goes to wrk.log, not into the JSON.
    measured = [r for runs in taken.values() for r in runs]
    measured += [r for name, phase in p.items() if name not in taken
                 for r in (phase.values() if "rps" not in phase else [phase])]
    with (run_dir / "wrk.log").open("a") as log:
        for r in measured:
            log.write(r.pop("raw", "") + "\n")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (run_dir / "result.json").write_text(text)
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    table = markdown(result)
    (run_dir / "table.md").write_text(table + "\n")
    print()
    print(table)

    return report_failures([(name, r) for name, phase in p.items()
                            for r in (phase.values() if "rps" not in phase else [phase])], run_dir)

if __name__ == "__main__":
    raise SystemExit(main())
