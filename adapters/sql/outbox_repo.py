"""SQL repository of the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from catalyst_adapters.sql.queries import integrity_error
from catalyst_adapters.sql.tables import outbox
from catalyst_core.events import Delivery

_DUE = (select(outbox.c.id, outbox.c.kind, outbox.c.payload, outbox.c.occurred_at,
               outbox.c.next_attempt_at, outbox.c.attempts)
        .where(outbox.c.failed_at.is_(None), outbox.c.next_attempt_at <= bindparam("now"))
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(bindparam("limit")))


# The due deliveries, locked so that a concurrent claim skips them (PostgreSQL; SQLite's writers
# take turns and ignores FOR UPDATE), moved to the lease in the same statement.
_CLAIM = (update(outbox)
          .where(outbox.c.id.in_(
              select(outbox.c.id)
              .where(outbox.c.failed_at.is_(None), outbox.c.next_attempt_at <= bindparam("now"))
              .order_by(outbox.c.next_attempt_at, outbox.c.id)
              .limit(bindparam("limit"))
              .with_for_update(skip_locked=True)
              .scalar_subquery()))
          .values(next_attempt_at=bindparam("lease_until"), last_error=bindparam("note"))
          .returning(outbox.c.id, outbox.c.kind, outbox.c.payload, outbox.c.occurred_at,
                     outbox.c.next_attempt_at, outbox.c.attempts))


def _delivery(row: Any) -> Delivery:
    id_, kind, payload, occurred_at, next_attempt_at, attempts = row
    return Delivery(id=id_, kind=kind, payload=payload, occurred_at=occurred_at,
                    next_attempt_at=next_attempt_at, attempts=attempts)


class SqlOutboxRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        rows = [{"id": d.id, "kind": d.kind, "payload": dict(d.payload), "occurred_at": d.occurred_at,
                 "next_attempt_at": d.next_attempt_at, "attempts": d.attempts, "last_error": None,
                 "failed_at": None} for d in deliveries]
        try:
            await self._c.execute(insert(outbox), rows)
        except IntegrityError as e:
            raise integrity_error(e, "delivery already exists") from None

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        result = await self._c.execute(_DUE, {"now": now, "limit": max(limit, 0)})
        return [_delivery(row) for row in result.all()]

    async def claim(self, now: datetime, limit: int, lease_until: datetime,
                    note: str) -> list[Delivery]:
        if limit <= 0:
            return []
        result = await self._c.execute(_CLAIM, {"now": now, "limit": limit,
                                                "lease_until": lease_until, "note": note})
        return sorted(map(_delivery, result.all()), key=lambda d: (d.next_attempt_at, d.id))

    async def delivered(self, ids: Sequence[uuid.UUID]) -> None:
        if ids:
            await self._c.execute(delete(outbox).where(outbox.c.id.in_(list(ids))))

    async def retry_later(self, delivery_id: uuid.UUID, attempts: int, next_attempt_at: datetime,
                          error: str) -> None:
        await self._c.execute(update(outbox).where(outbox.c.id == delivery_id).values(
            attempts=attempts, next_attempt_at=next_attempt_at, last_error=error))

    async def give_up(self, delivery_id: uuid.UUID, attempts: int, error: str) -> None:
        # When it failed for good is for operators reading the table, not for the port.
        await self._c.execute(update(outbox).where(outbox.c.id == delivery_id).values(
            attempts=attempts, last_error=error, failed_at=datetime.now(UTC)))
