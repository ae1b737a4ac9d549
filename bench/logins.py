"""The login benchmark: logins per second with Argon2id at the configured costs, and the task
list's latency while logins hash without pause, on `catalyst serve` over SQLite.

    .venv/bin/python bench/logins.py [--reuse] [--duration 12] [--logins 8] [--hash-threads N]
                                     [--argon2 M,T,P] [--rounds 1]

Steps (results in bench/results/logins-<stamp>.json and a Markdown table on stdout):

1. The tasks benchmark's seeded database (bench/seed.py: 100,000 tasks over 10 clients, the bench
   user and five colleagues, all with one password; --reuse keeps the last one) is copied to
   bench/results/data/logins/, and `catalyst serve` starts on it.
2. upgrade  each of the six users logs in once; the costs of their stored hashes are read from
            the database before and after (a seed made before the costs changed holds passlib's
            64 MiB, t=3, p=4: the first login re-hashes them at the configured costs).
3. logins   --logins connections (wrk, bench/wrk/login.lua) POST /api/v1/auth/login without pause,
            rotating over the six users. Target: at least 30 logins/s (5x the FastAPI peer's
            bcrypt-12, ~6/s).
4. list     the tasks benchmark's list load (bench/wrk/list.lua, 32 connections) alone,
5. list+logins  then the same list load while the --logins connections log in. Target: list p99
            under 50 ms meanwhile.
Each round starts with the bare aiohttp ceiling of the list's requests (bench/run.py), and the
logins are also given as a share of it.

Every phase reports the server's CPU and the CPU other processes used meanwhile (the machine is
shared): figures of a phase with much of it are disturbed. --hash-threads sets
CATALYST_PASSWORD_HASH_THREADS (0: one per core), --argon2 the three costs, to compare variants.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run  # noqa: E402  (bench/ is not a package)
import seed as seeding  # noqa: E402

TARGET_LOGINS_PER_S = 30.0  # 5x the peer's ~6/s (bcrypt, 12 rounds)
TARGET_P99_MS = 50.0


def stored_costs(db_dir: Path, emails: list[str]) -> dict[str, str]:
    """e-mail -> `argon2id m=...,t=...,p=...` of its stored hash."""
    with sqlite3.connect(f"file:{db_dir / seeding.DB_FILE}?mode=ro", uri=True) as db:
        rows = db.execute(f"SELECT email, password_hash FROM users WHERE email IN "
                          f"({','.join('?' * len(emails))})", emails).fetchall()
    return {email: " ".join(h.split("$")[1:4:2]) for email, h in rows}


def login_cmd(bench: run.Bench, connections: int, seconds: float, emails: list[str]) -> list[str]:
    cmd = run.wrk_command(bench.api, "login.lua", connections, seconds, bench.args.threads,
                          [",".join(emails), bench.record["password"]])
    # wrk gives up on a request after 2 s by default; a login waiting its turn behind seven
    # others at the old costs takes longer, and must be counted, not dropped.
    return [cmd[0], "--timeout", "20s", *cmd[1:]]


def keep(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r.get(k) for k in ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "requests", "non2xx",
                                  "socket_errors", "timeouts", "server_cores", "wrk_cores",
                                  "other_load_cores", "server_cpu_us_per_request", "command")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="reuse the seeded tasks database")
    parser.add_argument("--duration", type=float, default=12, help="seconds per measured phase")
    parser.add_argument("--warmup", type=float, default=2, help="unrecorded seconds before each phase")
    parser.add_argument("--logins", type=int, default=8, help="connections logging in")
    parser.add_argument("--connections", type=int, default=32, help="connections of the list load")
    parser.add_argument("--hash-threads", type=int, help="CATALYST_PASSWORD_HASH_THREADS")
    parser.add_argument("--argon2", metavar="M,T,P", help="the costs: memory KiB, passes, lanes")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the three load phases")
    parser.add_argument("--quiet-wait", type=float, default=20,
                        help="seconds to wait, before each phase, for other processes to go idle")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads per wrk process")
    parser.add_argument("--data-dir", type=Path, default=run.RESULTS / "data")
    args = parser.parse_args(argv)
    args.workers, args.variant = 1, None

    if shutil.which("wrk") is None:
        print("wrk is not installed (`apt-get install -y wrk`)", file=sys.stderr)
        return 2
    if args.hash_threads is not None:
        os.environ["CATALYST_PASSWORD_HASH_THREADS"] = str(args.hash_threads)
    if args.argon2:
        m, t, p = args.argon2.split(",")
        os.environ |= {"CATALYST_ARGON2_MEMORY_KIB": m, "CATALYST_ARGON2_TIME_COST": t,
                       "CATALYST_ARGON2_PARALLELISM": p}

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = run.RESULTS / f"logins-{stamp}"
    run_dir.mkdir(parents=True)
    args.tasks = 100_000
    record, db_dir = run.prepare_db(args, "logins")  # a copy of its own, never run/
    emails = [record["email"], *(email for _, email in seeding.COLLEAGUES)]
    bench = run.Bench(args, record, run_dir, db_dir)
    result: dict[str, Any] = {
        "stamp": stamp, "machine": run.machine(),
        "args": {"duration": args.duration, "logins": args.logins, "connections": args.connections,
                 "hash_threads": os.environ.get("CATALYST_PASSWORD_HASH_THREADS", "0 (one per core)"),
                 "argon2": args.argon2 or "default (19456,2,1)", "rounds": args.rounds},
        "rounds": [],
    }
    d = args.duration
    try:
        before = stored_costs(db_dir, emails)
        bench.start_server()
        assert bench.server is not None
        for email in emails:  # each user's first login upgrades its hash
            status, raw = run.http("POST", f"{bench.api}/api/v1/auth/login",
                                   {"email": email, "password": record["password"]}, timeout=30)
            if status != 200:
                raise SystemExit(f"login of {email} answered {status}: {raw[:300]!r}")
        bench.login()
        after = stored_costs(db_dir, emails)
        result["upgrade"] = {"before": sorted(set(before.values())), "after": sorted(set(after.values()))}
        print(f"  stored hashes: {result['upgrade']['before']} -> {result['upgrade']['after']}",
              flush=True)
        pid = bench.server.pid
        # The bare aiohttp ceiling of the list's requests (bench/run.py), so every figure can be
        # given as a share of what the machine serves at all in the same run (issue #14, item 6).
        ceiling_url = bench.start_ceiling(bench.capture_page()).rstrip("/")
        assert bench.ceiling is not None
        for n in range(args.rounds):
            print(f"round {n + 1}", flush=True)
            ceiling = bench.measure("ceiling", [bench.list_cmd(args.connections, d, base=ceiling_url)],
                                    bench.ceiling.pid)[0]
            logins = bench.measure("logins", [login_cmd(bench, args.logins, d, emails)], pid)[0]
            alone = bench.measure("list", [bench.list_cmd(args.connections, d)], pid)[0]
            both = bench.measure("list+logins", [bench.list_cmd(args.connections, d),
                                                 login_cmd(bench, args.logins, d, emails)], pid)
            result["rounds"].append({"ceiling": keep(ceiling), "logins": keep(logins),
                                     "list_alone": keep(alone),
                                     "list_with_logins": keep(both[0]),
                                     "logins_with_list": keep(both[1])})
    finally:
        run.stop(bench.ceiling)
        run.stop(bench.server)
    result["verdict"] = verdict(result["rounds"])
    text = json.dumps(result, indent=2, default=str) + "\n"
    (run_dir / "result.json").write_text(text)
    (run.RESULTS / f"logins-{stamp}.json").write_text(text)
    print()
    print(markdown(result))
    bad = [r for rnd in result["rounds"] for r in rnd.values() if r["non2xx"] or r["socket_errors"]]
    if bad:
        print(f"\nFAILED: responses that were not 2xx, or socket errors; see {run_dir}/server.log",
              file=sys.stderr)
        return 1
    return 0


def verdict(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Judged on the median round (by logins/s, then by the loaded list's p99)."""
    rates = sorted(r["logins"]["rps"] for r in rounds)
    p99s = sorted(r["list_with_logins"]["p99_ms"] for r in rounds)
    rate, p99 = rates[(len(rates) - 1) // 2], p99s[(len(p99s) - 1) // 2]
    return {"logins_per_s": rate, "logins_ok": rate >= TARGET_LOGINS_PER_S,
            "list_p99_with_logins_ms": p99, "p99_ok": p99 < TARGET_P99_MS}


def markdown(r: dict[str, Any]) -> str:
    lines = [f"Run {r['stamp']}: argon2 {r['args']['argon2']}, hash threads "
             f"{r['args']['hash_threads']}; stored hashes "
             f"{', '.join(r['upgrade']['before'])} -> "
             f"{', '.join(r['upgrade']['after'])} at first login", "",
             "| round | phase | requests/s | p50 ms | p99 ms | server cores | wrk cores "
             "| other load (cores) |",
             "|---|---|---|---|---|---|---|---|"]
    for n, rnd in enumerate(r["rounds"], 1):
        for name, key in (("ceiling (bare aiohttp, list requests), 32 conn", "ceiling"),
                          ("logins, " + str(r["args"]["logins"]) + " conn", "logins"),
                          ("list alone, 32 conn", "list_alone"),
                          ("list during logins", "list_with_logins"),
                          ("logins during list", "logins_with_list")):
            x = rnd[key]
            lines.append(f"| {n} | {name} | {x['rps']:,.1f} | {x['p50_ms']:.1f} | {x['p99_ms']:.1f} | "
                         f"{x['server_cores']} | {x['wrk_cores']} | {x['other_load_cores']} |")
    v = r["verdict"]
    ratios = ", ".join(f"{rnd['logins']['rps'] / rnd['ceiling']['rps']:.4f}" for rnd in r["rounds"])
    lines += ["", f"logins / ceiling by round: {ratios}"]
    lines += ["", f"logins/s = {v['logins_per_s']:.1f} (target >= {TARGET_LOGINS_PER_S:.0f}: "
                  f"{'met' if v['logins_ok'] else 'MISSED'}); list p99 during logins = "
                  f"{v['list_p99_with_logins_ms']:.1f} ms (target < {TARGET_P99_MS:.0f} ms: "
                  f"{'met' if v['p99_ok'] else 'MISSED'})"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
