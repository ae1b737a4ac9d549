"""CPU per list request without the network: the real app's middleware, handler, use case and
storage, called in-process with aiohttp's mocked requests. HTTP parsing and socket writes are left
out (they are the same for the ceiling); what remains is Catalyst's own cost per request, measured
as process CPU time, steady enough (±2%) to compare small changes, which a wrk run is not.

    .venv/bin/python bench/inproc.py [--requests 20000] [--rounds 5] [--cprofile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import seed as seeding  # noqa: E402


async def measure(record: dict[str, Any], n: int, rounds: int, profile: bool) -> None:
    from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

    from catalyst_api.app import create_app

    app = create_app()
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/api/v1/auth/login",
                                 json={"email": record["email"], "password": record["password"]})
        token = (await resp.json())["data"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        clients = record["client_ids"]
        paths = [f"/api/v1/tasks?client_id={clients[i % len(clients)]}&status=pending&limit=20"
                 f"&page={i // len(clients) % 50 + 1}" for i in range(500)]
        requests = [make_mocked_request("GET", p, headers=headers, app=app) for p in paths]

        async def once(i: int) -> None:
            response = await app._handle(requests[i % 500])  # aiohttp's own entry point
            assert response.status == 200, response.body

        for i in range(1000):
            await once(i)
        results = []
        for _ in range(rounds):
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            started = time.process_time()
            for i in range(n):
                await once(i)
            results.append((time.process_time() - started) / n * 1e6)
            if profiler:
                profiler.disable()
                stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime"))
                stats.print_stats(int(os.environ.get("TOP", "25")))
        results.sort()
        print(f"list request in-process: {results[len(results) // 2]:.1f} µs CPU (median of "
              f"{rounds} rounds of {n}; min {results[0]:.1f}, max {results[-1]:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "results" / "data")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    with seeding.in_process_copy(args.data_dir, "catalyst-inproc-") as record:
        try:
            import uvloop
            uvloop.install()
        except ImportError:
            pass
        asyncio.run(measure(record, args.requests, args.rounds, args.cprofile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
