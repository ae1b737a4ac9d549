"""Your own lead scorer in place of the default one: one override in the container, nothing else.

Run it with `python docs/examples/scorer_example.py`; tests/unit/test_embedding_example.py runs it too."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from dependency_injector import providers

from catalyst_api.container import build_container
from catalyst_api.settings import Settings
from catalyst_core.auth.model import Actor
from catalyst_core.errors import InvalidInput
from catalyst_core.leads.model import NewLead, ScoringSettings
from catalyst_core.ports import ScoreResult


class DealSizeScorer:
    """Fits the Scorer port (catalyst_core/ports.py): scores a lead by its expected deal size."""

    def score(self, raw_data: Mapping[str, Any], settings: ScoringSettings, *, now: datetime,
              source: str | None = None) -> ScoreResult:
        deal = raw_data.get("deal_size", 0)
        if isinstance(deal, bool) or not isinstance(deal, int | float) or deal < 0:
            raise InvalidInput({"raw_data.deal_size": "must be a non-negative number"})
        score = deal / (deal + 10_000)  # saturates: 10,000 scores 0.5
        return ScoreResult(score, {"engagement": 0.0, "demographic": 0.0, "behavioral": score},
                           [f"expected deal of {deal:,}"])


async def main() -> dict[str, object]:
    container = build_container(Settings(database_url="memory", data_dir=Path("unused")))
    container.scorer.override(providers.Object(DealSizeScorer()))  # the only change

    jane = await container.auth().register("jane@agency.example", "a long password", "Jane Doe")
    as_jane = Actor(jane.id, jane.role)
    acme = (await container.clients().create(as_jane, "Acme Corp")).client.id
    lead = await container.leads().score(as_jane, acme, NewLead("buyer@shop.example",
                                                                {"deal_size": 30_000}, "crm"))
    print(f"{lead.email}: {lead.current.score:.2f} ({lead.current.label.value}), "
          f"{lead.current.explanation[0]}")
    return {"score": lead.current.score, "label": lead.current.label.value}


if __name__ == "__main__":
    asyncio.run(main())
