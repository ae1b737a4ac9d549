"""The performance-data benchmark: ingestion through HTTP, the two reports over a million rows, and
the task list's latency while reports run, on `catalyst serve` over SQLite.

    .venv/bin/python bench/metrics.py [--reuse] [--ads 2000] [--days 500] [--concurrency 1]

Steps (results in bench/results/metrics-<stamp>.json and a Markdown summary on stdout):

1. The tasks benchmark's seeded database (bench/seed.py: 100,000 tasks over 10 clients; --reuse
   keeps the last one) is copied to bench/results/data/metrics/, and `catalyst serve` starts on it.
2. ingest   --ads x --days rows (default 2,000 x 500 = 1,000,000) for the first client, POSTed in
            5,000-row batches (oldest days first, as a daily import would), --concurrency requests
            at a time; then one correction batch (the last two and a half days again, changed).
            Bodies are encoded before the clock starts.
3. reports  each report --rounds times over the whole range: growth (monthly) and performance
            (with the full by-ad breakdown, limit=<ads>), through HTTP; beside them, the floor:
            the same aggregation written by hand in plain sqlite3 over the raw rows.
4. latency  the tasks benchmark's list load (wrk, bench/wrk/list.lua, 32 connections) alone, then
            again while a second client requests reports back to back; p99 of both.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run  # noqa: E402  (bench/ is not a package)
import seed as seeding  # noqa: E402

PLATFORMS = ("facebook", "google", "tiktok", "linkedin")
BATCH = 5_000
START = date(2025, 1, 1)
TARGET_ROWS_PER_S = 20_000
TARGET_REPORT_MS = 300.0


# -- the data --------------------------------------------------------------------------------------

def ads(n: int) -> list[tuple[str, str, str, str]]:
    """(platform, campaign_id, adset_id, ad_id): 50 ads a campaign, 10 an ad set."""
    return [(PLATFORMS[i % 4], f"cmp-{i // 50:03d}", f"set-{i // 10:04d}", f"ad-{i:05d}")
            for i in range(n)]


def rows(n_ads: int, n_days: int, seed: int = 7) -> list[dict[str, Any]]:
    """Day by day, every ad: realistic funnels with weekly seasonality, money with cents."""
    rng = random.Random(seed)
    every = ads(n_ads)
    out = []
    for d in range(n_days):
        day = START + timedelta(days=d)
        weekend = 0.7 if day.weekday() >= 5 else 1.0
        for platform, campaign, adset, ad in every:
            impressions = int(rng.randrange(2_000, 40_000) * weekend)
            clicks = impressions * rng.randrange(5, 30) // 1000
            views = clicks * rng.randrange(50, 95) // 100
            leads = views * rng.randrange(0, 15) // 100
            spend = round(impressions * rng.uniform(0.004, 0.02), 2)
            out.append({
                "date": day.isoformat(), "platform": platform, "campaign_id": campaign,
                "campaign_name": f"Campaign {campaign}", "adset_id": adset,
                "adset_name": f"Ad set {adset}", "ad_id": ad, "ad_name": f"Ad {ad}",
                "spend": spend, "impressions": impressions, "clicks": clicks,
                "landing_page_views": views, "leads": leads, "conversions": leads // 3,
                "revenue": round(leads * rng.uniform(20, 80), 2),
            })
    return out


# -- HTTP ------------------------------------------------------------------------------------------

class Api:
    """One keep-alive connection to the server."""

    def __init__(self, base: str, token: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=300)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        self.conn.request(method, "/api/v1" + path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


def ingest(base: str, token: str, client_id: str, bodies: list[bytes], concurrency: int
           ) -> tuple[float, list[float]]:
    """POST every body (`concurrency` connections): the wall-clock seconds it took, and each
    request's milliseconds in the order they were sent."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    took: list[float] = []

    def worker() -> None:
        api = Api(base, token)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                started = time.perf_counter()
                status, raw = api.call("POST", f"/clients/{client_id}/metrics", body)
                took.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise SystemExit(f"ingestion failed: {status} {raw[:300]!r}")
        finally:
            api.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return time.perf_counter() - started, took


def timed(call: Any, rounds: int) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"min_ms": round(min(times), 1), "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1)}


# -- the floor: the same aggregation by hand in plain sqlite3 ----------------------------------------

METRICS = ("spend", "impressions", "clicks", "landing_page_views", "leads", "conversions", "revenue")
SUMS = ", ".join(f"sum({m})" for m in METRICS)


