"""Serving an aiohttp application: one process, or several behind gunicorn's arbiter.

One process runs on one core. `workers > 1` hands process management (forking, restarting a worker
that dies, graceful shutdown on SIGTERM, a heartbeat that replaces a stuck worker) to gunicorn with
aiohttp's own worker class; every worker builds its own application, and so its own database
connections, after the fork. The listening socket is the arbiter's and shared by the workers.

Both ways log alike: request lines come from the application's middleware (catalyst.access), and
gunicorn's own lines go through the same handlers as everything else. Both stop alike: SIGTERM (or
SIGINT) stops accepting connections and gives requests in flight `shutdown_timeout` seconds."""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import Callable
from typing import Any

from aiohttp import web

from catalyst_api.loop import new_event_loop

AppFactory = Callable[[], web.Application]
log = logging.getLogger("catalyst.serve")

# aiohttp's default, rather than gunicorn's 2 s: clients keep connections open between requests.
KEEPALIVE_SECONDS = 75


MIDDLE_COLLECTION_EVERY = 4  # young collections between two of the middle generation (default 10)


def freeze_startup_objects() -> None:
    """Everything built at start-up lives as long as the process: keep it out of the cyclic
    collector's scans, which otherwise show up as latency spikes under load."""
    gc.collect()
    gc.freeze()
    # A middle-generation collection scans everything young, ~6,000 objects after the default 10
    # young collections, which held the loop 1.4-1.6 ms (bench/loop_lag.py, "GC max"); after 4 it
    # is ~0.9 ms, so with a request's own work it stays under issue #14's 2 ms.
    young, _, old = gc.get_threshold()
    gc.set_threshold(young, MIDDLE_COLLECTION_EVERY, old)


def serve(make_app: AppFactory, *, host: str, port: int, workers: int = 1, access_log: bool = True,
          shutdown_timeout: float = 30.0, banner: str | None = None) -> None:
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if not access_log:
        logging.getLogger("catalyst.access").setLevel(logging.WARNING)
    if workers == 1:
        app = make_app()
        freeze_startup_objects()
        # The request lines come from the middleware (catalyst.access); aiohttp's would repeat them.
        web.run_app(app, host=host, port=port, loop=new_event_loop(), access_log=None,
                    shutdown_timeout=shutdown_timeout,
                    print=lambda _text: _announce(host, port, banner))
        return
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": _worker_class(),
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": None,
        "graceful_timeout": max(1, math.ceil(shutdown_timeout)),  # gunicorn takes whole seconds
        "logger_class": _GunicornLogs,
        "post_worker_init": _post_worker_init,
        "loglevel": logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
        "when_ready": lambda _arbiter: _announce(host, port, banner, workers),
        # One control socket path per user by default: two servers would fight over it.
        "control_socket_disable": True,
    }
    _Workers(make_app, options).run()


def _post_worker_init(worker: Any) -> None:
    # The event loop's server takes the listening sockets over and closes them at shutdown;
    # handed gunicorn's wrappers, it closed them through the wrapper after the descriptor was
    # gone, and each worker logged "Error while closing socket [Errno 9]" on its way out.
    worker.sockets = [getattr(s, "sock", s) for s in worker.sockets]
    freeze_startup_objects()


def _announce(host: str, port: int, banner: str | None, workers: int = 1) -> None:
    where = f"[{host}]" if ":" in host else host
    processes = f" ({workers} processes)" if workers > 1 else ""
    log.info("serving on http://%s:%d%s%s", where, port, processes, f"; {banner}" if banner else "")


def _worker_class() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "aiohttp.worker.GunicornWebWorker"
    return "aiohttp.worker.GunicornUVLoopWebWorker"


try:
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger as GunicornLogger
except ImportError:  # gunicorn is POSIX only; one process still serves everywhere
    BaseApplication = GunicornLogger = object


class _GunicornLogs(GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's messages through Catalyst's handlers (the same format, text or JSON, as one
    process), instead of gunicorn's own stream handler and format."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers[:]:
                logger.removeHandler(handler)
            logger.propagate = True


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
