"""Seed a fresh SQLite database for the load benchmark.

Creates <data_dir>/catalyst.db, migrates it, registers a bench user (a platform *member*, so every
request goes through the membership check) and a few colleagues, 10 clients where the bench user is
admin, and 100,000 tasks written through the storage port (`tx.tasks.add_many`) in batches.

Everything is deterministic for a given --seed (ids, names, statuses, dates relative to --now), so
two runs on two machines measure the same data. A `seed.json` next to the database records what was
made (user credentials, client ids, counts, timings); `bench/run.py --reuse` reads it back.

    .venv/bin/python bench/seed.py [--data-dir bench/results/data] [--tasks 100000] [--clients 10]
                                   [--database-url postgresql+asyncpg://...]  (bench/postgres.py)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from catalyst_adapters.clock import SystemClock
from catalyst_adapters.security import PasslibHasher
from catalyst_adapters.sql import SqlStorage, create_engine, migrate
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.model import ClientRole
from catalyst_core.clients.service import ClientsService
from catalyst_core.ids import ClientId, TaskId, UserId
from catalyst_core.tasks.model import (
    RELATED_CREATIVE_SUBMISSION,
    Priority,
    Task,
    TaskStatus,
    TaskType,
)

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = BENCH_DIR / "results" / "data"
SEED_FILE = "seed.json"
DB_FILE = "catalyst.db"

BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-123"
COLLEAGUES = [("Alice Archer", "alice@example.com"), ("Bruno Berg", "bruno@example.com"),
              ("Chen Cole", "chen@example.com"), ("Dana Dorn", "dana@example.com"),
              ("Emil Eze", "emil@example.com")]
CLIENT_NAMES = ["Acme Outdoor", "Blue Harbor Dental", "Copperleaf Coffee", "Delta Fitness",
                "Evergreen Realty", "Foxglove Florists", "Granite Legal", "Helios Solar",
                "Indigo Apparel", "Juniper Pet Care", "Kestrel Travel", "Lumen Optics"]

# Realistic mixes (weights): ~40% pending as the issue asks.
STATUS_MIX = [(TaskStatus.PENDING, 40), (TaskStatus.IN_PROGRESS, 25), (TaskStatus.COMPLETED, 25),
              (TaskStatus.CANCELLED, 10)]
TYPE_MIX = [(TaskType.OTHER, 50), (TaskType.REVIEW_CREATIVE, 30), (TaskType.REVIEW_REPORT, 20)]
PRIORITY_MIX = [(Priority.MEDIUM, 40), (Priority.LOW, 30), (Priority.HIGH, 20), (Priority.BACKLOG, 10)]
VERBS = ["Review", "Draft", "Approve", "Update", "Publish", "Check", "Prepare", "Send", "Fix", "Plan"]
OBJECTS = ["banner set", "monthly report", "landing page copy", "ad creative", "budget sheet",
           "social calendar", "newsletter", "keyword list", "video cut", "client brief"]
WORDS = ("the client asked for a revised version before the campaign goes live please check the "
         "numbers against last month and make sure the brand colours match the guide attached in "
         "the shared folder then notify the account lead once it is ready for sign off").split()


def _pick(rng: random.Random, mix: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in mix], weights=[w for _, w in mix])[0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class _FixedIds:
    """An IdFactory drawing version-4 UUIDs from the seeded generator (deterministic data)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> uuid.UUID:
        return _uuid(self.rng)


