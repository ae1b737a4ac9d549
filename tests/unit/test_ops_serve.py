"""`catalyst serve` as an operator runs it (issue 13): metrics added up across worker processes,
one log format in every process, a quiet shutdown, and requests in flight finished on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.unit.test_serve import _children, _free_port

POSIX = pytest.mark.skipif(sys.platform == "win32" or not Path("/proc").exists(), reason="POSIX")


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read().decode()


def _wait_ready(server: subprocess.Popen[bytes], url: str, workers: int = 0) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(url)[0] == 200 and (not workers or len(_children(server.pid)) == workers):
                return
        except OSError:
            pass
        assert server.poll() is None, server.communicate()[0].decode()
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.1)


@POSIX
def test_two_workers_add_their_metrics_up_and_log_alike(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALYST_", "PROMETHEUS_"))}
    env.update(CATALYST_DATA_DIR=str(tmp_path), CATALYST_SCHEDULER="0")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "catalyst_api.cli", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(server, base + "/health", workers=2)
        before = _count(_get(base + "/metrics")[1])
        for _ in range(30):  # each on a new connection: the kernel spreads them over the workers
            assert _get(base + "/health")[0] == 200
        assert _count(_get(base + "/metrics")[1]) == before + 30
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
    assert "Error while closing socket" not in output and "Traceback" not in output, output
    assert f"serving on http://127.0.0.1:{port} (2 processes); database: SQLite file" in output
    access = [line for line in output.splitlines() if " catalyst.access " in line]
    assert len(access) >= 30
    # The same shape as one process's lines: date, time, level, logger, [request id], message.
    assert all(line.split()[2] == "INFO" and line.split()[4].startswith("[") for line in access), access[:3]


def _count(text: str) -> float:
    key = 'catalyst_http_requests_total{method="GET",route="/health",status="200"} '
    return sum(float(line[len(key):]) for line in text.splitlines() if line.startswith(key))


SLOW_SERVER = textwrap.dedent("""
    import asyncio, sys
    from aiohttp import web
    from catalyst_api.serve import serve

    async def slow(request):
        await asyncio.sleep(float(request.query["seconds"]))
        return web.Response(text="finished")

    def make_app():
        app = web.Application()
        app.router.add_get("/slow", slow)
        app.router.add_get("/up", lambda request: asyncio.sleep(0, web.Response(text="up")))
        return app

    serve(make_app, host="127.0.0.1", port=int(sys.argv[1]), shutdown_timeout=float(sys.argv[2]))
""")


@POSIX
@pytest.mark.parametrize(("seconds", "bound", "finished"), [(1.5, 10, True), (30, 1, False)])
def test_sigterm_lets_requests_in_flight_finish_within_the_bound(seconds: float, bound: float,
                                                                 finished: bool) -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SLOW_SERVER, str(port), str(bound)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    outcome: list[object] = []
    try:
        _wait_ready(server, base + "/up")
        request = threading.Thread(target=lambda: outcome.append(_try(f"{base}/slow?seconds={seconds}")))
        request.start()
        time.sleep(0.5)  # the request is in the handler now
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=bound + 20)
        request.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, server.communicate()[0].decode()
    if finished:
        assert outcome == [(200, "finished")]
    else:  # the bound cut it short: the server did not wait the handler's 30 s
        assert outcome and outcome[0] != (200, "finished")
        assert time.monotonic() - started < seconds


def _try(url: str) -> object:
    try:
        return _get(url)
    except OSError as e:
        return e
