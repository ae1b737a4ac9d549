"""The lead scoring repository of MemoryStorage.

It answers what the SQL adapter answers: the same errors where the schema's keys would refuse a
write (NotFound for a client, user or lead that is not stored, Conflict for a taken id or a
client's email stored twice), the same orders, and values as SQL reads them back (times in UTC,
raw data through JSON, the explanation a tuple). Everything stored is a private copy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from attrs import evolve

from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.leads.model import (
    COMPONENTS,
    HistoryEntry,
    IdealCustomer,
    Label,
    LeadId,
    LeadQuery,
    LeadResult,
    Scoring,
    ScoringSettings,
    Thresholds,
    Weights,
)
from catalyst_core.paging import OffsetPage, OffsetRequest, Order, SortSpec

if TYPE_CHECKING:
    from catalyst_adapters.memory.storage import _Journal, _Tables

DUPLICATE_EMAIL = "a lead with this email, or this id, is already stored"
MISSING_REFERENCE = "a referenced record does not exist"


def _utc(stamp: datetime) -> datetime:
    if stamp.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return stamp.astimezone(UTC)


def _scoring(s: Scoring) -> Scoring:
    """A private copy, as SQL reads it back."""
    return Scoring(score=float(s.score),
                   components={name: float(s.components[name]) for name in COMPONENTS},
                   label=Label(s.label), explanation=tuple(s.explanation),
                   raw_data=json.loads(json.dumps(s.raw_data, allow_nan=False)), source=s.source,
                   scored_at=_utc(s.scored_at))


def _json_copy(value: Any) -> Any:
    """A copy of JSON data (dicts, lists and immutable scalars), faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def _copy_out(r: LeadResult) -> LeadResult:
    s = r.current
    return LeadResult(r.id, r.client_id, r.email, evolve(s, components=dict(s.components),
                                                         raw_data=_json_copy(s.raw_data)),
                      r.created_at, r.scored_count)


def _settings(s: ScoringSettings) -> ScoringSettings:
    w, i, t = s.weights, s.ideal_customer, s.thresholds
    return ScoringSettings(
        client_id=s.client_id,
        weights=Weights(*(float(getattr(w, name)) for name in COMPONENTS)),
        ideal_customer=IdealCustomer(tuple(i.seniorities), i.company_size_min, i.company_size_max,
                                     tuple(i.industries), tuple(i.countries)),
        thresholds=Thresholds(float(t.hot), float(t.warm)),
        updated_at=None if s.updated_at is None else _utc(s.updated_at), updated_by=s.updated_by)


_sort_keys: dict[str, Callable[[LeadResult], Any]] = {
    "score": lambda r: r.current.score,
    "created_at": lambda r: r.created_at,
    "updated_at": lambda r: r.current.scored_at,
    "email": lambda r: r.email,  # Python compares str code point by code point, as SQL's keys do
}


class MemoryLeadRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    # -- settings ------------------------------------------------------------------------------

    async def settings(self, client_id: ClientId) -> ScoringSettings | None:
        # Stored settings are immutable all the way down (frozen classes, tuples, numbers).
        return self._t.lead_settings.get(client_id)  # type: ignore[no-any-return]

    async def save_settings(self, settings: ScoringSettings) -> None:
        if settings.client_id not in self._t.clients or (
                settings.updated_by is not None and settings.updated_by not in self._t.users):
            raise NotFound(MISSING_REFERENCE)
        self._j.put_immutable(self._t.lead_settings, settings.client_id, _settings(settings))

    # -- results -------------------------------------------------------------------------------

    async def get(self, lead_id: LeadId) -> LeadResult | None:
        stored = self._t.leads.get(lead_id)
        return None if stored is None else _copy_out(stored)

    async def by_emails(self, client_id: ClientId, emails: Sequence[str]) -> dict[str, LeadResult]:
        wanted = set(emails)
        return {r.email: _copy_out(r) for r in self._t.leads.values()
                if r.client_id == client_id and r.email in wanted}

    async def add_many(self, results: Sequence[LeadResult]) -> None:
        # Everything is checked before anything is written, in the order SQL meets the rows.
        clients = {r.client_id for r in results}
        taken = {(r.client_id, r.email) for r in self._t.leads.values() if r.client_id in clients}
        new_ids: set[LeadId] = set()
        copies = []
        for result in results:
            if result.client_id not in self._t.clients:
                raise NotFound(MISSING_REFERENCE)
            key = (result.client_id, result.email)
            if result.id in self._t.leads or result.id in new_ids or key in taken:
                raise Conflict(DUPLICATE_EMAIL)
            taken.add(key)
            new_ids.add(result.id)
            copies.append(LeadResult(result.id, result.client_id, result.email,
                                     _scoring(result.current), _utc(result.created_at),
                                     result.scored_count))
        for lead in copies:
            self._j.put_immutable(self._t.leads, lead.id, lead)

    async def replace_many(self, results: Sequence[LeadResult],
                           superseded: Sequence[HistoryEntry]) -> None:
        # A result's id, client, email and first scoring time stay as stored; its current scoring
        # and count are the new ones.
        replaced = []
        for result in results:
            stored = self._t.leads.get(result.id)
            if stored is None:
                raise NotFound("lead not found")
            replaced.append(LeadResult(stored.id, stored.client_id, stored.email,
                                       _scoring(result.current), stored.created_at,
                                       result.scored_count))
        new_ids: set[uuid.UUID] = set()
        entries = []
        for entry in superseded:
            if entry.lead_id not in self._t.leads:
                raise NotFound(MISSING_REFERENCE)
            if entry.id in self._t.lead_history or entry.id in new_ids:
                raise Conflict("a history entry with this id is already stored")
            new_ids.add(entry.id)
            entries.append(HistoryEntry(entry.id, entry.lead_id, _scoring(entry.scoring)))
        for lead in replaced:
            self._j.put_immutable(self._t.leads, lead.id, lead)
        for item in entries:
            self._j.put_immutable(self._t.lead_history, item.id, item)

    async def list(self, query: LeadQuery, page: OffsetRequest, sort: SortSpec
                   ) -> OffsetPage[LeadResult]:
        visible = None if query.visible_to is None else self._clients_of(query.visible_to)
        label = None if query.label is None else Label(query.label)
        rows = [r for r in self._t.leads.values()
                if (visible is None or r.client_id in visible)
                and (query.client_id is None or r.client_id == query.client_id)
                and (query.min_score is None or r.current.score >= query.min_score)
                and (query.max_score is None or r.current.score <= query.max_score)
                and (label is None or r.current.label is label)
                and (query.source is None or r.current.source == query.source)]
        key = _sort_keys[sort.field]
        rows.sort(key=lambda r: (key(r), r.id), reverse=sort.order is Order.DESC)
        chosen = rows[page.offset:page.offset + page.limit]
        return OffsetPage(items=[_copy_out(r) for r in chosen], total_items=len(rows),
                          request=page)

    async def history(self, lead_id: LeadId) -> list[HistoryEntry]:
        entries = [e for e in self._t.lead_history.values() if e.lead_id == lead_id]
        entries.sort(key=lambda e: (e.scoring.scored_at, e.id), reverse=True)
        return [HistoryEntry(e.id, e.lead_id, evolve(e.scoring, components=dict(e.scoring.components),
                                                     raw_data=_json_copy(e.scoring.raw_data)))
                for e in entries]

    def _clients_of(self, user_id: UserId) -> set[ClientId]:
        return {cid for (cid, uid) in self._t.members if uid == user_id}