def make_task(rng: random.Random, client_id: ClientId, members: list[UserId], creator: UserId,
              now: datetime) -> Task:
    created = now - timedelta(seconds=rng.uniform(60, 365 * 86400))
    status = _pick(rng, STATUS_MIX)
    task_type = _pick(rng, TYPE_MIX)
    updated = min(now, created + timedelta(seconds=rng.uniform(0, 7 * 86400)))
    assignees = rng.sample(members, k=min(len(members), rng.choice([0, 1, 1, 1, 2, 2, 3])))
    due = None
    if rng.random() < 0.6:
        day = (created + timedelta(days=rng.randint(1, 30))).date()
        due = datetime(day.year, day.month, day.day, tzinfo=UTC)
    description = None
    if rng.random() < 0.6:
        description = " ".join(rng.choices(WORDS, k=rng.randint(8, 30))).capitalize() + "."
    related_id = related_type = None
    if task_type is TaskType.REVIEW_CREATIVE:
        related_id, related_type = str(_uuid(rng)), RELATED_CREATIVE_SUBMISSION
    completed_by = completed_at = None
    if status.is_final:
        completed_by, completed_at = rng.choice(members), updated
    return Task(
        id=TaskId(_uuid(rng)), client_id=client_id,
        name=f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} #{rng.randint(1, 9999)}",
        task_type=task_type, status=status, priority=_pick(rng, PRIORITY_MIX), created_by=creator,
        assignees=assignees, due_date=due, description=description, related_object_id=related_id,
        related_object_type=related_type, created_at=created, updated_at=updated,
        completed_by=completed_by, completed_at=completed_at,
    )


def _fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


async def seed(data_dir: Path, *, n_tasks: int = 100_000, n_clients: int = 10, batch: int = 5_000,
               rng_seed: int = 42, quiet: bool = False, database_url: str | None = None
               ) -> dict[str, Any]:
    """Create a fresh database in `data_dir` (deleting what was there) and return the seed record.
    With `database_url` (an existing, empty database, e.g. PostgreSQL: bench/postgres.py) the data
    goes there instead, and `data_dir` holds only seed.json."""
    say = (lambda *_: None) if quiet else (lambda *a: print(*a, flush=True))
    if n_clients > len(CLIENT_NAMES):
        raise SystemExit(f"at most {len(CLIENT_NAMES)} clients")
    await asyncio.to_thread(_fresh_dir, data_dir)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / DB_FILE}"
    rng = random.Random(rng_seed)
    ids = _FixedIds(rng)
    clock = SystemClock()
    now = clock.now().replace(microsecond=0)

    started = time.perf_counter()
    engine = create_engine(url)
    storage = SqlStorage(engine)
    try:
        await migrate(engine)
        # The real hasher (argon2id defaults), so logging in costs what it costs in production and
        # the login does not trigger a rehash.
        auth = AuthService(storage, PasslibHasher(), None, clock, ids)  # type: ignore[arg-type]
        clients_svc = ClientsService(storage, clock, ids)

        bench = await auth.register(BENCH_EMAIL, BENCH_PASSWORD, "Bench User", role=GlobalRole.MEMBER)
        colleagues = [await auth.register(email, BENCH_PASSWORD, name) for name, email in COLLEAGUES]
        actor = Actor(user_id=bench.id, role=bench.role)
        t_users = time.perf_counter()

        client_ids: list[ClientId] = []
        members_of: dict[ClientId, list[UserId]] = {}
        for name in CLIENT_NAMES[:n_clients]:
            view = await clients_svc.create(actor, name)
            cid = view.client.id
            team = rng.sample(colleagues, k=rng.randint(2, 4))
            for user in team:
                role = ClientRole.MEMBER if rng.random() < 0.8 else ClientRole.VIEWER
                await clients_svc.add_member(actor, cid, user.email, role)
            client_ids.append(cid)
            members_of[cid] = [bench.id, *(u.id for u in team)]
        t_clients = time.perf_counter()

        per_status: dict[str, int] = {}
        per_client_pending: dict[str, int] = {str(c): 0 for c in client_ids}
        year = []
        for _ in range(n_tasks):
            cid = rng.choice(client_ids)
            members = members_of[cid]
            task = make_task(rng, cid, members, rng.choice(members), now)
            per_status[task.status.value] = per_status.get(task.status.value, 0) + 1
            if task.status is TaskStatus.PENDING:
                per_client_pending[str(cid)] += 1
            year.append(task)
        # Written in the order they were created, as a year of use writes them: the table's
        # physical order then follows created_at, as it does in production (written in random
        # order, a page of a client's recent tasks was spread over the whole file).
        year.sort(key=lambda t: t.created_at)
        written = 0
        while written < n_tasks:
            chunk = year[written:written + batch]
            async with storage.transaction() as tx:
                await tx.tasks.add_many(chunk)
            written += len(chunk)
            say(f"  {written:>7,} tasks  ({time.perf_counter() - t_clients:5.1f} s)")
        t_tasks = time.perf_counter()

        async with engine.connect() as conn:  # fresh statistics for the query planner
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
    finally:
        await storage.close()

    record = {
        "database_url": url,
        "data_dir": str(data_dir),
        "email": BENCH_EMAIL,
        "password": BENCH_PASSWORD,
        "user_id": str(bench.id),
        "client_ids": [str(c) for c in client_ids],
        "tasks": n_tasks,
        "tasks_per_status": per_status,
        "pending_per_client": per_client_pending,
        "rng_seed": rng_seed,
        "seeded_at": now.isoformat(),
        "seconds": {
            "users": round(t_users - started, 2),
            "clients": round(t_clients - t_users, 2),
            "tasks": round(t_tasks - t_clients, 2),
            "total": round(time.perf_counter() - started, 2),
        },
        "db_bytes": (data_dir / DB_FILE).stat().st_size if database_url is None else None,
    }
    (data_dir / SEED_FILE).write_text(json.dumps(record, indent=2) + "\n")
    say(f"seeded {n_tasks:,} tasks over {n_clients} clients in {record['seconds']['total']} s "
        f"(tasks alone {record['seconds']['tasks']} s, "
        f"{n_tasks / max(record['seconds']['tasks'], 1e-9):,.0f} tasks/s)"
        + (f"; database {record['db_bytes'] / 1e6:.1f} MB" if record["db_bytes"] else ""))
    return record


