"""`catalyst serve --workers N`: several processes behind gunicorn, one database, one signing key."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # a new connection each time
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(sys.platform == "win32" or not Path("/proc").exists(), reason="gunicorn and /proc: POSIX")
def test_two_workers_share_the_database_and_the_signing_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env.update(CATALYST_DATA_DIR=str(tmp_path), CATALYST_LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "catalyst_api.cli"]
    subprocess.run([*command, "users", "create", "--admin", "--email", "ops@example.com", "--name", "Ops",
                    "--password-stdin"], input=b"correct horse battery\n", env=env, check=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    server = subprocess.Popen([*command, "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _call(base, "GET", "/health")[0] == 200 and len(_children(server.pid)) == 2:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.communicate()[0].decode()
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        assert len(_children(server.pid)) == 2

        status, body = _call(base, "POST", "/auth/login",
                             {"email": "ops@example.com", "password": "correct horse battery"})
        assert status == 200, body
        token = body["data"]["access_token"]
        status, body = _call(base, "POST", "/clients", {"name": "Acme"}, token)
        assert status == 201, body
        client_id = body["data"]["id"]
        created = []
        for i in range(10):  # new connections: the workers take them in turns, as the kernel decides
            status, body = _call(base, "POST", f"/tasks?client_id={client_id}", {"name": f"Task {i}"}, token)
            assert status == 201, body
            created.append(body["data"]["id"])
        for _ in range(20):
            status, body = _call(base, "GET", f"/tasks?client_id={client_id}&limit=100", token=token)
            assert status == 200, body
            assert sorted(t["id"] for t in body["data"]["tasks"]) == sorted(created)
            assert body["data"]["total_items"] == 10
        assert (tmp_path / "jwt-secret").exists()  # made once, before the workers started
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
    assert "Traceback" not in output, output
