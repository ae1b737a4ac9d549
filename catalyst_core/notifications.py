"""How use cases hand their events to the Notifier: staged in the transaction, published after it.

A durable notifier (webhooks) must not lose an event to a crash between the commit and the
delivery, so its events are written to the outbox in the same transaction as the change that
caused them (`stage`); after the commit `publish` tells the notifier, which delivers from the
outbox. Other notifiers (the log) skip the outbox and cost nothing more."""

from __future__ import annotations

from collections.abc import Sequence

from catalyst_core.events import Delivery, Event
from catalyst_core.ids import IdFactory
from catalyst_core.ports import Notifier, Transaction


class Publisher:
    def __init__(self, notifier: Notifier, ids: IdFactory) -> None:
        self.notifier, self.ids = notifier, ids
        # Embedders' notifiers written before the port had `durable` are not durable.
        self.durable = bool(getattr(notifier, "durable", False))

    async def stage(self, tx: Transaction, events: Sequence[Event]) -> None:
        """Write the events to the transaction's outbox when the notifier needs it."""
        if self.durable and events:
            await tx.outbox.add([
                Delivery(id=self.ids(), kind=event.kind, payload=event.payload(),
                         occurred_at=event.occurred_at, next_attempt_at=event.occurred_at)
                for event in events])

    async def publish(self, events: Sequence[Event]) -> None:
        """After the commit: hand each event to the notifier (which never raises)."""
        for event in events:
            await self.notifier.notify(event)
