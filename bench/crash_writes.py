"""kill -9 under a write load: is every acknowledged write still there, and is SQLite consistent?

    .venv/bin/python bench/crash_writes.py [--rounds 5] [--writers 16] [--seconds 1.5 4]
                                           [--workers 1] [--data-dir DIR] [--json FILE]

Starts `catalyst serve` on a fresh SQLite database (127.0.0.1, a free port), registers a user and
a client, then runs rounds: `--writers` concurrent writers create tasks (two assignees each) and
comment on them, recording every id the server acknowledged (a 201 received); after a random time
in `--seconds` the server's whole process group gets SIGKILL. With the server dead, the database
file is opened directly: `PRAGMA integrity_check` and `foreign_key_check` must pass, and every
acknowledged task and comment must be stored ("lost" counts those that are not). Writes that were
in flight when the server died may or may not be stored (their client never heard back); they are
counted apart. The server is then restarted on the same file, and the API's task total (kept by
triggers) must equal the rows stored. Exit status 1 when anything was lost or inconsistent.

The writes themselves do not depend on the kill's timing, so the numbers from one run to the next
differ only in how many writes fit in the rounds. docs/operations.md ("Faults") has a run's result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from tools import HOST, ROOT, catalyst_command, free_port  # noqa: E402  (bench/ is not a package)

SECRET = "crash-writes-secret-that-is-long-enough-for-hs256"
PASSWORD = "crash test password"


@dataclass
class Round:
    seconds: float = 0.0
    tasks_acknowledged: int = 0
    comments_acknowledged: int = 0
    tasks_lost: int = 0
    comments_lost: int = 0
    in_flight_at_kill: int = 0
    unacknowledged_but_stored: int = 0
    integrity_check: str = ""
    foreign_key_violations: int = 0
    api_total_matches_rows: bool = False
    writes_per_second: float = 0.0


@dataclass
class Result:
    rounds: list[Round] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.tasks_lost == 0 and r.comments_lost == 0 and r.integrity_check == "ok"
                   and r.foreign_key_violations == 0 and r.api_total_matches_rows
                   for r in self.rounds)

    def totals(self) -> dict[str, Any]:
        summed = {name: sum(getattr(r, name) for r in self.rounds) for name in (
            "tasks_acknowledged", "comments_acknowledged", "tasks_lost", "comments_lost",
            "in_flight_at_kill", "unacknowledged_but_stored")}
        return {"rounds": len(self.rounds), **summed, "ok": self.ok}


# -- the server --------------------------------------------------------------------------------

class Server:
    def __init__(self, data_dir: Path, workers: int) -> None:
        self.data_dir, self.workers = data_dir, workers
        self.database = data_dir / "catalyst.db"
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}/api/v1"
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return dict(os.environ) | {
            "CATALYST_DATA_DIR": str(self.data_dir),
            "CATALYST_DATABASE_URL": f"sqlite+aiosqlite:///{self.database}",
            "CATALYST_JWT_SECRET": SECRET,
            "CATALYST_SCHEDULER": "0",
            "CATALYST_RATE_LIMIT": "0",  # thousands of writes from one user, on purpose
            "CATALYST_READ_PROCESSES": "0",
        }

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.proc = await asyncio.to_thread(self._spawn)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}; see "
                                 f"{self.data_dir / 'server.log'}")
            try:
                async with session.get(f"{self.base}/health") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise SystemExit("the server did not become healthy in 60 s")

    def _spawn(self) -> subprocess.Popen[bytes]:
        with (self.data_dir / "server.log").open("ab") as log:
            return subprocess.Popen(
                [*catalyst_command(), "serve", "--host", HOST, "--port", str(self.port),
                 "--workers", str(self.workers), "--no-access-log"],
                stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=ROOT,
                start_new_session=True)

    def kill(self) -> None:
        """SIGKILL to the server and every process it started (gunicorn workers, read workers)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


# -- the load ----------------------------------------------------------------------------------

class Load:
    def __init__(self, session: aiohttp.ClientSession, base: str, token: str, client_id: str,
                 assignees: list[str]) -> None:
        self.session, self.base, self.client_id, self.assignees = session, base, client_id, assignees
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tasks: set[str] = set()
        self.comments: set[str] = set()
        self.in_flight = 0
        self.failures: list[str] = []

    async def _post(self, path: str, body: dict[str, Any]) -> str | None:
        """The id of what the server acknowledged, or None when the server is gone."""
        self.in_flight += 1
        try:
            async with self.session.post(f"{self.base}{path}", json=body, headers=self.headers) as r:
                payload = await r.json()
                if r.status != 201:
                    self.failures.append(f"{r.status} {payload}")
                    return None
                return str(payload["data"]["id"])
        except (TimeoutError, aiohttp.ClientError):
            return None  # the server died with this request in flight
        finally:
            self.in_flight -= 1

    async def writer(self, n: int, stop: asyncio.Event) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            task_id = await self._post("/tasks", {
                "client_id": self.client_id, "name": f"crash {n}-{i}", "assignees": self.assignees,
                "description": "written under kill -9", "priority": "High"})
            if task_id is None:
                return
            self.tasks.add(task_id)
            comment_id = await self._post(f"/tasks/{task_id}/comments", {"comment": f"comment {n}-{i}"})
            if comment_id is None:
                return
            self.comments.add(comment_id)


# -- the check ---------------------------------------------------------------------------------

