"""The `catalyst` command: serve the API, migrate the database, manage users."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from catalyst_api.app import create_app
from catalyst_api.container import Container, build_container, start_storage, stop_storage
from catalyst_api.middleware import RequestIdFilter
from catalyst_api.settings import Settings
from catalyst_core.auth.model import GlobalRole
from catalyst_core.errors import DomainError

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs rid=%{X-Request-ID}o'


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (a dependency on Linux and macOS): its I/O path is leaner."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catalyst", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-access-log", action="store_true", help="skip per-request log lines")

    commands.add_parser("migrate", help="bring the database schema up to date")

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
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("passwords differ")
    return first


async def _with_container(settings: Settings, work) -> None:  # type: ignore[no-untyped-def]
    container: Container = build_container(settings)
    await start_storage(container)
    try:
        await work(container)
    finally:
        await stop_storage(container)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level)

    if args.command == "serve":
        app = create_app(settings)
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # collector's scans, which otherwise show up as latency spikes under load.
        gc.collect()
        gc.freeze()
        web.run_app(app, host=args.host, port=args.port, access_log_format=ACCESS_LOG_FORMAT,
                    access_log=None if args.no_access_log else logging.getLogger("aiohttp.access"),
                    loop=new_event_loop())
        return 0

    if args.command == "migrate":
        asyncio.run(_with_container(settings, lambda c: asyncio.sleep(0)))
        print("database is up to date")
        return 0

    try:
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


if __name__ == "__main__":
    raise SystemExit(main())
