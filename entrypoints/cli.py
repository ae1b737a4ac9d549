"""The `catalyst` command: serve the API, migrate and back up the database, manage users, import
performance data, make a demo agency.

Every command uses one data folder (--data-dir, else $CATALYST_DATA_DIR, else the user data folder)
and reads the settings listed below."""

# The heavy imports (aiohttp, SQLAlchemy, the container) wait inside the commands, so that
# `catalyst --help` and a usage error answer at once.

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from catalyst_api.settings import Settings

log = logging.getLogger("catalyst.cli")


class Failure(Exception):
    """A problem the operator can fix: one `error:` line on stderr and exit `code`, no traceback."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def configure_logging(level: str, log_format: str = "text") -> None:
    from catalyst_api.logs import log_handler

    logging.basicConfig(level=level.upper(), handlers=[log_handler(log_format)], force=True)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # alembic announces its context on every start at INFO; only its warnings matter here.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def build_container(settings: Settings) -> Any:
    """The container every command runs on (tests replace this function to speed hashing up)."""
    from catalyst_api.container import build_container as build

    return build(settings)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError("must be between 1 and 65535")
    return value


def _client_id(text: str) -> Any:
    import uuid

    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a client id (a UUID)") from None


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option that has one; descriptions and the environment list kept
    as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or isinstance(action, argparse._SubParsersAction):
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    from catalyst_api.settings_doc import environment_help

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's parser must not reset what was given before the subcommand.
    common.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                        help="the folder of the SQLite database and the signing key (default: "
                             "$CATALYST_DATA_DIR, else the user data folder)")
    parser = argparse.ArgumentParser(prog="catalyst", description=__doc__, parents=[common],
                                     epilog=environment_help(), formatter_class=_Help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=kwargs.pop("description", help),
                                   parents=[common], formatter_class=_Help, **kwargs)

    serve = command("serve", "run the HTTP API")
    serve.add_argument("--host", default=None,
                       help="the address to listen on (default: $CATALYST_HOST, else 127.0.0.1; "
                            "0.0.0.0 for every interface)")
    serve.add_argument("--port", type=_port, default=None,
                       help="the port to listen on (default: $CATALYST_PORT, else 8000)")
    serve.add_argument("--workers", type=_positive, default=None,
                       help="server processes, each on one core (default: $CATALYST_WORKERS, else 1)")
    serve.add_argument("--no-access-log", action="store_true", help="no log line per request")

    command("migrate", "bring the database schema up to date (serve does it at start too)")

    backup = command("backup", "copy the SQLite database to FILE, consistently, while servers run")
    backup.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    backup.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")

    scheduler = command("scheduler", "run due alerts until stopped (beside or instead of the one "
                                     "inside `catalyst serve`; any number may run over one database)")
    scheduler.add_argument("--once", action="store_true",
                           help="run one pass over the alerts due now, then exit")

    users = command("users", "manage users").add_subparsers(dest="users_command", required=True,
                                                            metavar="COMMAND")
    create = users.add_parser(
        "create", parents=[common], formatter_class=_Help,
        help="create a user (a platform admin with --admin)",
        description="Create a user. The password is generated and printed once, unless "
                    "--password-stdin or --prompt says otherwise.")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True, help="the name shown to others")
    create.add_argument("--admin", action="store_true", help="make a platform administrator")
    how = create.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    how.add_argument("--prompt", action="store_true",
                     help="ask for the password on the terminal (twice)")
    reset = users.add_parser(
        "reset-password", parents=[common], formatter_class=_Help,
        help="set a user's password (every token issued before stops working)",
        description="Set a user's password without the old one. The new one is generated and "
                    "printed once, unless --password-stdin or --prompt says otherwise.")
    reset.add_argument("email")
    how = reset.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    how.add_argument("--prompt", action="store_true",
                     help="ask for the password on the terminal (twice)")
    for verb in ("deactivate", "activate"):
        sub = users.add_parser(verb, parents=[common], formatter_class=_Help,
                               help=f"{verb} a user (tokens stop or resume working at once)")
        sub.add_argument("email")

    metrics = command("metrics", "ad performance data").add_subparsers(
        dest="metrics_command", required=True, metavar="COMMAND")
    load = metrics.add_parser(
        "import", parents=[common], formatter_class=_Help,
        help="load performance rows from a CSV file (rows with a stored date, platform and ad_id "
             "replace the stored ones)")
    load.add_argument("file", type=Path, help="a UTF-8 CSV file whose first line names the columns")
    load.add_argument("--client", required=True, type=_client_id, help="the client's id")
    load.add_argument("--skip-invalid", action="store_true",
                      help="load the good lines even when some are bad (default: load nothing then)")
    load.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    command("demo", "fill the database with a demo agency (once; a second run changes nothing)")
    return parser


def settings_for(args: argparse.Namespace) -> Settings:
    """The environment's settings, with --data-dir in place of CATALYST_DATA_DIR."""
    env = dict(os.environ)
    if getattr(args, "data_dir", None) is not None:
        env["CATALYST_DATA_DIR"] = str(args.data_dir)
    try:
        return Settings.from_env(env)
    except ValueError as e:
        raise Failure(f"a CATALYST_* setting is invalid: {e}", code=2) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings_for(args)
        configure_logging(settings.log_level, settings.log_format)
        return _run(args, settings)
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from catalyst_api import commands

    if args.command == "serve":
        return commands.serve(args, settings)
    if args.command == "backup":
        return commands.backup(args, settings)
    with commands.database_errors(settings):
        if args.command == "migrate":
            commands.run(settings, None)
            print(f"database is up to date ({commands.where(settings)})")
            return 0
        if args.command == "scheduler":
            return commands.scheduler(args, settings)
        if args.command == "metrics":
            return commands.import_metrics(args, settings)
        if args.command == "demo":
            return commands.demo(settings)
        if args.users_command == "create":
            return commands.create_user(args, settings, commands.password(args))
        if args.users_command == "reset-password":
            return commands.reset_password(args, settings, commands.password(args))
        return commands.set_active(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
