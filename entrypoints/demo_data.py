"""The demo agency's plan: its people, clients, tasks and synthetic ad performance (deterministic,
seeded): weekly seasonality, plausible funnels, and a few campaigns that go bad in the last two
weeks. `catalyst_api.demo` makes it through the use cases."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from attrs import frozen

from catalyst_core.clients.model import ClientRole
from catalyst_core.tasks.model import Priority, TaskStatus, TaskType

DOMAIN = "demo.catalyst.example"
ADMIN_EMAIL = f"admin@{DOMAIN}"
ADMIN_NAME = "Dana Demo"
SEED = 20_240_601
DAYS = 90
BAD_DAYS = 14  # the last days in which the failing campaigns go wrong
CENT = Decimal("0.01")


# -- what the demo agency holds --------------------------------------------------------------------

@frozen
class Person:
    key: str
    name: str

    @property
    def email(self) -> str:
        return f"{self.key}@{DOMAIN}"


PEOPLE = (
    Person("maya.patel", "Maya Patel"),      # account director
    Person("leo.okafor", "Leo Okafor"),      # media buyer
    Person("sofia.rossi", "Sofia Rossi"),    # creative strategist
    Person("tom.becker", "Tom Becker"),      # analyst
    Person("ana.lima", "Ana Lima"),          # marketing lead at Northwind (reads only)
    Person("kenji.sato", "Kenji Sato"),      # growth lead at Lumen (reads only)
)


@frozen
class Economics:
    """A platform's typical auction: cost per thousand impressions, click-through rate, and the
    share of clicks that load the landing page."""

    cpm: float
    ctr: float
    lpv_rate: float


PLATFORMS = {
    "facebook": Economics(cpm=9.5, ctr=0.012, lpv_rate=0.78),
    "google": Economics(cpm=48.0, ctr=0.042, lpv_rate=0.88),
    "tiktok": Economics(cpm=6.2, ctr=0.009, lpv_rate=0.64),
    "linkedin": Economics(cpm=36.0, ctr=0.0055, lpv_rate=0.83),
}


@frozen
class Business:
    """How a client's landing-page visitors turn into leads, conversions and revenue, and how its
    week goes (weekend multipliers of spend and of conversion)."""

    lead_rate: float  # leads per landing-page view
    conversion_rate: float  # conversions per landing-page view
    order_value: float
    weekend_spend: float
    weekend_conversion: float


@frozen
class Campaign:
    platform: str
    name: str
    daily_budget: float
    adsets: tuple[str, ...]
    ads: tuple[str, ...]
    goes_bad: float = 0.0  # 0: healthy; up to 1: how hard it fails in the last BAD_DAYS days
    pricey: float = 1.0  # the auction's cost against the platform's usual (contested keywords)


@frozen
class TaskPlan:
    name: str
    task_type: TaskType
    priority: Priority
    creator: str
    assignees: tuple[str, ...]
    due_in_days: int | None
    description: str | None = None
    status: TaskStatus = TaskStatus.PENDING


@frozen
class ClientPlan:
    name: str
    slug: str
    business: Business
    members: tuple[tuple[str, ClientRole], ...]
    campaigns: tuple[Campaign, ...]
    tasks: tuple[TaskPlan, ...]


CLIENTS = (
    ClientPlan(
        name="Northwind Outdoor", slug="northwind",
        business=Business(lead_rate=0.012, conversion_rate=0.028, order_value=86.0,
                          weekend_spend=1.15, weekend_conversion=1.2),
        members=(("maya.patel", ClientRole.ADMIN), ("leo.okafor", ClientRole.MEMBER),
                 ("sofia.rossi", ClientRole.MEMBER), ("ana.lima", ClientRole.VIEWER)),
        campaigns=(
            Campaign("facebook", "NW | Prospecting | Trail Season", 420,
                     ("Lookalike 1% purchasers", "Broad 25-54 outdoor interests", "Advantage+ audience"),
                     ("Video - Ridge run 15s", "Carousel - New arrivals", "Static - 20% off packs")),
            Campaign("facebook", "NW | Retargeting | Cart abandoners", 140,
                     ("Cart 7 days", "Viewed product 30 days"),
                     ("Dynamic product ad", "Static - Free shipping")),
            Campaign("google", "NW | Search | Brand", 160,
                     ("Brand exact", "Brand + category"),
                     ("RSA - Northwind official", "RSA - Free returns"), pricey=0.4),
            Campaign("google", "NW | Shopping | Best sellers", 380,
                     ("Tents & shelters", "Footwear"),
                     ("Shopping - Catalogue feed",)),
            Campaign("tiktok", "NW | Spark Ads | Summer trails", 260,
                     ("Broad 18-34", "Hiking creators lookalike"),
                     ("UGC - Pack review", "UGC - Sunrise summit", "Creator - Gear haul"),
                     goes_bad=0.9),
        ),
        tasks=(
            TaskPlan("Review the summer trail video cut", TaskType.REVIEW_CREATIVE, Priority.HIGH,
                     "leo.okafor", ("sofia.rossi",), 2,
                     "Three 15s variants for TikTok and Reels; check the opening two seconds."),
            TaskPlan("Weekly performance report for Ana", TaskType.REVIEW_REPORT, Priority.MEDIUM,
                     "maya.patel", ("maya.patel", "leo.okafor"), 4),
            TaskPlan("TikTok CPLPV shot up: check the landing page", TaskType.OTHER, Priority.HIGH,
                     "maya.patel", ("leo.okafor",), 0,
                     "Landing-page views fell off a cliff on the Spark Ads campaign since last week.",
                     status=TaskStatus.IN_PROGRESS),
            TaskPlan("Refresh the cart-abandoner static ads", TaskType.REVIEW_CREATIVE, Priority.LOW,
                     "sofia.rossi", ("sofia.rossi",), 12),
            TaskPlan("Set up the autumn catalogue feed", TaskType.OTHER, Priority.BACKLOG,
                     "leo.okafor", (), None),
            TaskPlan("Approve the new brand search copy", TaskType.REVIEW_CREATIVE, Priority.MEDIUM,
                     "leo.okafor", ("maya.patel",), -6, status=TaskStatus.COMPLETED),
        ),
    ),
    ClientPlan(
        name="Bluebird Dental", slug="bluebird",
        business=Business(lead_rate=0.065, conversion_rate=0.014, order_value=190.0,
                          weekend_spend=0.8, weekend_conversion=0.7),
        members=(("tom.becker", ClientRole.ADMIN), ("leo.okafor", ClientRole.MEMBER),
                 ("maya.patel", ClientRole.VIEWER)),
        campaigns=(
            Campaign("facebook", "BB | Leads | Teeth whitening offer", 180,
                     ("Women 28-55 within 10 km", "Lookalike past patients"),
                     ("Lead form - Before and after", "Lead form - First visit 49"),
                     goes_bad=0.75),
            Campaign("facebook", "BB | Leads | Invisalign consult", 150,
                     ("Adults 25-45 within 15 km",),
                     ("Video - Patient story", "Static - Free consult")),
            Campaign("google", "BB | Search | Emergency dentist", 220,
                     ("Emergency - exact", "Emergency - phrase", "Open on Saturday"),
                     ("RSA - Same-day appointments", "RSA - Call now"), pricey=2.2),
            Campaign("google", "BB | Search | Implants", 130,
                     ("Implants - cost", "Implants - near me"),
                     ("RSA - Implants from 1,900", "RSA - Free 3D scan"), pricey=3.0),
        ),
        tasks=(
            TaskPlan("Monthly lead report for the clinic owners", TaskType.REVIEW_REPORT, Priority.HIGH,
                     "tom.becker", ("tom.becker",), 6),
            TaskPlan("Whitening offer leads dropped: review ads and form", TaskType.OTHER,
                     Priority.HIGH, "tom.becker", ("leo.okafor",), 1),
            TaskPlan("New before/after photos from the clinic", TaskType.REVIEW_CREATIVE,
                     Priority.MEDIUM, "leo.okafor", ("tom.becker",), 9),
            TaskPlan("Add Saturday opening hours to ad extensions", TaskType.OTHER, Priority.LOW,
                     "leo.okafor", ("leo.okafor",), -2),
            TaskPlan("Test a call-only ad for emergencies", TaskType.OTHER, Priority.BACKLOG,
                     "tom.becker", (), None, status=TaskStatus.CANCELLED),
        ),
    ),
    ClientPlan(
        name="Lumen Analytics", slug="lumen",
        business=Business(lead_rate=0.038, conversion_rate=0.0025, order_value=2400.0,
                          weekend_spend=0.35, weekend_conversion=0.3),
        members=(("maya.patel", ClientRole.ADMIN), ("tom.becker", ClientRole.MEMBER),
                 ("sofia.rossi", ClientRole.MEMBER), ("kenji.sato", ClientRole.VIEWER)),
        campaigns=(
            Campaign("linkedin", "LU | Demo requests | Data leaders", 520,
                     ("Job title: Head of Data", "Company size 200-5000"),
                     ("Document ad - 2025 BI benchmark", "Single image - Dashboards in 5 min",
                      "Video - Customer story")),
            Campaign("linkedin", "LU | Retargeting | Site visitors", 160,
                     ("Website visitors 90 days",),
                     ("Conversation ad - Book a demo", "Single image - Free trial")),
            Campaign("google", "LU | Search | BI software", 340,
                     ("BI tool - generic", "Competitor alternatives"),
                     ("RSA - Self-serve analytics", "RSA - Switch in a day"),
                     goes_bad=0.6, pricey=2.5),
            Campaign("google", "LU | Search | Brand", 70,
                     ("Brand exact",),
                     ("RSA - Lumen official",), pricey=0.5),
        ),
        tasks=(
            TaskPlan("Quarterly pipeline report for Kenji", TaskType.REVIEW_REPORT, Priority.MEDIUM,
                     "tom.becker", ("tom.becker", "maya.patel"), 10),
            TaskPlan("Review the benchmark document ad", TaskType.REVIEW_CREATIVE, Priority.HIGH,
                     "sofia.rossi", ("maya.patel",), 3),
            TaskPlan("Competitor campaign: CTR is sliding", TaskType.OTHER, Priority.MEDIUM,
                     "maya.patel", ("tom.becker",), 5, status=TaskStatus.IN_PROGRESS),
            TaskPlan("Negative keyword sweep", TaskType.OTHER, Priority.LOW,
                     "tom.becker", ("tom.becker",), -1, status=TaskStatus.COMPLETED),
        ),
    ),
)


# -- synthetic performance data ------------------------------------------------------------------

_ID_DIGITS = {"facebook": 17, "google": 11, "tiktok": 19, "linkedin": 9}


def _platform_id(rng: random.Random, platform: str) -> str:
    digits = _ID_DIGITS[platform]
    return str(rng.randrange(10 ** (digits - 1), 10 ** digits))


def _count(rng: random.Random, expected: float, at_most: int) -> int:
    """A whole number near `expected` (rounded up or down at random, so small rates still show
    up now and then), never above `at_most`."""
    whole = math.floor(max(expected, 0.0))
    return min(whole + (rng.random() < expected - whole), at_most)


@frozen
class _Ad:
    campaign: Campaign
    campaign_id: str
    adset_id: str
    adset_name: str
    ad_id: str
    ad_name: str
    share: float  # of the campaign's budget
    quality: float  # the creative's click-through, relative to the platform's


def _ads(rng: random.Random, campaigns: tuple[Campaign, ...]) -> list[_Ad]:
    ads = []
    for campaign in campaigns:
        campaign_id = _platform_id(rng, campaign.platform)
        placed = []
        for adset_name in campaign.adsets:
            adset_id = _platform_id(rng, campaign.platform)
            for ad_name in campaign.ads:
                placed.append((adset_id, adset_name, _platform_id(rng, campaign.platform), ad_name,
                               rng.lognormvariate(0, 0.5), rng.uniform(0.7, 1.35)))
        weights = sum(p[4] for p in placed)
        ads += [_Ad(campaign, campaign_id, adset_id, adset_name, ad_id, ad_name, weight / weights,
                    quality) for adset_id, adset_name, ad_id, ad_name, weight, quality in placed]
    return ads


def performance_rows(plan: ClientPlan, first_day: date, days: int, seed: int = SEED
                     ) -> Iterator[dict[str, Any]]:
    """The client's rows, day by day, as MetricsService.ingest takes them. Deterministic for a
    given plan, first day and seed."""
    rng = random.Random(f"{seed}:{plan.slug}")
    business = plan.business
    ads = _ads(rng, plan.campaigns)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        weekend = day.weekday() >= 5
        growth = 1 + 0.18 * offset / max(days - 1, 1)  # budgets were raised over the quarter
        # How far into its failure a failing campaign is: 0 before the last BAD_DAYS, then up to 1
        # within four days (a broken landing page and a tired creative rarely come back alone).
        failing = min(max(offset - (days - BAD_DAYS) + 1, 0) / 4, 1.0)
        for ad in ads:
            campaign, economics = ad.campaign, PLATFORMS[ad.campaign.platform]
            harm = campaign.goes_bad * failing
            spend = (campaign.daily_budget * ad.share * growth
                     * (business.weekend_spend if weekend else 1.0) * rng.gauss(1, 0.12))
            spend = max(spend, 0.0)
            impressions = int(spend / (economics.cpm * campaign.pricey * rng.gauss(1, 0.08)) * 1000)
            ctr = economics.ctr * ad.quality * (1 - 0.6 * harm) * rng.gauss(1, 0.1)
            clicks = _count(rng, impressions * ctr, impressions)
            lpv_rate = economics.lpv_rate * (1 - 0.8 * harm) * rng.gauss(1, 0.05)
            views = _count(rng, clicks * min(lpv_rate, 0.98), clicks)
            turn = business.weekend_conversion if weekend else 1.0
            leads = _count(rng, views * business.lead_rate * turn * rng.gauss(1, 0.2), views)
            conversions = _count(rng, views * business.conversion_rate * turn * rng.gauss(1, 0.25),
                                 views)
            revenue = conversions * business.order_value * max(rng.gauss(1, 0.3), 0.2)
            yield {
                "date": day, "platform": campaign.platform,
                "campaign_id": ad.campaign_id, "campaign_name": campaign.name,
                "adset_id": ad.adset_id, "adset_name": ad.adset_name,
                "ad_id": ad.ad_id, "ad_name": ad.ad_name,
                "spend": Decimal(spend).quantize(CENT), "impressions": impressions,
                "clicks": clicks, "landing_page_views": views, "leads": leads,
                "conversions": conversions, "revenue": Decimal(revenue).quantize(CENT),
            }
