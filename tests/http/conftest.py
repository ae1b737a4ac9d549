"""Fixtures of the HTTP tests."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from tests.helpers import START


@pytest.fixture
def clock(api: Any) -> FrozenClock:
    """A frozen clock for the whole app (tokens are judged by it too); request it before the first
    service call so every service shares it."""
    frozen = FrozenClock(START)
    api.container.clock.override(frozen)
    return frozen