def stored_ids(database: Path) -> tuple[str, int, set[str], set[str]]:
    """(integrity_check, foreign key violations, task ids, comment ids) read straight from the file
    the dead server left, as hex UUIDs."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        violations = len(conn.execute("PRAGMA foreign_key_check").fetchall())
        tasks = {uuid.UUID(str(row[0])).hex for row in conn.execute("SELECT id FROM tasks")}
        comments = {uuid.UUID(str(row[0])).hex for row in conn.execute("SELECT id FROM comments")}
    finally:
        conn.close()
    return integrity, violations, tasks, comments


def hexes(ids: set[str]) -> set[str]:
    return {uuid.UUID(i).hex for i in ids}


async def api_total(session: aiohttp.ClientSession, server: Server, token: str, client_id: str) -> int:
    async with session.get(f"{server.base}/tasks", params={"client_id": client_id, "limit": "1"},
                           headers={"Authorization": f"Bearer {token}"}) as r:
        return int((await r.json())["data"]["total_items"])


async def setup(session: aiohttp.ClientSession, server: Server) -> tuple[str, str, list[str]]:
    ids = []
    for who in ("owner", "colleague"):
        email = f"{who}@crash.example"
        async with session.post(f"{server.base}/auth/register",
                                json={"email": email, "password": PASSWORD, "name": who}) as r:
            assert r.status == 201, await r.text()
            ids.append((await r.json())["data"]["id"])
    async with session.post(f"{server.base}/auth/login",
                            json={"email": "owner@crash.example", "password": PASSWORD}) as r:
        token = (await r.json())["data"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{server.base}/clients", json={"name": "Crash"}, headers=headers) as r:
        client_id = (await r.json())["data"]["id"]
    async with session.post(f"{server.base}/clients/{client_id}/members", headers=headers,
                            json={"email": "colleague@crash.example", "role": "member"}) as r:
        assert r.status == 201, await r.text()
    return token, client_id, ids


async def run(*, rounds: int, writers: int, seconds: tuple[float, float], data_dir: Path,
              workers: int = 1, rng: random.Random | None = None,
              report: Any = None) -> Result:
    """The whole experiment on a fresh database in `data_dir` (an existing, empty folder)."""
    rng = rng or random.Random()
    server = Server(data_dir, workers)
    result = Result()
    acked_tasks: set[str] = set()
    acked_comments: set[str] = set()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await server.start(session)
        try:
            token, client_id, assignees = await setup(session, server)
            for n in range(1, rounds + 1):
                load = Load(session, server.base, token, client_id, assignees)
                stop = asyncio.Event()
                started = time.monotonic()
                running = [asyncio.ensure_future(load.writer(w, stop)) for w in range(writers)]
                await asyncio.sleep(rng.uniform(*seconds))
                in_flight = load.in_flight
                server.kill()
                elapsed = time.monotonic() - started
                stop.set()
                await asyncio.gather(*running)
                if load.failures:
                    raise SystemExit(f"writes failed before the kill: {load.failures[:5]}")

                integrity, violations, tasks, comments = stored_ids(server.database)
                round_tasks, round_comments = hexes(load.tasks), hexes(load.comments)
                acked_tasks |= round_tasks
                acked_comments |= round_comments
                record = Round(
                    seconds=round(elapsed, 2),
                    tasks_acknowledged=len(round_tasks), comments_acknowledged=len(round_comments),
                    tasks_lost=len(acked_tasks - tasks), comments_lost=len(acked_comments - comments),
                    in_flight_at_kill=in_flight,
                    unacknowledged_but_stored=len(tasks - acked_tasks) + len(comments - acked_comments),
                    integrity_check=integrity, foreign_key_violations=violations,
                    writes_per_second=round((len(round_tasks) + len(round_comments)) / elapsed, 1))
                await server.start(session)
                record.api_total_matches_rows = \
                    await api_total(session, server, token, client_id) == len(tasks)
                # What was stored without an answer is stored: later rounds count it as written.
                acked_tasks |= tasks
                acked_comments |= comments
                result.rounds.append(record)
                if report is not None:
                    report(n, record)
        finally:
            server.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--seconds", type=float, nargs=2, default=(1.5, 4.0),
                        metavar=("MIN", "MAX"), help="how long each round writes before the kill")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the database goes (default: a temporary folder, removed after)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="catalyst-crash-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.data_dir is not None and any(data_dir.glob("catalyst.db*")):
        parser.error(f"{data_dir} already holds a database; give an empty folder")

    def report(n: int, r: Round) -> None:
        print(f"round {n}: {r.seconds:5.2f} s, acknowledged {r.tasks_acknowledged} tasks + "
              f"{r.comments_acknowledged} comments ({r.writes_per_second}/s), lost "
              f"{r.tasks_lost + r.comments_lost}, in flight {r.in_flight_at_kill}, stored "
              f"unacknowledged {r.unacknowledged_but_stored}, integrity {r.integrity_check}, "
              f"foreign keys {r.foreign_key_violations} bad, API total "
              f"{'matches' if r.api_total_matches_rows else 'DIFFERS'}", flush=True)

    try:
        result = asyncio.run(run(rounds=args.rounds, writers=args.writers, seconds=tuple(args.seconds),
                                 data_dir=data_dir, workers=args.workers,
                                 rng=random.Random(args.seed), report=report))
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    totals = result.totals()
    print(json.dumps(totals))
    if args.json is not None:
        args.json.write_text(json.dumps({"totals": totals,
                                         "rounds": [asdict(r) for r in result.rounds]}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
