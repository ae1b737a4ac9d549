"""Performance data and reports in-process: ingest a week of rows, read the two reports.

Run it with `python docs/examples/reports_example.py`; tests/unit/test_embedding_example.py runs it too."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_core.auth.model import Actor
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.service import ClientsService
from catalyst_core.ids import random_ids
from catalyst_core.metrics.service import MetricsService
from catalyst_core.reports.periods import Period
from catalyst_core.reports.service import ReportsService


async def main() -> dict[str, object]:
    storage, clock = MemoryStorage(), FrozenClock(datetime(2024, 3, 8, 9, 0, tzinfo=UTC))
    auth = AuthService(storage, PasslibHasher(), JwtTokenIssuer("an-embedding-secret-of-32-bytes-or-more"),
                       clock, random_ids)
    jane = await auth.register("jane@agency.example", "a long password", "Jane Doe")
    as_jane = Actor(jane.id, jane.role)
    acme = await ClientsService(storage, clock, random_ids).create(as_jane, "Acme Corp")

    # Rows are plain mappings, as an ad platform's export gives them; money may be text or a number.
    rows = [{"date": (date(2024, 3, 1) + timedelta(days=d)).isoformat(), "platform": "facebook",
             "campaign_id": "spring", "adset_id": "women-25-34", "ad_id": ad, "ad_name": f"Banner {ad}",
             "spend": "12.50", "impressions": 1000 + 100 * d, "clicks": 20 + d, "landing_page_views": 15}
            for d in range(7) for ad in ("a", "b")]
    result = await MetricsService(storage).ingest(as_jane, acme.client.id, rows)
    print(f"stored {result.inserted} rows")

    reports = ReportsService(storage, clock)
    growth = await reports.growth(as_jane, acme.client.id, date(2024, 3, 1), date(2024, 3, 7), Period.DAILY)
    last = growth.buckets[-1].measured
    print(f"{growth.buckets[-1].start_date}: spend {last.metrics['spend']}, "
          f"CTR {last.metrics['ctr']:.4f}, clicks {last.change['clicks']:+.1f} % on the day before")
    performance = await reports.performance(as_jane, acme.client.id, date(2024, 3, 1), date(2024, 3, 7))
    top = performance.by_ad[0]
    print(f"top ad: {top.ad_name}, CPLPV {top.measured.metrics['cplpv']:.4f}")
    return {"inserted": result.inserted, "spend": performance.totals.metrics["spend"],
            "top_ad": top.ad_name}


if __name__ == "__main__":
    asyncio.run(main())
