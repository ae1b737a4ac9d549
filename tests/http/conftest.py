"""Fixtures of the HTTP tests."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from tests.conftest import FAST_LANE_OFF
from tests.helpers import START


@pytest.fixture
def clock(api: Any) -> FrozenClock:
    """A frozen clock for the whole app (tokens are judged by it too); request it before the first
    service call so every service shares it."""
    frozen = FrozenClock(START)
    api.container.clock.override(frozen)
    return frozen


# The HTTP tests of tasks and comments (the task list is the fast lane's main user) also run on
# SQLite with the fast lane off (CATALYST_FAST_LANE=0, docs/adr/0006), so both paths answer alike;
# the other modules keep the three storages, to bound the suite's time.
BOTH_LANES_MODULES = ("test_tasks_", "test_comments")
API_KINDS_BOTH_LANES = ("memory", "sqlite", FAST_LANE_OFF, "postgres")


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "api" not in metafunc.fixturenames or not module.startswith(BOTH_LANES_MODULES):
        return
    if any("api" in str(mark.args[0] if mark.args else "")
           for mark in metafunc.definition.iter_markers("parametrize")):
        return  # the test chose its storages itself
    # A parametrize mark takes precedence over the fixture's own params (pytest's fixture manager).
    metafunc.definition.add_marker(pytest.mark.parametrize("api", API_KINDS_BOTH_LANES, indirect=True))
