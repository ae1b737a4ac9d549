"""Serve the real app under cProfile; dump the stats on SIGINT/SIGTERM (the fallback when py-spy
cannot attach, e.g. without ptrace rights).

    CATALYST_DATA_DIR=... CATALYST_DATABASE_URL=... CATALYST_JWT_SECRET=... \\
    .venv/bin/python bench/profile_server.py --port 8000 --out bench/results/server.prof
    # drive load (bench/run.py's wrk commands), then: kill -INT <pid>
    .venv/bin/python -c "import pstats; pstats.Stats('bench/results/server.prof')\
        .sort_stats('tottime').print_stats(30)"

cProfile only sees the event loop's thread and slows Python code down several times; use it for
*where*, not *how much*.
"""

from __future__ import annotations

import argparse
import cProfile
import signal
import sys
from pathlib import Path

from aiohttp import web


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/server.prof"))
    args = parser.parse_args(argv)

    from catalyst_api.app import create_app
    from catalyst_api.cli import configure_logging
    from catalyst_api.settings import Settings

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    app = create_app(settings)
    profiler = cProfile.Profile()

    def dump() -> None:
        profiler.disable()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(args.out)
        print(f"profile written to {args.out}", file=sys.stderr, flush=True)

    async def on_cleanup(_: web.Application) -> None:
        dump()

    app.on_cleanup.append(on_cleanup)
    # web.run_app turns SIGINT and SIGTERM into a clean shutdown, which runs on_cleanup.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    profiler.enable()
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
