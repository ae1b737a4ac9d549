"""The lead scoring repository of MemoryStorage."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalyst_adapters.memory.storage import _Journal, _Tables


class MemoryLeadRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j
