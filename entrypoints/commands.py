"""The work behind each `catalyst` command (cli.py parses; this module is imported only once a
command runs). Problems an operator can fix end as one `Failure` line, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import getpass
import logging
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from sqlalchemy.engine import make_url

from catalyst_api import cli
from catalyst_api.cli import Failure
from catalyst_api.settings import Settings, sqlite_path
from catalyst_core.errors import DomainError

log = logging.getLogger("catalyst.cli")

# prometheus-client's multiprocess mode (catalyst_api.observability reads it too). Not imported
# from there: that would import prometheus_client before the variable is set.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# What `pip install` needs for each database driver a URL may name.
EXTRAS = {"asyncpg": "catalyst-agency[postgres]"}


def where(settings: Settings) -> str:
    """The database, said for a person: the SQLite file, or the URL without its password."""
    if settings.storage_kind == "memory":
        return "memory (nothing persists)"
    path = sqlite_path(settings.database_url)
    if path is not None:
        return f"SQLite file {path.resolve()}"
    return make_url(settings.database_url).render_as_string(hide_password=True)


def check_driver(settings: Settings) -> None:
    """The database URL parses and its driver is installed (else one line saying what to install)."""
    if settings.storage_kind == "memory":
        return
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(settings.database_url)
        url.get_dialect().import_dbapi()
    except (ArgumentError, NoSuchModuleError, ValueError) as e:
        raise Failure(f"CATALYST_DATABASE_URL is not a database URL Catalyst can use ({e})", 2) from None
    except ImportError as e:
        driver = url.get_driver_name()
        extra = EXTRAS.get(driver, driver)
        raise Failure(f"CATALYST_DATABASE_URL names {url.get_backend_name()} through {driver}, which "
                      f"is not installed: pip install '{extra}' ({e})", 2) from None


@contextlib.contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """The failures of reaching or migrating the database, as one line each."""
    from sqlalchemy.exc import DBAPIError

    from catalyst_api.schema import SchemaAhead

    check_driver(settings)
    try:
        yield
    except SchemaAhead as e:
        raise Failure(f"{e} ({where(settings)})") from None
    except DomainError as e:
        details = getattr(e, "fields", None)
        raise Failure(e.message + (f" {details}" if details else "")) from None
    except (DBAPIError, OSError) as e:
        if isinstance(e, OSError) and e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
            raise
        reason = str(getattr(e, "orig", None) or e).splitlines()[0]
        raise Failure(f"cannot use the database ({where(settings)}): {reason}") from None


def run(settings: Settings, work: Callable[[Any], Awaitable[Any]] | None) -> Any:
    """`work(container)` on a started container (storage migrated), then the container stopped."""
    from catalyst_api.container import start_storage, stop_storage

    async def main() -> Any:
        container = cli.build_container(settings)
        await start_storage(container)
        try:
            return None if work is None else await work(container)
        finally:
            await stop_storage(container)

    return asyncio.run(main())


# -- serve -------------------------------------------------------------------------------------------

def serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    if workers > 1 and not settings.shared_between_processes:
        raise Failure("several workers need a database they can share (a SQLite file or "
                      "PostgreSQL); each would have its own in-memory one", 2)
    with database_errors(settings):
        check_port(host, port)
        own_metrics_dir = None
        if workers > 1 and not os.environ.get(MULTIPROC_ENV):
            # Before prometheus_client is first imported: it picks its multiprocess value files
            # from this variable at import, and the workers inherit it through the fork.
            own_metrics_dir = tempfile.mkdtemp(prefix="catalyst-metrics-")
            os.environ[MULTIPROC_ENV] = own_metrics_dir
        try:
            if workers > 1:
                # Once, before the workers start: the signing key file and the schema migration.
                settings = settings.with_secret()
                run(settings, None)
            _serve(settings, host, port, workers, access_log=not args.no_access_log)
        finally:
            if own_metrics_dir is not None:
                os.environ.pop(MULTIPROC_ENV, None)
                shutil.rmtree(own_metrics_dir, ignore_errors=True)
    return 0


def _serve(settings: Settings, host: str, port: int, workers: int, *, access_log: bool) -> None:
    from catalyst_api.app import create_app
    from catalyst_api.container import build_container, shared_rate_table
    from catalyst_api.serve import serve

    banner = f"database: {where(settings)}; data folder: {settings.data_dir.resolve()}"
    # Made here, before the workers are forked, so that they all count rate limits in one table.
    table = shared_rate_table(settings, workers)

    def make_app() -> Any:
        return create_app(settings, container=build_container(settings, rate_table=table))

    try:
        serve(make_app, host=host, port=port, workers=workers,
              access_log=access_log, shutdown_timeout=settings.shutdown_timeout_seconds, banner=banner)
    except OSError as e:  # the port was taken between the check and the bind
        if e.errno == errno.EADDRINUSE:
            raise Failure(_port_in_use(host, port)) from None
        raise


def check_port(host: str, port: int) -> None:
    """Fail early, with what to do, when the address is taken (before migrating anything)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise Failure(f"cannot listen on {host!r}: {e.strerror}", 2) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise Failure(_port_in_use(host, port)) from None
            raise Failure(f"cannot listen on {host}:{port}: {e.strerror}", 2) from None


def _port_in_use(host: str, port: int) -> str:
    return (f"{host}:{port} is already in use (another `catalyst serve`?): stop it, or choose "
            "another port with --port or CATALYST_PORT")


