"""Use cases of lead scoring: a client's settings, scoring one lead or a batch, and reading results
and their history. Scoring the same email again replaces the lead's current result and keeps the
earlier scoring in its history."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen

from catalyst_core.access import require, role_in, role_over
from catalyst_core.auth.model import Actor, normalize_email
from catalyst_core.clients.model import ClientRole
from catalyst_core.cooperative import map_sliced
from catalyst_core.errors import InvalidInput, NotFound
from catalyst_core.ids import ClientId, IdFactory
from catalyst_core.leads.model import (
    LEAD_SORT_FIELDS,
    MAX_BATCH,
    MAX_RAW_DATA_BYTES,
    MAX_SOURCE,
    HistoryEntry,
    Label,
    LeadId,
    LeadQuery,
    LeadResult,
    NewLead,
    Scoring,
    ScoringSettings,
)
from catalyst_core.leads.settings import merged_settings
from catalyst_core.paging import OffsetPage, OffsetRequest, SortSpec
from catalyst_core.ports import Clock, Scorer, Storage, Transaction


@frozen
class LeadFilters:
    client_id: ClientId | None = None
    min_score: float | None = None
    max_score: float | None = None
    label: Label | None = None
    source: str | None = None


def _source(raw: Any, path: str, problems: dict[str, str]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or "\x00" in raw or len(raw.strip()) > MAX_SOURCE:
        problems[path] = f"must be text of at most {MAX_SOURCE} characters, without U+0000"
        return None
    return raw.strip() or None


def _raw_data(raw: Any, path: str, problems: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems[path] = "must be a JSON object"
        return None
    try:
        text = json.dumps(raw, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        problems[path] = "must hold JSON values only (finite numbers)"
        return None
    if len(text.encode()) > MAX_RAW_DATA_BYTES:
        problems[path] = f"must be at most {MAX_RAW_DATA_BYTES} bytes of JSON"
        return None
    # PostgreSQL cannot store U+0000 in text or JSON (memory and SQLite would): refused everywhere.
    if _holds_nul(raw):
        problems[path] = "must not contain U+0000"
        return None
    return raw


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(_holds_nul, value))
    return False


class LeadScoringService:
    def __init__(self, storage: Storage, clock: Clock, scorer: Scorer, ids: IdFactory) -> None:
        self.storage, self.clock, self.scorer, self.ids = storage, clock, scorer, ids

    # -- settings ------------------------------------------------------------------------------

    async def settings(self, actor: Actor, client_id: ClientId) -> ScoringSettings:
        async with self.storage.transaction(write=False) as tx:
            await role_in(tx, actor, client_id)
            return await self._settings(tx, client_id)

    async def update_settings(self, actor: Actor, client_id: ClientId, patch: Any) -> ScoringSettings:
        async with self.storage.transaction() as tx:
            require(await role_in(tx, actor, client_id), ClientRole.ADMIN,
                    "changing lead scoring settings")
            current = await self._settings(tx, client_id)
            updated = merged_settings(current, patch, by=actor.user_id, at=self.clock.now())
            await tx.leads.save_settings(updated)
        return updated

    # -- scoring -------------------------------------------------------------------------------

    async def score(self, actor: Actor, client_id: ClientId, lead: NewLead) -> LeadResult:
        [result] = await self._score(actor, client_id, [lead], lambda i, f: f)
        return result

    async def score_batch(self, actor: Actor, client_id: ClientId,
                          leads: Sequence[NewLead]) -> list[LeadResult]:
        """Every lead is checked before any is stored (one 422 names `leads.<i>.<field>`); an
        email repeated in the batch is scored in order, the later one current."""
        if not 1 <= len(leads) <= MAX_BATCH:
            raise InvalidInput({"leads": f"must hold 1 to {MAX_BATCH} leads"})
        return await self._score(actor, client_id, leads, lambda i, f: f"leads.{i}.{f}")

    async def _score(self, actor: Actor, client_id: ClientId, leads: Sequence[NewLead],
                     path: Callable[[int, str], str]) -> list[LeadResult]:
        async with self.storage.transaction(write=False) as tx:
            require(await role_in(tx, actor, client_id), ClientRole.MEMBER, "scoring leads")
            settings = await self._settings(tx, client_id)
        now = self.clock.now()
        scorings = await self._scorings(leads, settings, now, path)
        async with self.storage.transaction() as tx:
            # One client's scorings take turns, so a new email is never added twice at once.
            await tx.clients.get(client_id, for_update=True)
            return await self._store(tx, client_id, scorings, now)

    async def _scorings(self, leads: Sequence[NewLead], settings: ScoringSettings, now: datetime,
                        path: Callable[[int, str], str]) -> list[tuple[str, Scoring]]:
        # A batch of up to 1,000 leads: scored on the event loop a slice at a time
        # (catalyst_core.cooperative); every lead's problems are gathered for one answer.
        problems: dict[str, str] = {}

        def score(numbered: tuple[int, NewLead]) -> tuple[str, Scoring] | None:
            i, lead = numbered
            try:
                email = normalize_email(lead.email) if isinstance(lead.email, str) \
                    and "\x00" not in lead.email else None
                if email is None:
                    problems[path(i, "email")] = "must be an email address"
            except InvalidInput as e:
                problems.update({path(i, k): v for k, v in e.fields.items()})
                email = None
            source = _source(lead.source, path(i, "source"), problems)
            raw = _raw_data(lead.raw_data, path(i, "raw_data"), problems)
            if raw is None:
                return None
            try:
                result = self.scorer.score(raw, settings, now=now, source=source)
            except InvalidInput as e:
                problems.update({path(i, k): v for k, v in e.fields.items()})
                return None
            if email is None:
                return None
            return email, Scoring(
                score=result.score, components=dict(result.components),
                label=settings.thresholds.label(result.score),
                explanation=tuple(result.explanation), raw_data=raw, source=source,
                scored_at=now)

        scored = await map_sliced(score, enumerate(leads))
        if problems:
            raise InvalidInput(problems)
        return [s for s in scored if s is not None]

    async def _store(self, tx: Transaction, client_id: ClientId,
                     scorings: Sequence[tuple[str, Scoring]], now: datetime) -> list[LeadResult]:
        stored = await tx.leads.by_emails(client_id, list(dict.fromkeys(e for e, _ in scorings)))
        new: dict[str, LeadResult] = {}
        changed: dict[str, LeadResult] = {}
        superseded: list[HistoryEntry] = []
        answers = []
        for email, scoring in scorings:
            lead = new.get(email) or changed.get(email) or stored.get(email)
            if lead is None:
                lead = LeadResult(LeadId(self.ids()), client_id, email, scoring, created_at=now)
                new[email] = lead
            else:
                superseded.append(HistoryEntry(self.ids(), lead.id, lead.current))
                lead.current, lead.scored_count = scoring, lead.scored_count + 1
                if email not in new:
                    changed[email] = lead
            answers.append(_copy(lead))
        await tx.leads.add_many(list(new.values()))
        if superseded:
            # Also the earlier scorings of a lead first seen in this batch: it is stored by now.
            await tx.leads.replace_many(list(changed.values()), superseded)
        return answers

    # -- reading -------------------------------------------------------------------------------

    async def list(self, actor: Actor, filters: LeadFilters, page: OffsetRequest,
                   sort: SortSpec) -> OffsetPage[LeadResult]:
        problems: dict[str, str] = {}
        if sort.field not in LEAD_SORT_FIELDS:
            problems["sort"] = "must be one of " + ", ".join(LEAD_SORT_FIELDS)
        for name in ("min_score", "max_score"):
            value = getattr(filters, name)
            if value is not None and not 0 <= value <= 1:
                problems[name] = "must be from 0 to 1"
        if filters.source is not None and "\x00" in filters.source:
            problems["source"] = "must not contain U+0000"
        if problems:
            raise InvalidInput(problems)
        async with self.storage.transaction(write=False) as tx:
            if filters.client_id is not None:
                await role_in(tx, actor, filters.client_id)
            visible_to = None if actor.is_platform_admin or filters.client_id else actor.user_id
            query = LeadQuery(visible_to=visible_to, client_id=filters.client_id,
                              min_score=filters.min_score, max_score=filters.max_score,
                              label=filters.label, source=filters.source)
            return await tx.leads.list(query, page, sort)

    async def get(self, actor: Actor, lead_id: LeadId) -> LeadResult:
        async with self.storage.transaction(write=False) as tx:
            return await self._visible(tx, actor, lead_id)

    async def history(self, actor: Actor, lead_id: LeadId) -> list[HistoryEntry]:
        async with self.storage.transaction(write=False) as tx:
            await self._visible(tx, actor, lead_id)
            return await tx.leads.history(lead_id)

    @staticmethod
    async def _visible(tx: Transaction, actor: Actor, lead_id: LeadId) -> LeadResult:
        lead = await tx.leads.get(lead_id)
        if lead is None:
            raise NotFound("lead not found")
        await role_over(tx, actor, lead.client_id, "lead not found")
        return lead

    @staticmethod
    async def _settings(tx: Transaction, client_id: ClientId) -> ScoringSettings:
        return await tx.leads.settings(client_id) or ScoringSettings(client_id)


def _copy(lead: LeadResult) -> LeadResult:
    return LeadResult(lead.id, lead.client_id, lead.email, lead.current, lead.created_at,
                      lead.scored_count)
