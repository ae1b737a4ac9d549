"""`catalyst serve` with what-if knobs, to measure a suggested change before anyone makes it.

The product code is untouched: the knobs are applied from outside (interpreter settings, or a
wrapper around catalyst_adapters.sql.create_engine that the container picks up). bench/run.py runs
it with `--variant "<flags>"`; by hand:

    CATALYST_DATA_DIR=... CATALYST_DATABASE_URL=... CATALYST_JWT_SECRET=... \\
    .venv/bin/python bench/serve_variant.py --port 8000 --switch-interval 0.0005 --pool-size 32

  --switch-interval S   sys.setswitchinterval(S): how long a thread that wants the GIL waits before
                        the running one is asked to drop it (CPython default 0.005 s)
  --pool-size N         SQLAlchemy pool_size=N, max_overflow=0 (default QueuePool: 5 + 10 overflow,
                        whose overflow connections are closed, with their aiosqlite thread, on return)
  --uvloop              run on uvloop (pip install uvloop; pyproject's `bench` extra)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--switch-interval", type=float)
    parser.add_argument("--pool-size", type=int)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args(argv)

    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    if args.pool_size is not None:
        import catalyst_adapters.sql as sql_pkg
        import catalyst_api.container as container_mod

        original = sql_pkg.create_engine

        def create_engine(url: str, **kwargs: Any) -> Any:
            kwargs.setdefault("pool_size", args.pool_size)
            kwargs.setdefault("max_overflow", 0)
            return original(url, **kwargs)

        # The container's provider holds a reference to the function itself: re-point it.
        container_mod.Container.engine.set_provides(create_engine)
    if args.uvloop:
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    from catalyst_api.cli import main as catalyst_main

    return catalyst_main(["serve", "--host", args.host, "--port", str(args.port), "--no-access-log"])


if __name__ == "__main__":
    raise SystemExit(main())
