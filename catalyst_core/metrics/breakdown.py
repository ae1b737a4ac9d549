"""A range's performance broken down by platform, campaign and ad, as storage hands it over.

Storage adapters compute it where the data is (SQL aggregates and limits in the database);
`breakdown_of` is the same computation in plain Python, from the lines per ad, for adapters
without a query language and as the definition the others must match."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from attrs import frozen

from catalyst_core.metrics.model import EntityTotals
from catalyst_core.metrics.registry import Totals, total


@frozen
class PlatformTotals:
    platform: str
    totals: Totals


@frozen
class CampaignTotals:
    platform: str
    campaign_id: str
    campaign_name: str | None
    totals: Totals


@frozen
class Breakdown:
    """Totals over everything, and at most `limit` lines per level, highest spend first (ties by
    their ids in code point order); `counts` says how many lines each level has in all
    (`platforms`, `campaigns`, `ads`). An ad line is an ad within its campaign and ad set."""

    totals: Totals
    platforms: Sequence[PlatformTotals]
    campaigns: Sequence[CampaignTotals]
    ads: Sequence[EntityTotals]
    counts: Mapping[str, int]


def _grouped(entities: Iterable[EntityTotals], key: Callable[[EntityTotals], Hashable]
             ) -> dict[Any, tuple[EntityTotals, Totals]]:
    groups: dict[Any, tuple[EntityTotals, Totals]] = {}
    for entity in entities:
        k = key(entity)
        found = groups.get(k)
        groups[k] = (entity, entity.totals if found is None else found[1] + entity.totals)
    return groups


def _by_spend(groups: Mapping[Any, tuple[EntityTotals, Totals]], limit: int
              ) -> list[tuple[EntityTotals, Totals]]:
    ranked = sorted(groups.items(), key=lambda item: item[0])
    ranked.sort(key=lambda item: item[1][1]["spend"], reverse=True)
    return [line for _, line in ranked[:limit]]


def breakdown_of(entities: Sequence[EntityTotals], limit: int) -> Breakdown:
    """The breakdown of lines per ad (EntityTotals, one per platform, campaign, ad set and ad)."""
    platforms = _grouped(entities, lambda e: e.platform)
    campaigns = _grouped(entities, lambda e: (e.platform, e.campaign_id))
    ads = _grouped(entities, lambda e: (e.platform, e.campaign_id, e.adset_id, e.ad_id))
    return Breakdown(
        totals=total(e.totals for e in entities),
        platforms=[PlatformTotals(e.platform, t) for e, t in _by_spend(platforms, limit)],
        campaigns=[CampaignTotals(e.platform, e.campaign_id, e.campaign_name, t)
                   for e, t in _by_spend(campaigns, limit)],
        ads=[e if e.totals == t else EntityTotals(e.platform, e.campaign_id, e.adset_id, e.ad_id,
                                                   e.campaign_name, e.adset_name, e.ad_name, t)
             for e, t in _by_spend(ads, limit)],
        counts={"platforms": len(platforms), "campaigns": len(campaigns), "ads": len(ads)},
    )
