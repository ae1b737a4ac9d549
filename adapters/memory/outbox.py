"""The outbox repository of MemoryStorage."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from attrs import evolve

from catalyst_core.errors import Conflict
from catalyst_core.events import Delivery

if TYPE_CHECKING:
    from catalyst_adapters.memory.storage import _Journal, _Tables


def _stored(delivery: Delivery) -> Delivery:
    # The SQL adapter keeps the payload as JSON text: going through JSON here hands back the same
    # values (lists for tuples, text keys) and refuses what it would refuse.
    payload = json.loads(json.dumps(delivery.payload, allow_nan=False))
    return evolve(delivery, payload=payload, occurred_at=delivery.occurred_at.astimezone(UTC),
                  next_attempt_at=delivery.next_attempt_at.astimezone(UTC))


class MemoryOutboxRepo:
    """Rows are `id -> (delivery, attempts so far, last error, failed for good)`; the delivery
    carries the current `attempts` and `next_attempt_at`."""

    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        rows = [_stored(d) for d in deliveries]
        ids = [d.id for d in rows]
        if len(set(ids)) != len(ids) or any(i in self._t.outbox for i in ids):
            raise Conflict("delivery already exists")
        for d in rows:
            self._j.put(self._t.outbox, d.id, (d, d.attempts, None, False))

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        ready = [d for d, _, _, failed in self._t.outbox.values()
                 if not failed and d.next_attempt_at <= now]
        ready.sort(key=lambda d: (d.next_attempt_at, d.id))
        return [evolve(d, payload=copy.deepcopy(d.payload)) for d in ready[:max(limit, 0)]]

    async def claim(self, now: datetime, limit: int, lease_until: datetime,
                    note: str) -> list[Delivery]:
        # Transactions take turns on one lock: a claim is atomic as it is.
        found = await self.due(now, limit)
        for d in found:
            await self.retry_later(d.id, d.attempts, lease_until, note)
        return [evolve(d, next_attempt_at=lease_until.astimezone(UTC)) for d in found]

    async def delivered(self, ids: Sequence[uuid.UUID]) -> None:
        for delivery_id in ids:
            if delivery_id in self._t.outbox:
                self._j.pop(self._t.outbox, delivery_id)

    async def retry_later(self, delivery_id: uuid.UUID, attempts: int, next_attempt_at: datetime,
                          error: str) -> None:
        row = self._t.outbox.get(delivery_id)
        if row is None:
            return
        d = evolve(row[0], attempts=attempts, next_attempt_at=next_attempt_at.astimezone(UTC))
        self._j.put(self._t.outbox, delivery_id, (d, attempts, error, row[3]))

    async def give_up(self, delivery_id: uuid.UUID, attempts: int, error: str) -> None:
        row = self._t.outbox.get(delivery_id)
        if row is None:
            return
        d = evolve(row[0], attempts=attempts)
        self._j.put(self._t.outbox, delivery_id, (d, attempts, error, True))

