"""What a benchmark run records and where: the working copy of the seeded database, the results
folder, the machine it ran on, and the median of alternating rounds. (run.py re-exports these as
`run.<name>`.)"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from tools import BENCH_DIR, ROOT, seeding

RESULTS = BENCH_DIR / "results"


def median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median requests/s (the lower middle one of an even count), with every
    round's requests/s beside it."""
    ranked = sorted(runs, key=lambda r: r["rps"])
    median = {k: v for k, v in ranked[(len(ranked) - 1) // 2].items() if k != "raw"}
    return median | {"round_rps": [r["rps"] for r in runs]}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for dist in ("aiohttp", "SQLAlchemy", "aiosqlite", "PyJWT", "cattrs"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "catalyst_core", "adapters",
                                 "entrypoints"], cwd=ROOT, capture_output=True, text=True).stdout.strip())
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(), "wrk": wrk_version,
            "packages": versions, "git_commit": commit, "product_code_modified": dirty}


def prepare_db(args: argparse.Namespace, work_name: str = "run") -> tuple[dict[str, Any], Path]:
    """The seeded database (seeded now, or with --reuse the last one) copied to a fresh
    `<data dir>/<work_name>/`; each benchmark that writes works in a copy of its own."""
    pristine = args.data_dir / "seed"
    record = seeding.load(pristine) if args.reuse else None
    if record is None or record["tasks"] != args.tasks:
        print(f"seeding {args.tasks:,} tasks into {pristine} ...", flush=True)
        import asyncio
        record = asyncio.run(seeding.seed(pristine, n_tasks=args.tasks, quiet=True))
        print(f"  seeded in {record['seconds']['total']} s "
              f"(tasks {record['seconds']['tasks']} s)", flush=True)
    else:
        print(f"reusing the seeded database in {pristine} (seeded in "
              f"{record['seconds']['total']} s)", flush=True)
    # Every run starts from the same pristine copy: the create phases add rows.
    work = args.data_dir / work_name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for f in pristine.iterdir():
        if f.name.startswith(seeding.DB_FILE):
            shutil.copy2(f, work / f.name)
    return record, work


def results_dir(name: str) -> tuple[str, Path]:
    """A time stamp and a new folder `results/<name>-<stamp>/` for one run's files."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = RESULTS / f"{name}-{stamp}"
    folder.mkdir(parents=True)
    return stamp, folder
