"""Serving an aiohttp application: one process, or several behind gunicorn's arbiter.

One process runs on one core. `workers > 1` hands process management (forking, restarting a worker
that dies, graceful shutdown on SIGTERM, a heartbeat that replaces a stuck worker) to gunicorn with
aiohttp's own worker class; every worker builds its own application, and so its own database
connections, after the fork. The listening socket is the arbiter's and shared by the workers."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from catalyst_api.loop import new_event_loop

AppFactory = Callable[[], web.Application]

# aiohttp's default, rather than gunicorn's 2 s: clients keep connections open between requests.
KEEPALIVE_SECONDS = 75


def freeze_startup_objects() -> None:
    """Everything built at start-up lives as long as the process: keep it out of the cyclic
    collector's scans, which otherwise show up as latency spikes under load."""
    gc.collect()
    gc.freeze()


def serve(make_app: AppFactory, *, host: str, port: int, workers: int = 1,
          access_log_format: str | None = None, access_log: bool = True) -> None:
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers == 1:
        app = make_app()
        freeze_startup_objects()
        web.run_app(app, host=host, port=port, loop=new_event_loop(),
                    access_log=logging.getLogger("aiohttp.access") if access_log else None,
                    **({"access_log_format": access_log_format} if access_log_format else {}))
        return
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": _worker_class(),
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": "-" if access_log else None,
        "post_worker_init": lambda _worker: freeze_startup_objects(),
        # One control socket path per user by default: two servers would fight over it.
        "control_socket_disable": True,
    }
    if access_log_format:
        options["access_log_format"] = access_log_format
    _Workers(make_app, options).run()


def _worker_class() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "aiohttp.worker.GunicornWebWorker"
    return "aiohttp.worker.GunicornUVLoopWebWorker"


try:
    from gunicorn.app.base import BaseApplication
except ImportError:  # gunicorn is POSIX only; one process still serves everywhere
    BaseApplication = object


class _Workers(BaseApplication):  # type: ignore[misc,valid-type]
    """gunicorn's documented way to embed it (a "custom application")."""

    def __init__(self, make_app: AppFactory, options: dict[str, Any]) -> None:
        if BaseApplication is object:
            raise RuntimeError("several workers need gunicorn, which is not installed (POSIX only)")
        self._make_app = make_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> web.Application:
        # Called in each worker after the fork (the app is not preloaded in the arbiter).
        return self._make_app()
