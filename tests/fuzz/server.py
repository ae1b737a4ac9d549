"""A real Catalyst server on a loop of its own in a background thread, for tools that speak HTTP
over a socket (schemathesis): SQLite in a temporary folder (or memory), a registered platform admin
and their bearer token."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import requests
from aiohttp import web

from catalyst_adapters.security import PasslibHasher
from catalyst_api.app import create_app
from catalyst_api.container import build_container
from catalyst_api.settings import Settings
from catalyst_core.auth.model import GlobalRole

SECRET = "fuzz-secret-that-is-long-enough-for-hs256!"
ADMIN_EMAIL, ADMIN_PASSWORD = "fuzz-admin@example.com", "fuzz admin password"


class LiveServer:
    """`start()` serves on 127.0.0.1 at a free port; `stop()` shuts it down and joins the thread."""

    def __init__(self, kind: str, data_dir: Path) -> None:
        database = "memory" if kind == "memory" else f"sqlite+aiosqlite:///{data_dir / 'catalyst.db'}"
        # Rate limiting off: thousands of generated requests from one user would soon meet 429.
        # The scheduler is off so nothing but the tool's own requests changes the data.
        self.settings = Settings.from_env({
            "CATALYST_DATABASE_URL": database, "CATALYST_DATA_DIR": str(data_dir),
            "CATALYST_JWT_SECRET": SECRET, "CATALYST_SCHEDULER": "0", "CATALYST_READ_PROCESSES": "0",
            "CATALYST_RATE_LIMIT": "0",
        })
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"catalyst-{kind}", daemon=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.token = ""

    def run(self, coroutine: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)  # type: ignore[arg-type]

    def start(self) -> LiveServer:
        self._thread.start()
        container = build_container(self.settings)
        # Registration hashes every generated password: the slow production costs buy nothing here.
        container.hasher.override(PasslibHasher.fast_for_tests())
        self.container = container

        async def up() -> int:
            self._runner = web.AppRunner(create_app(self.settings, container=container), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            await container.auth().register(ADMIN_EMAIL, ADMIN_PASSWORD, "Fuzz Admin", role=GlobalRole.ADMIN)
            return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        port = self.run(up())
        root = f"http://127.0.0.1:{port}"
        self.base_url = root + "/api/v1"
        r = requests.post(self.base_url + "/auth/login", timeout=30,
                          json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        r.raise_for_status()
        self.token = r.json()["data"]["access_token"]
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        if self._runner is not None:
            self.run(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()
