"""The one place where identifiers are made, so tests can make them deterministic."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import NewType

UserId = NewType("UserId", uuid.UUID)
ClientId = NewType("ClientId", uuid.UUID)
TaskId = NewType("TaskId", uuid.UUID)
CommentId = NewType("CommentId", uuid.UUID)

IdFactory = Callable[[], uuid.UUID]


def random_ids() -> uuid.UUID:
    """The production id factory: random (version 4) UUIDs."""
    return uuid.uuid4()


def sequential_ids(start: int = 1) -> IdFactory:
    """A deterministic id factory for tests: UUIDs 00000000-...-000000000001, ...002 and so on."""
    counter = iter(range(start, 2**63))
    return lambda: uuid.UUID(int=next(counter))
