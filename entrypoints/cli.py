"""The `catalyst` command: serve the API, migrate the database, manage users, import performance
data, make a demo agency."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from catalyst_api.app import create_app
from catalyst_api.container import Container, build_container, start_storage, stop_storage
from catalyst_api.demo import ADMIN_EMAIL, Demo, create_demo
from catalyst_api.metrics_import import ImportFailed, import_csv
from catalyst_api.middleware import RequestIdFilter
from catalyst_api.scheduler import run_scheduler
from catalyst_api.serve import serve
from catalyst_api.settings import Settings
from catalyst_core.auth.model import GlobalRole
from catalyst_core.errors import DomainError
from catalyst_core.ids import ClientId

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs rid=%{X-Request-ID}o'


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _client_id(text: str) -> ClientId:
    try:
        return ClientId(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError("must be a client id (a UUID)") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catalyst", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-access-log", action="store_true", help="skip per-request log lines")
    serve.add_argument("--workers", type=_positive, default=None,
                       help="server processes (default: $CATALYST_WORKERS or 1); each uses one core")

    commands.add_parser("migrate", help="bring the database schema up to date")

    scheduler = commands.add_parser(
        "scheduler", help="run due alerts until stopped (beside or instead of the one inside "
                          "`catalyst serve`; any number may run over one database)")
    scheduler.add_argument("--once", action="store_true",
                           help="run one pass over the alerts due now, then exit")

    users = commands.add_parser("users", help="manage users").add_subparsers(dest="users_command",
                                                                              required=True)
    create = users.add_parser("create", help="create a user (a platform admin with --admin)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--admin", action="store_true", help="make a platform administrator")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input instead of prompting")
    for verb in ("deactivate", "activate"):
        sub = users.add_parser(verb, help=f"{verb} a user (tokens stop or resume working at once)")
        sub.add_argument("email")

    metrics = commands.add_parser("metrics", help="ad performance data").add_subparsers(
        dest="metrics_command", required=True)
    load = metrics.add_parser(
        "import", help="load performance rows from a CSV file (rows with a stored date, platform "
                       "and ad_id replace the stored ones)")
    load.add_argument("file", type=Path, help="a UTF-8 CSV file whose first line names the columns")
    load.add_argument("--client", required=True, type=_client_id, help="the client's id")
    load.add_argument("--skip-invalid", action="store_true",
                      help="load the good lines even when some are bad (default: load nothing then)")
    load.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    commands.add_parser("demo", help="fill the database with a demo agency (once; a second run "
                                     "changes nothing)")
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("passwords differ")
    return first


async def _with_container(settings: Settings, work) -> Any:  # type: ignore[no-untyped-def]
    container: Container = build_container(settings)
    await start_storage(container)
    try:
        return await work(container)
    finally:
        await stop_storage(container)


def _database(settings: Settings) -> str:
    if settings.storage_kind == "memory":
        return "memory (nothing persists: the demo is gone when this command ends)"
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _print_demo(demo: Demo, settings: Settings) -> None:
    if not demo.created:
        print(f"A demo agency is already in {_database(settings)} ({ADMIN_EMAIL} exists); "
              "nothing was changed.")
        print(f"Log in as {ADMIN_EMAIL} with the password the first `catalyst demo` printed "
              "(every demo user has it); for a fresh demo, point CATALYST_DATABASE_URL at an "
              "empty database.")
        return
    rows = sum(c.rows for c in demo.clients)
    tasks = sum(c.tasks for c in demo.clients)
    print(f"Created a demo agency in {_database(settings)}:")
    print(f"  {demo.users} users, {len(demo.clients)} clients, {tasks} tasks, {rows:,} performance "
          f"rows ({demo.first_day} to {demo.last_day})")
    for c in demo.clients:
        print(f"  {c.name:<20} {c.id}  {c.members} members, {c.tasks} tasks, {c.rows:,} rows, "
              f"{c.alert_instances} alert instances")
    print()
    print("Platform admin (the password is shown only now; every demo user, e.g. "
          "maya.patel@demo.catalyst.example, has the same one):")
    print(f"  email:    {ADMIN_EMAIL}")
    print(f"  password: {demo.password}")
    print()
    first = demo.clients[0].id
    print("Try it: `catalyst serve`, then")
    print("  API=http://127.0.0.1:8000/api/v1")
    print(f"  TOKEN=$(curl -s -X POST $API/auth/login -H 'Content-Type: application/json' \\\n"
          f"    -d '{{\"email\": \"{ADMIN_EMAIL}\", \"password\": \"{demo.password}\"}}' \\\n"
          "    | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"data\"][\"access_token\"])')")
    print(f"  curl -s \"$API/reports/growth?client_id={first}&period=weekly\" "
          "-H \"Authorization: Bearer $TOKEN\"")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level)

    if args.command == "serve":
        workers = args.workers or settings.workers
        if workers > 1 and not settings.shared_between_processes:
            print("error: several workers need a database they can share (a SQLite file or "
                  "PostgreSQL); each would have its own in-memory one", file=sys.stderr)
            return 2
        if workers > 1:
            # Once, before the workers start: the signing key file and the schema migration.
            settings = settings.with_secret()
            asyncio.run(_with_container(settings, lambda c: asyncio.sleep(0)))
        serve(lambda: create_app(settings), host=args.host, port=args.port, workers=workers,
              access_log_format=ACCESS_LOG_FORMAT, access_log=not args.no_access_log)
        return 0

    if args.command == "scheduler":
        return asyncio.run(_with_container(settings, lambda c: run_scheduler(c, settings,
                                                                              once=args.once)))

    if args.command == "migrate":
        asyncio.run(_with_container(settings, lambda c: asyncio.sleep(0)))
        print("database is up to date")
        return 0

    try:
        if args.command == "metrics":
            return _import_metrics(args, settings)
        if args.command == "demo":
            # The demo's own task events would bury the credentials it prints.
            logging.getLogger("catalyst.events").setLevel(logging.WARNING)
            demo = asyncio.run(_with_container(settings, create_demo))
            _print_demo(demo, settings)
            return 0
        if args.users_command == "create":
            password = _read_password(args.password_stdin)
            role = GlobalRole.ADMIN if args.admin else GlobalRole.MEMBER

            async def create(c: Container) -> None:
                user = await c.auth().register(args.email, password, args.name, role=role)
                print(f"created {user.role.value} {user.email} ({user.id})")

            asyncio.run(_with_container(settings, create))
        else:
            active = args.users_command == "activate"

            async def set_active(c: Container) -> None:
                user = await c.auth().set_active(args.email, active)
                print(f"{user.email} is now {'active' if user.is_active else 'deactivated'}")

            asyncio.run(_with_container(settings, set_active))
    except DomainError as e:
        details = getattr(e, "fields", None)
        print(f"error: {e.message}" + (f" {details}" if details else ""), file=sys.stderr)
        return 1
    return 0


def _import_metrics(args: argparse.Namespace, settings: Settings) -> int:
    async def work(c: Container) -> int:
        try:
            outcome = await import_csv(c, args.file, args.client, skip_invalid=args.skip_invalid,
                                       progress=not args.no_progress)
        except ImportFailed as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        skipped = f"; skipped {outcome.bad} bad lines" if outcome.bad else ""
        print(f"{args.file}: inserted {outcome.inserted}, updated {outcome.updated}{skipped}")
        return 1 if outcome.bad else 0

    return asyncio.run(_with_container(settings, work))


if __name__ == "__main__":
    raise SystemExit(main())
