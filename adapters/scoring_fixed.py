"""A scorer that answers the same score for every lead: for tests, and for embedders wiring their
own pipeline before they have a model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from catalyst_core.leads.model import COMPONENTS, ScoringSettings
from catalyst_core.ports import ScoreResult


class FixedScorer:
    """Answers the same score for every lead (tests, embedders): `components` default to the
    score for each of the three."""

    def __init__(self, score: float, components: Mapping[str, float] | None = None,
                 explanation: Sequence[str] = ("fixed",)) -> None:
        if not 0.0 <= score <= 1.0:
            raise ValueError("score must be from 0 to 1")
        parts = dict(components) if components is not None else dict.fromkeys(COMPONENTS, score)
        if set(parts) != set(COMPONENTS) or not all(0.0 <= x <= 1.0 for x in parts.values()):
            raise ValueError(f"components must be {', '.join(COMPONENTS)}, each from 0 to 1")
        if not explanation:
            raise ValueError("explanation must not be empty")
        self._score, self._components, self._explanation = score, parts, tuple(explanation)

    def score(self, raw_data: Mapping[str, Any], settings: ScoringSettings, *, now: datetime,
              source: str | None = None) -> ScoreResult:
        return ScoreResult(self._score, dict(self._components), self._explanation)
