"""Scorers: the default transparent weighted model, and a fixed one for tests."""

from __future__ import annotations
class WeightedScorer:  # placeholder until the scorer lands
    pass
