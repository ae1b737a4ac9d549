"""SQL repository of lead scoring settings, results and history.

A batch of up to a thousand leads is a handful of statements: `by_emails` one SELECT per 500
emails, `add_many` and `replace_many` one prepared statement per table (bulk.py). Scores are
doubles, so they read back exactly; a scoring's explanation and raw data are JSON. Settings are
three JSON objects, upserted in one statement."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from catalyst_adapters.sql.bulk import execute_many
from catalyst_adapters.sql.queries import integrity_error, off_loop, ordered
from catalyst_adapters.sql.tables import lead_history, lead_results, lead_settings, memberships
from catalyst_core.errors import NotFound
from catalyst_core.ids import ClientId
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
from catalyst_core.paging import OffsetPage, OffsetRequest, SortSpec

# Bind parameters in a statement stay well under every driver's limit (SQLite 32766, asyncpg 32767).
KEYS_PER_STATEMENT = 500
DUPLICATE_EMAIL = "a lead with this email, or this id, is already stored"

_SCORING_COLUMNS = ("score", *COMPONENTS, "label", "explanation", "raw_data", "source", "scored_at")


def _scoring_values(s: Scoring) -> tuple[Any, ...]:
    """A scoring as the values of _SCORING_COLUMNS."""
    return (float(s.score), *(float(s.components[name]) for name in COMPONENTS),
            Label(s.label).value, list(s.explanation), dict(s.raw_data), s.source, s.scored_at)


def _scoring(values: Sequence[Any]) -> Scoring:
    score, engagement, demographic, behavioral, label, explanation, raw_data, source, at = values
    return Scoring(score=score, components={"engagement": engagement, "demographic": demographic,
                                            "behavioral": behavioral},
                   label=Label(label), explanation=tuple(explanation), raw_data=raw_data,
                   source=source, scored_at=at)


_SCORED = len(_SCORING_COLUMNS)
_RESULT = (lead_results.c.id, lead_results.c.client_id, lead_results.c.email,
           *(lead_results.c[name] for name in _SCORING_COLUMNS), lead_results.c.created_at,
           lead_results.c.scored_count)


def _result(row: Sequence[Any]) -> LeadResult:
    return LeadResult(id=row[0], client_id=row[1], email=row[2], current=_scoring(row[3:3 + _SCORED]),
                      created_at=row[3 + _SCORED], scored_count=row[4 + _SCORED])


_HISTORY = (lead_history.c.id, lead_history.c.lead_id,
            *(lead_history.c[name] for name in _SCORING_COLUMNS))


def _entry(row: Sequence[Any]) -> HistoryEntry:
    return HistoryEntry(id=row[0], lead_id=row[1], scoring=_scoring(row[2:]))


_INSERT_RESULT = insert(lead_results)
_INSERT_RESULT_COLUMNS = ("id", "client_id", "email", *_SCORING_COLUMNS, "created_at", "scored_count")
_INSERT_HISTORY = insert(lead_history)
_INSERT_HISTORY_COLUMNS = ("id", "lead_id", *_SCORING_COLUMNS)

# Executed once per result in one executemany; the new values are named apart from the columns.
_REPLACED = ("scored_count", *_SCORING_COLUMNS)
_REPLACE = (update(lead_results).where(lead_results.c.id == bindparam("new_id"))
            .values({name: bindparam(f"new_{name}", type_=lead_results.c[name].type)
                     for name in _REPLACED}))
_REPLACE_COLUMNS = ("new_id", *(f"new_{name}" for name in _REPLACED))

_RESULT_BY_ID = select(*_RESULT).where(lead_results.c.id == bindparam("id"))
_HISTORY_OF = (select(*_HISTORY).where(lead_history.c.lead_id == bindparam("lead_id"))
               .order_by(lead_history.c.scored_at.desc(), lead_history.c.id.desc()))
_SETTINGS_OF = select(lead_settings).where(lead_settings.c.client_id == bindparam("client_id"))

_SORT_COLUMNS = {"score": lead_results.c.score, "created_at": lead_results.c.created_at,
                 "updated_at": lead_results.c.scored_at, "email": lead_results.c.email}


@functools.cache
def _upsert_settings(dialect: str) -> Any:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(lead_settings)
    return statement.on_conflict_do_update(
        index_elements=[lead_settings.c.client_id],
        set_={c.name: statement.excluded[c.name] for c in lead_settings.c if c.name != "client_id"})


def _settings_values(s: ScoringSettings) -> dict[str, Any]:
    i = s.ideal_customer
    return {
        "client_id": s.client_id,
        "weights": {name: float(getattr(s.weights, name)) for name in COMPONENTS},
        "ideal_customer": {"seniorities": list(i.seniorities), "company_size_min": i.company_size_min,
                           "company_size_max": i.company_size_max, "industries": list(i.industries),
                           "countries": list(i.countries)},
        "thresholds": {"hot": float(s.thresholds.hot), "warm": float(s.thresholds.warm)},
        "updated_at": s.updated_at, "updated_by": s.updated_by,
    }


def _settings(row: Any) -> ScoringSettings:
    m = row._mapping
    w, i, t = m["weights"], m["ideal_customer"], m["thresholds"]
    return ScoringSettings(
        client_id=m["client_id"], weights=Weights(*(w[name] for name in COMPONENTS)),
        ideal_customer=IdealCustomer(tuple(i["seniorities"]), i["company_size_min"],
                                     i["company_size_max"], tuple(i["industries"]),
                                     tuple(i["countries"])),
        thresholds=Thresholds(t["hot"], t["warm"]), updated_at=m["updated_at"],
        updated_by=m["updated_by"])


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i:i + KEYS_PER_STATEMENT] for i in range(0, len(items), KEYS_PER_STATEMENT)]


class SqlLeadRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn

    # -- settings ------------------------------------------------------------------------------

    async def settings(self, client_id: ClientId) -> ScoringSettings | None:
        row = (await self._c.execute(_SETTINGS_OF, {"client_id": client_id})).first()
        return None if row is None else _settings(row)

    async def save_settings(self, settings: ScoringSettings) -> None:
        try:
            await self._c.execute(_upsert_settings(self._c.dialect.name), _settings_values(settings))
        except IntegrityError as e:
            raise integrity_error(e, "lead scoring settings already exist") from None

    # -- results -------------------------------------------------------------------------------

    async def get(self, lead_id: LeadId) -> LeadResult | None:
        row = (await self._c.execute(_RESULT_BY_ID, {"id": lead_id})).first()
        return None if row is None else _result(row)

    async def by_emails(self, client_id: ClientId, emails: Sequence[str]) -> dict[str, LeadResult]:
        found: dict[str, LeadResult] = {}
        for chunk in _chunks(sorted(set(emails))):
            rows = await self._c.execute(select(*_RESULT).where(
                lead_results.c.client_id == client_id, lead_results.c.email.in_(chunk)))
            for row in rows.all():
                result = _result(row)
                found[result.email] = result
        return found

    async def add_many(self, results: Sequence[LeadResult]) -> None:
        if not results:
            return
        try:
            await execute_many(self._c, _INSERT_RESULT, _INSERT_RESULT_COLUMNS, [
                (r.id, r.client_id, r.email, *_scoring_values(r.current), r.created_at, r.scored_count)
                for r in results])
        except IntegrityError as e:
            raise integrity_error(e, DUPLICATE_EMAIL) from None

    async def replace_many(self, results: Sequence[LeadResult],
                           superseded: Sequence[HistoryEntry]) -> None:
        if results:
            wanted = {r.id for r in results}
            stored = 0
            for chunk in _chunks(list(wanted)):
                stored += (await self._c.execute(select(func.count()).select_from(lead_results)
                                                 .where(lead_results.c.id.in_(chunk)))).scalar_one()
            if stored != len(wanted):
                raise NotFound("lead not found")
            await execute_many(self._c, _REPLACE, _REPLACE_COLUMNS, [
                (r.id, r.scored_count, *_scoring_values(r.current)) for r in results])
        if superseded:
            try:
                await execute_many(self._c, _INSERT_HISTORY, _INSERT_HISTORY_COLUMNS, [
                    (e.id, e.lead_id, *_scoring_values(e.scoring)) for e in superseded])
            except IntegrityError as e:
                raise integrity_error(e, "a history entry with this id is already stored") from None

    async def list(self, query: LeadQuery, page: OffsetRequest, sort: SortSpec
                   ) -> OffsetPage[LeadResult]:
        c = lead_results.c
        conditions = []
        if query.visible_to is not None:
            conditions.append(c.client_id.in_(
                select(memberships.c.client_id).where(memberships.c.user_id == query.visible_to)))
        if query.client_id is not None:
            conditions.append(c.client_id == query.client_id)
        if query.min_score is not None:
            conditions.append(c.score >= float(query.min_score))
        if query.max_score is not None:
            conditions.append(c.score <= float(query.max_score))
        if query.label is not None:
            conditions.append(c.label == Label(query.label).value)
        if query.source is not None:
            conditions.append(c.source == query.source)
        # Off the event loop where reads run on it (SQLite): a sort by email, a filter on the
        # score or a list across clients is not an index walk, and counting scans what matches.
        execute = off_loop(self._c)
        rows = (await execute(
            select(*_RESULT).where(*conditions)
            .order_by(*ordered(_SORT_COLUMNS[sort.field], sort, c.id))
            .limit(page.limit).offset(page.offset))).all()
        if page.offset == 0 and len(rows) < page.limit:
            total = len(rows)
        else:
            total = (await execute(select(func.count()).select_from(lead_results)
                                   .where(*conditions))).scalar_one()
        return OffsetPage(items=[_result(r) for r in rows], total_items=total, request=page)

    async def history(self, lead_id: LeadId) -> list[HistoryEntry]:
        rows = await off_loop(self._c)(_HISTORY_OF, {"lead_id": lead_id})  # grows with each scoring
        return [_entry(r) for r in rows.all()]

