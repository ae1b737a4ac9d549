"""Use cases of performance data: taking rows in, and listing them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from attrs import frozen

from catalyst_core.access import require, role_in
from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import (
    IngestResult,
    PerformanceBatch,
    PerformanceQuery,
    PerformanceRow,
    canonical_platform,
    check_capacity,
    filter_problems,
    filter_text,
)
from catalyst_core.metrics.parsing import parse_batch
from catalyst_core.paging import Page, PageRequest, SortSpec
from catalyst_core.ports import Storage

ROW_SORT_FIELDS = ("date",)


@frozen
class RowFilters:
    """The list filters as a caller states them (dates inclusive)."""

    start_date: date | None = None
    end_date: date | None = None
    platform: str | None = None
    campaign_id: str | None = None
    ad_id: str | None = None


class MetricsService:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def ingest(self, actor: Actor, client_id: ClientId,
                     rows: Sequence[Mapping[str, Any]] | PerformanceBatch) -> IngestResult:
        """Store a batch all or nothing: new rows are inserted, rows with a stored (date, platform,
        ad_id) replace it. Members and admins ingest. Raw rows are parsed here (parse_rows);
        a PerformanceBatch of this client was parsed already."""
        if not isinstance(rows, PerformanceBatch):
            rows = await parse_batch(client_id, rows)
        elif rows.client_id != client_id:
            raise InvalidInput({"rows": "were parsed for another client"})
        async with self.storage.transaction() as tx:
            require(await role_in(tx, actor, client_id), ClientRole.MEMBER, "ingesting performance data")
            # Batches of one client take turns (the row lock, where the database has one), so the
            # capacity check and the kept totals see every earlier batch.
            await tx.clients.get(client_id, for_update=True)
            check_capacity(await tx.performance.client_totals(client_id), rows.totals)
            return await tx.performance.upsert(client_id, rows.rows)

    async def list(self, actor: Actor, client_id: ClientId, filters: RowFilters, page: PageRequest,
                   sort: SortSpec) -> Page[PerformanceRow]:
        """Any member of the client reads; newest date first unless `order=asc`."""
        problems = filter_problems(platform=filters.platform, campaign_id=filters.campaign_id,
                                   ad_id=filters.ad_id)
        try:
            sort = sort.checked(ROW_SORT_FIELDS)
        except InvalidInput as e:
            problems.update(e.fields)
        if filters.start_date and filters.end_date and filters.end_date < filters.start_date:
            problems["end_date"] = "must not be before start_date"
        if problems:
            raise InvalidInput(problems)
        platform = filter_text(filters.platform)
        query = PerformanceQuery(
            client_id=client_id, start_date=filters.start_date, end_date=filters.end_date,
            platform=canonical_platform(platform) if platform else None,
            campaign_id=filter_text(filters.campaign_id), ad_id=filter_text(filters.ad_id))
        async with self.storage.transaction(write=False) as tx:
            await role_in(tx, actor, client_id)
            return await tx.performance.list(query, page, sort.order)



