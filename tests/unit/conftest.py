"""Fixtures of the unit tests that drive the `catalyst` command."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from catalyst_api.settings import Settings

# Every setting Settings.from_env reads (each field names its variable): a test starts from none.
ENV_KEYS = tuple(f.metadata["env"] for f in attrs.fields(Settings) if "env" in f.metadata)


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