def floor_queries(db: Path, client_id: str, start: str, end: str) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    key = uuid.UUID(client_id).hex  # SQLAlchemy's Uuid on SQLite: 32 hex digits
    where = "client_id = ? AND date BETWEEN ? AND ?"

    def growth() -> None:
        conn.execute(f"SELECT substr(date, 1, 7), {SUMS} FROM performance_rows WHERE {where} "
                     "GROUP BY 1", (key, start, end)).fetchall()

    def performance() -> None:
        conn.execute(f"SELECT platform, campaign_id, adset_id, ad_id, {SUMS} FROM performance_rows "
                     f"WHERE {where} GROUP BY 1, 2, 3, 4", (key, start, end)).fetchall()

    try:
        return {"growth": growth, "performance": performance, "close": conn.close}
    except Exception:
        conn.close()
        raise


# -- the run ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="reuse the seeded tasks database")
    parser.add_argument("--ads", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=1, help="ingestion requests at a time")
    parser.add_argument("--rounds", type=int, default=5, help="timed requests per report")
    parser.add_argument("--duration", type=float, default=12, help="seconds of each latency phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=run.RESULTS / "data")
    args = parser.parse_args(argv)
    args.tasks, args.variant = 100_000, None

    stamp, run_dir = run.results_dir("metrics")
    record, db_dir = run.prepare_db(args, "metrics")
    bench = run.Bench(args, record, run_dir, db_dir)
    client_id = record["client_ids"][0]
    result: dict[str, Any] = {"stamp": stamp, "machine": run.machine(), "ads": args.ads,
                              "days": args.days, "concurrency": args.concurrency}
    try:
        bench.start_server()
        bench.login()
        print(f"encoding {args.ads * args.days:,} rows ...", flush=True)
        data = rows(args.ads, args.days)
        bodies = [orjson.dumps({"rows": data[i:i + BATCH]}) for i in range(0, len(data), BATCH)]
        correction = [dict(r, spend=round(r["spend"] * 1.1, 2), clicks=r["clicks"] + 1)
                      for r in data[-BATCH:]]
        del data
        print(f"ingesting {len(bodies)} batches ({sum(map(len, bodies)) / len(bodies) / 1e6:.2f} MB "
              f"each), {args.concurrency} at a time ...", flush=True)
        cpu = run.cpu_seconds(bench.server.pid)
        seconds, took = ingest(bench.api, bench.token, client_id, bodies, args.concurrency)
        cpu = run.cpu_seconds(bench.server.pid) - cpu
        total = args.ads * args.days
        tenth = max(1, len(took) // 10)
        result["ingest"] = {"rows": total, "seconds": round(seconds, 2),
                            "rows_per_s": round(total / seconds),
                            "batch_ms": round(seconds / len(bodies) * 1000, 1),
                            "server_cpu_ms_per_batch": round(cpu / len(bodies) * 1000, 1),
                            "first_tenth_batch_ms": round(statistics.mean(took[:tenth]), 1),
                            "last_tenth_batch_ms": round(statistics.mean(took[-tenth:]), 1)}
        api = Api(bench.api, bench.token)
        correction_body = orjson.dumps({"rows": correction})
        started = time.perf_counter()
        status, raw = api.call("POST", f"/clients/{client_id}/metrics", correction_body)
        result["correction_ms"] = round((time.perf_counter() - started) * 1000, 1)
        assert status == 200 and json.loads(raw)["data"]["updated"] == BATCH, raw[:300]

        first, last = START.isoformat(), (START + timedelta(days=args.days - 1)).isoformat()
        growth_path = f"/reports/growth?client_id={client_id}&start_date={first}&end_date={last}" \
                      "&period=monthly"
        performance_path = f"/reports/performance?client_id={client_id}&start_date={first}" \
                           f"&end_date={last}&limit={min(args.ads, 5000)}"

        def get(path: str) -> None:
            status, raw = api.call("GET", path)
            if status != 200:
                raise SystemExit(f"{path}: {status} {raw[:300]!r}")

        get(growth_path)
        get(performance_path)
        floor = floor_queries(db_dir / seeding.DB_FILE, client_id, first, last)
        result["reports"] = {
            "growth": timed(lambda: get(growth_path), args.rounds),
            "performance": timed(lambda: get(performance_path), args.rounds),
            "floor_growth": timed(floor["growth"], args.rounds),
            "floor_performance": timed(floor["performance"], args.rounds),
        }
        floor["close"]()

        clients = ",".join(record["client_ids"])
        list_cmd = run.wrk_command(bench.api, "list.lua", args.connections, args.duration, 2,
                                   [bench.token, clients, str(run.LIST_PAGES)])
        run.run_wrk([run.wrk_command(bench.api, "list.lua", args.connections, 3, 2,
                                     [bench.token, clients, str(run.LIST_PAGES)])])  # warm-up
        alone = run.run_wrk([list_cmd])[0]
        report_paths = [growth_path, performance_path]
        with_reports, reports_ms = list_while(
            list_cmd, lambda api, n: api.call("GET", report_paths[n % 2]), bench)
        # Ingestion beside the list: the last batches sent again (each replaces 5,000 rows).
        again = bodies[-10:]
        with_ingest, batches_ms = list_while(
            list_cmd, lambda api, n: api.call("POST", f"/clients/{client_id}/metrics",
                                              again[n % len(again)]), bench)
        api.close()
        shown = ("rps", "p50_ms", "p99_ms", "non2xx")
        result["latency"] = {
            "list_alone": {k: alone[k] for k in shown},
            "list_with_reports": {k: with_reports[k] for k in shown},
            "reports_served": len(reports_ms),
            "report_median_ms_under_load": round(statistics.median(reports_ms), 1)
            if reports_ms else None,
            "list_with_ingestion": {k: with_ingest[k] for k in shown},
            "batches_ingested": len(batches_ms),
            "batch_median_ms_under_load": round(statistics.median(batches_ms), 1)
            if batches_ms else None,
        }
        (run_dir / "wrk.log").write_text("\n\n".join(
            r["raw"] for r in (alone, with_reports, with_ingest)))
    finally:
        run.stop(bench.server)
    (run.RESULTS / f"metrics-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(markdown(result))
    return 0


def list_while(list_cmd: list[str], call: Any, bench: Any) -> tuple[dict[str, Any], list[float]]:
    """The list load (wrk) while another client makes `call(api, n)` back to back: wrk's result,
    and each call's milliseconds."""
    stop = threading.Event()
    served: list[float] = []

    def loop() -> None:
        api = Api(bench.api, bench.token)
        try:
            while not stop.is_set():
                started = time.perf_counter()
                status, raw = call(api, len(served))
                if status != 200:
                    raise SystemExit(f"failed under load: {status} {raw[:200]!r}")
                served.append((time.perf_counter() - started) * 1000)
        finally:
            api.close()

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        result = run.run_wrk([list_cmd])[0]
    finally:
        stop.set()
        thread.join()
    return result, served


def markdown(r: dict[str, Any]) -> str:
    i, rep, lat = r["ingest"], r["reports"], r["latency"]
    lines = [
        f"metrics benchmark {r['stamp']}: {i['rows']:,} rows ({r['ads']} ads x {r['days']} days)",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| ingestion, 5,000-row batches, {r['concurrency']} at a time | {i['rows_per_s']:,} rows/s "
        f"({i['batch_ms']} ms a batch; first tenth {i['first_tenth_batch_ms']} ms, last tenth "
        f"{i['last_tenth_batch_ms']} ms; server CPU {i['server_cpu_ms_per_batch']} ms a batch) "
        f"| >= {TARGET_ROWS_PER_S:,} rows/s |",
        f"| correction batch (5,000 rows replaced) | {r['correction_ms']} ms | |",
    ]
    for name in ("growth", "performance"):
        t, f = rep[name], rep[f"floor_{name}"]
        lines.append(f"| {name} report, whole range (median, min-max) | "
                     f"{t['median_ms']} ms ({t['min_ms']}-{t['max_ms']}); plain sqlite3 over raw "
                     f"rows: {f['median_ms']} ms | < {TARGET_REPORT_MS:.0f} ms |")
    a, w = lat["list_alone"], lat["list_with_reports"]
    lines.append(f"| task list p99 alone / with reports looping | {a['p99_ms']:.1f} ms / "
                 f"{w['p99_ms']:.1f} ms ({a['rps']:,.0f} / {w['rps']:,.0f} req/s; "
                 f"{lat['reports_served']} reports served meanwhile) | < 50 ms |")
    g = lat["list_with_ingestion"]
    lines.append(f"| task list p99 with ingestion looping | {g['p99_ms']:.1f} ms "
                 f"({g['rps']:,.0f} req/s; {lat['batches_ingested']} batches, median "
                 f"{lat['batch_median_ms_under_load']} ms) | |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