JWT_SECRET = "bench-secret-" + "x" * 40  # fixed, so tokens stay valid across server restarts


def app_env(db_dir: Path) -> dict[str, str]:
    """The settings that point `catalyst serve` or create_app at the database in `db_dir`."""
    return {
        "CATALYST_DATA_DIR": str(db_dir),
        "CATALYST_DATABASE_URL": f"sqlite+aiosqlite:///{db_dir / DB_FILE}",
        "CATALYST_JWT_SECRET": JWT_SECRET,
        # The load phases send thousands of requests a second as one user: the per-user limit
        # (1,000 an hour by default) would answer nearly all of them 429.
        "CATALYST_RATE_LIMIT": "0",
    }


@contextlib.contextmanager
def in_process_copy(data_dir: Path, prefix: str) -> Iterator[dict[str, Any]]:
    """For tools that run the app in their own process: a throw-away copy of the seeded database,
    with the environment pointing create_app at it. Yields the seed record."""
    record = load(data_dir / "seed")
    if record is None:
        raise SystemExit("no seeded database: run bench/run.py (or bench/seed.py --data-dir "
                         f"{data_dir / 'seed'}) first")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        for f in (data_dir / "seed").iterdir():
            if f.name.startswith(DB_FILE):
                shutil.copy2(f, Path(tmp) / f.name)
        os.environ.update(app_env(Path(tmp)) | {"CATALYST_LOG_LEVEL": "WARNING"})
        yield record


def load(data_dir: Path) -> dict[str, Any] | None:
    """The seed record of an existing bench database, or None."""
    path = data_dir / SEED_FILE
    if not path.exists() or not (data_dir / DB_FILE).exists():
        return None
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", help="seed this existing, empty database instead of a new "
                        "SQLite file (seed.json still goes to --data-dir)")
    args = parser.parse_args(argv)
    asyncio.run(seed(args.data_dir, n_tasks=args.tasks, n_clients=args.clients, batch=args.batch,
                     rng_seed=args.seed, database_url=args.database_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
