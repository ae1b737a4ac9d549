"""Lead scoring results and the client settings they are scored against.

A lead is one email of one client. Its current result is the latest scoring (score in [0, 1], three
component scores, a `hot|warm|cold` label from the client's thresholds, and the factors that moved
the score most); scoring the same email again replaces the result and keeps the earlier scorings
as its history."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NewType

from attrs import define, frozen

from catalyst_core.ids import ClientId, UserId

LeadId = NewType("LeadId", uuid.UUID)

MAX_BATCH = 1_000
MAX_SOURCE = 100
MAX_RAW_DATA_BYTES = 16 * 1024  # a lead's raw data as JSON; past it 422
LEAD_SORT_FIELDS = ("score", "created_at", "updated_at", "email")


class Label(enum.StrEnum):
    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


COMPONENTS = ("engagement", "demographic", "behavioral")


@frozen
class Weights:
    """How much each component counts; non-negative, not all zero (normalised when used)."""

    engagement: float = 0.4
    demographic: float = 0.3
    behavioral: float = 0.3

    def normalised(self) -> dict[str, float]:
        total = self.engagement + self.demographic + self.behavioral
        return {name: getattr(self, name) / total for name in COMPONENTS}


@frozen
class IdealCustomer:
    """Who the client sells to: demographic fit is measured against this. Empty lists match
    nobody in particular (that factor counts as neutral)."""

    seniorities: tuple[str, ...] = ("owner", "c_level", "vp", "director")
    company_size_min: int = 10
    company_size_max: int = 1_000
    industries: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()


@frozen
class Thresholds:
    """`hot` at or above `hot`, `warm` at or above `warm`, `cold` below; 0 <= warm < hot <= 1."""

    hot: float = 0.7
    warm: float = 0.4

    def label(self, score: float) -> Label:
        return Label.HOT if score >= self.hot else Label.WARM if score >= self.warm else Label.COLD


@frozen
class ScoringSettings:
    client_id: ClientId
    weights: Weights = Weights()
    ideal_customer: IdealCustomer = IdealCustomer()
    thresholds: Thresholds = Thresholds()
    updated_at: datetime | None = None
    updated_by: UserId | None = None


@frozen
class Scoring:
    """One scoring of a lead: what the scorer said, and what it was given."""

    score: float
    components: Mapping[str, float]  # engagement, demographic, behavioral
    label: Label
    explanation: tuple[str, ...]
    raw_data: Mapping[str, Any]
    source: str | None
    scored_at: datetime


@define
class LeadResult:
    id: LeadId
    client_id: ClientId
    email: str
    current: Scoring
    created_at: datetime  # first scored
    scored_count: int = 1


@frozen
class HistoryEntry:
    """An earlier scoring of a lead, superseded by a later one."""

    id: uuid.UUID
    lead_id: LeadId
    scoring: Scoring


@frozen
class LeadQuery:
    """Filters of the result list. `visible_to` limits to the clients a user belongs to (None: all)."""

    visible_to: UserId | None = None
    client_id: ClientId | None = None
    min_score: float | None = None
    max_score: float | None = None
    label: Label | None = None
    source: str | None = None


@frozen
class NewLead:
    """A lead as a caller sends it (checked by the service)."""

    email: str
    raw_data: Mapping[str, Any]
    source: str | None = None


def components_of(values: Sequence[float]) -> dict[str, float]:
    return dict(zip(COMPONENTS, values, strict=True))
