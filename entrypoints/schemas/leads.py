"""Shapes of lead scoring on the wire: the score and batch bodies, the result list's query, and
the presented results, history and settings."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from attrs import frozen
from cattrs import Converter

from catalyst_api.wire import BODY, QUERY, encoded_list, structure
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.leads.model import (
    COMPONENTS,
    LEAD_SORT_FIELDS,
    MAX_BATCH,
    HistoryEntry,
    Label,
    LeadResult,
    NewLead,
    Scoring,
    ScoringSettings,
)
from catalyst_core.leads.service import LeadFilters
from catalyst_core.leads.settings import settings_wire
from catalyst_core.paging import OffsetPage, OffsetRequest, Order, SortSpec

DEFAULT_LIMIT = 100
DEFAULT_SORT = "score"
_NUMBER = re.compile(r"[+-]?(\d{1,40}(\.\d{0,40})?|\.\d{1,40})([eE][+-]?\d{1,4})?")

RawData = dict[str, Any]


def _raw_data(value: Any, _: type) -> dict[str, Any]:
    # cattrs' own mapping hook turns a list or a string into "invalid value"; say what is expected.
    if not isinstance(value, dict):
        raise TypeError("must be a JSON object")
    return value


def _query_number(value: Any, _: type) -> float:
    # float() alone would take "nan", "inf" and "1_000".
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    raise ValueError("must be a number")


def _lead_body_converter() -> Converter:
    conv = BODY.copy()
    conv.register_structure_hook_func(lambda t: t == RawData, _raw_data)
    return conv


def _lead_query_converter() -> Converter:
    conv = QUERY.copy()
    conv.register_structure_hook(float, _query_number)
    return conv


LEAD_BODY = _lead_body_converter()
LEAD_QUERY = _lead_query_converter()


@frozen
class LeadScope:
    """`?client_id=` where it may also come in the body."""

    client_id: uuid.UUID | None = None


@frozen
class ScoreBody:
    email: str
    raw_data: RawData
    source: str | None = None
    client_id: uuid.UUID | None = None

    def lead(self) -> NewLead:
        return NewLead(self.email, self.raw_data, self.source)


@frozen
class BatchLead:
    email: str
    raw_data: RawData
    source: str | None = None


@frozen
class BatchBody:
    leads: list[BatchLead]
    client_id: uuid.UUID | None = None

    def new_leads(self) -> list[NewLead]:
        return [NewLead(lead.email, lead.raw_data, lead.source) for lead in self.leads]


def check_batch_size(raw: dict[str, Any]) -> None:
    """Refuses a batch past the limit before its leads are read one by one."""
    leads = raw.get("leads")
    if isinstance(leads, list) and not 1 <= len(leads) <= MAX_BATCH:
        raise InvalidInput({"leads": f"must hold 1 to {MAX_BATCH} leads"})


@frozen
class ResultsQuery:
    """The result list's filters, paging and order."""

    client_id: uuid.UUID | None = None
    min_score: float | None = None
    max_score: float | None = None
    label: Label | None = None
    source: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort: str | None = None
    order: Order | None = None


def results_query(raw: Mapping[str, str]) -> tuple[LeadFilters, OffsetRequest, SortSpec]:
    """The result list's query; one InvalidInput names every bad parameter (type, bounds, sort),
    each parameter read on its own so one bad value hides no other."""
    problems: dict[str, str] = {}
    good = {}
    for name in attrs.fields_dict(ResultsQuery):
        if name in raw:
            try:
                structure(LEAD_QUERY, {name: raw[name]}, ResultsQuery)
                good[name] = raw[name]
            except InvalidInput as e:
                problems.update(e.fields)
    q = structure(LEAD_QUERY, good, ResultsQuery)
    for name in ("min_score", "max_score"):
        value = getattr(q, name)
        if value is not None and not 0 <= value <= 1:
            problems[name] = "must be from 0 to 1"
    if q.source is not None and "\x00" in q.source:
        problems["source"] = "must not contain U+0000"
    if q.sort is not None and q.sort not in LEAD_SORT_FIELDS:
        problems["sort"] = "must be one of " + ", ".join(LEAD_SORT_FIELDS)
    try:
        page = OffsetRequest(limit=q.limit, offset=q.offset)
    except InvalidInput as e:
        problems.update(e.fields)
    if problems:
        raise InvalidInput(problems)
    filters = LeadFilters(client_id=None if q.client_id is None else ClientId(q.client_id),
                          min_score=q.min_score, max_score=q.max_score, label=q.label,
                          source=q.source)
    return filters, page, SortSpec(q.sort or DEFAULT_SORT, q.order or Order.DESC)


# -- presenting ------------------------------------------------------------------------------------

def _value(scoring: Scoring) -> dict[str, float]:
    return {f"{name}_score": scoring.components[name] for name in COMPONENTS}


def present_result(lead: LeadResult) -> dict[str, Any]:
    current = lead.current
    return {
        "id": lead.id, "client_id": lead.client_id, "email": lead.email,
        "score": current.score, "label": current.label, "value": _value(current),
        "explanation": list(current.explanation), "raw_data": current.raw_data,
        "source": current.source, "scored_count": lead.scored_count,
        "created_at": lead.created_at, "updated_at": current.scored_at,
    }


async def present_results(page: OffsetPage[LeadResult]) -> dict[str, Any]:
    return {"results": await encoded_list(present_result, page.items),
            "total_items": page.total_items, "limit": page.request.limit,
            "offset": page.request.offset}


async def present_batch(results: Sequence[LeadResult]) -> dict[str, Any]:
    return {"results": await encoded_list(present_result, results), "count": len(results)}


def present_history_entry(entry: HistoryEntry) -> dict[str, Any]:
    s = entry.scoring
    return {
        "id": entry.id, "lead_id": entry.lead_id, "score": s.score, "label": s.label,
        "value": _value(s), "explanation": list(s.explanation), "raw_data": s.raw_data,
        "source": s.source, "created_at": s.scored_at,
    }


def present_history(entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    return {"history": [present_history_entry(e) for e in entries], "count": len(entries)}


def present_settings(settings: ScoringSettings) -> dict[str, Any]:
    return {"client_id": settings.client_id, **settings_wire(settings),
            "updated_at": settings.updated_at, "updated_by": settings.updated_by}