# -- the other commands ------------------------------------------------------------------------------

def backup(args: argparse.Namespace, settings: Settings) -> int:
    from catalyst_api.backup import BackupFailed, backup_sqlite, source_of

    try:
        done = backup_sqlite(source_of(settings), args.file, overwrite=args.overwrite)
    except BackupFailed as e:
        raise Failure(str(e)) from None
    print(f"backed up {done.source} to {done.target} ({done.bytes:,} bytes)")
    return 0


def scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from catalyst_api.scheduler import run_scheduler

    return int(run(settings, lambda c: run_scheduler(c, settings, once=args.once)))


def import_metrics(args: argparse.Namespace, settings: Settings) -> int:
    from catalyst_api.metrics_import import ImportFailed, import_csv

    async def work(c: Any) -> int:
        try:
            outcome = await import_csv(c, args.file, args.client, skip_invalid=args.skip_invalid,
                                       progress=not args.no_progress)
        except ImportFailed as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        skipped = f"; skipped {outcome.bad} bad lines" if outcome.bad else ""
        print(f"{args.file}: inserted {outcome.inserted}, updated {outcome.updated}{skipped}")
        return 1 if outcome.bad else 0

    return int(run(settings, work))


def password(args: argparse.Namespace) -> str | None:
    """The new user's password: from stdin, from the terminal, or None (generate one)."""
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise Failure("--password-stdin: standard input held no password", 2)
        return line.rstrip("\r\n")
    if args.prompt:
        if not sys.stdin.isatty():
            raise Failure("--prompt needs a terminal; pipe the password in with --password-stdin", 2)
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise Failure("the passwords differ", 2)
        return first
    return None


def create_user(args: argparse.Namespace, settings: Settings, given: str | None) -> int:
    from catalyst_core.auth.model import GlobalRole

    chosen = given if given is not None else secrets.token_urlsafe(18)
    role = GlobalRole.ADMIN if args.admin else GlobalRole.MEMBER

    async def create(c: Any) -> None:
        user = await c.auth().register(args.email, chosen, args.name, role=role)
        print(f"created {user.role.value} {user.email} ({user.id})")
        if given is None:
            print(f"password: {chosen}")
            print("(generated, and shown only now: keep it somewhere safe)", file=sys.stderr)

    run(settings, create)
    return 0


def reset_password(args: argparse.Namespace, settings: Settings, given: str | None) -> int:
    chosen = given if given is not None else secrets.token_urlsafe(18)

    async def reset(c: Any) -> None:
        user = await c.auth().reset_password(args.email, chosen)
        print(f"password of {user.email} reset; tokens issued before no longer work")
        if given is None:
            print(f"password: {chosen}")
            print("(generated, and shown only now: keep it somewhere safe)", file=sys.stderr)

    run(settings, reset)
    return 0


def set_active(args: argparse.Namespace, settings: Settings) -> int:
    active = args.users_command == "activate"

    async def work(c: Any) -> None:
        user = await c.auth().set_active(args.email, active)
        print(f"{user.email} is now {'active' if user.is_active else 'deactivated'}")

    run(settings, work)
    return 0


def demo(settings: Settings) -> int:
    from catalyst_api.demo import create_demo

    # The demo's own task events would bury the credentials it prints.
    logging.getLogger("catalyst.events").setLevel(logging.WARNING)
    _print_demo(run(settings, create_demo), settings)
    return 0


def _print_demo(made: Any, settings: Settings) -> None:
    from catalyst_api.demo import ADMIN_EMAIL

    if not made.created:
        print(f"A demo agency is already in {where(settings)} ({ADMIN_EMAIL} exists); "
              "nothing was changed.")
        print(f"Log in as {ADMIN_EMAIL} with the password the first `catalyst demo` printed "
              "(every demo user has it); for a fresh demo, use another --data-dir or point "
              "CATALYST_DATABASE_URL at an empty database.")
        return
    rows = sum(c.rows for c in made.clients)
    tasks = sum(c.tasks for c in made.clients)
    print(f"Created a demo agency in {where(settings)}:")
    print(f"  {made.users} users, {len(made.clients)} clients, {tasks} tasks, {rows:,} performance "
          f"rows ({made.first_day} to {made.last_day})")
    for c in made.clients:
        print(f"  {c.name:<20} {c.id}  {c.members} members, {c.tasks} tasks, {c.rows:,} rows, "
              f"{c.alert_instances} alert instances")
    print()
    print("Platform admin (the password is shown only now; every demo user, e.g. "
          "maya.patel@demo.catalyst.example, has the same one):")
    print(f"  email:    {ADMIN_EMAIL}")
    print(f"  password: {made.password}")
    print()
    first = made.clients[0].id
    print("Try it: `catalyst serve`, then")
    print("  API=http://127.0.0.1:8000/api/v1")
    print(f"  TOKEN=$(curl -s -X POST $API/auth/login -H 'Content-Type: application/json' \\\n"
          f"    -d '{{\"email\": \"{ADMIN_EMAIL}\", \"password\": \"{made.password}\"}}' \\\n"
          "    | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"data\"][\"access_token\"])')")
    print(f"  curl -s -w '\\n' \"$API/reports/growth?client_id={first}&period=weekly\" "
          "-H \"Authorization: Bearer $TOKEN\"")
