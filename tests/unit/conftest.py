"""Fixtures of the unit tests that drive the `catalyst` command."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

# Every setting Settings.from_env reads: a test starts from none of them.
ENV_KEYS = ("CATALYST_DATA_DIR", "CATALYST_DATABASE_URL", "CATALYST_JWT_SECRET", "CATALYST_JWT_ALGORITHM",
            "CATALYST_JWT_LIFETIME_SECONDS", "CATALYST_MAX_BODY_BYTES", "CATALYST_MAX_INGEST_BYTES",
            "CATALYST_LOG_LEVEL", "CATALYST_WORKERS", "CATALYST_READ_PROCESSES", "CATALYST_SCHEDULER",
            "CATALYST_SCHEDULER_INTERVAL_SECONDS", "CATALYST_WEBHOOK_URL", "CATALYST_WEBHOOK_SECRET",
            "CATALYST_WEBHOOK_TIMEOUT_SECONDS", "CATALYST_WEBHOOK_MAX_ATTEMPTS")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A data dir of our own (its SQLite database too), a clean CATALYST_* environment, quiet logs,
    and the root logger restored after."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CATALYST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CATALYST_LOG_LEVEL", "WARNING")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield tmp_path
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli_db(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cli_env with a fixed signing key: commands and the test's own container share the database."""
    monkeypatch.setenv("CATALYST_JWT_SECRET", "cli-test-secret-that-is-long-enough-for-hs256")
    return cli_env
