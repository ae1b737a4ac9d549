"""kill -9 under a write load loses no acknowledged write and leaves SQLite consistent: a short run
of bench/crash_writes.py (docs/operations.md, "Faults", has a longer one)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "crash_writes.py"


def crash_writes() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_writes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


async def test_a_killed_server_lost_no_acknowledged_write_and_the_database_is_intact(
        tmp_path: Path) -> None:
    bench = crash_writes()
    result = await bench.run(rounds=2, writers=6, seconds=(0.4, 0.8), data_dir=tmp_path,
                             rng=random.Random(12))
    for r in result.rounds:
        assert r.tasks_acknowledged > 0 and r.comments_acknowledged > 0, r  # it did write
        assert r.integrity_check == "ok" and r.foreign_key_violations == 0, r
        assert (r.tasks_lost, r.comments_lost) == (0, 0), r
        assert r.api_total_matches_rows, r  # the restarted server serves, triggers' totals exact
        assert r.unacknowledged_but_stored <= r.in_flight_at_kill, r
    assert result.ok
