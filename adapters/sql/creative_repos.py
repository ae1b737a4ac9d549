"""SQL repository of creative submissions: one row each, its media and its decision inline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from catalyst_adapters.ordering import name_key
from catalyst_adapters.sql.queries import fetch_page, integrity_error, ordered
from catalyst_adapters.sql.tables import creative_submissions, memberships
from catalyst_core.creatives.model import (
    AdType,
    Media,
    Submission,
    SubmissionId,
    SubmissionQuery,
    SubmissionStatus,
)
from catalyst_core.errors import NotFound
from catalyst_core.paging import Page, PageRequest, SortSpec

c = creative_submissions.c
KEYS_PER_STATEMENT = 500
_COLUMNS = (c.id, c.client_id, c.name, c.ad_type, c.status, c.media_url, c.media_key,
            c.media_filename, c.media_size, c.media_content_type, c.media_width, c.media_height,
            c.ad_script, c.headline, c.primary_text, c.submitted_by, c.task_id, c.reviewed_by,
            c.reviewed_at, c.rejection_reason, c.created_at, c.updated_at)
_BY_ID = select(*_COLUMNS)
_SORT = {"created_at": c.created_at, "updated_at": c.updated_at, "name": c.name_key,
         "status": c.status}


def _values(s: Submission) -> dict[str, Any]:
    m = s.media
    return {"id": s.id, "client_id": s.client_id, "name": s.name, "name_key": name_key(s.name),
            "ad_type": s.ad_type.value, "status": s.status.value, "media_url": m.url,
            "media_key": m.key, "media_filename": m.filename, "media_size": m.size,
            "media_content_type": m.content_type, "media_width": m.width,
            "media_height": m.height, "ad_script": s.ad_script, "headline": s.headline,
            "primary_text": s.primary_text, "submitted_by": s.submitted_by, "task_id": s.task_id,
            "reviewed_by": s.reviewed_by, "reviewed_at": s.reviewed_at,
            "rejection_reason": s.rejection_reason, "created_at": s.created_at,
            "updated_at": s.updated_at}


def _submission(r: Any) -> Submission:
    return Submission(
        id=r.id, client_id=r.client_id, name=r.name, ad_type=AdType(r.ad_type),
        media=Media(url=r.media_url, key=r.media_key, filename=r.media_filename, size=r.media_size,
                    content_type=r.media_content_type, width=r.media_width, height=r.media_height),
        ad_script=r.ad_script, headline=r.headline, primary_text=r.primary_text,
        status=SubmissionStatus(r.status), submitted_by=r.submitted_by, task_id=r.task_id,
        reviewed_by=r.reviewed_by, reviewed_at=r.reviewed_at, rejection_reason=r.rejection_reason,
        created_at=r.created_at, updated_at=r.updated_at)


class SqlCreativeRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn

    async def add(self, submission: Submission) -> None:
        try:
            await self._c.execute(insert(creative_submissions).values(**_values(submission)))
        except IntegrityError as e:
            raise integrity_error(e, "a creative submission with this id is already stored") from None

    async def get(self, submission_id: SubmissionId, *, for_update: bool = False) -> Submission | None:
        query = _BY_ID.where(c.id == submission_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._c.execute(query)).first()
        return None if row is None else _submission(row)

    async def save(self, submission: Submission) -> None:
        try:
            result = await self._c.execute(
                update(creative_submissions).where(c.id == submission.id).values(
                    status=submission.status.value, reviewed_by=submission.reviewed_by,
                    reviewed_at=submission.reviewed_at, rejection_reason=submission.rejection_reason,
                    updated_at=submission.updated_at))
        except IntegrityError as e:
            raise integrity_error(e, "conflicting decision") from None
        if result.rowcount == 0:
            raise NotFound("creative submission not found")

    async def list(self, query: SubmissionQuery, page: PageRequest, sort: SortSpec) -> Page[Submission]:
        conditions = []
        if query.visible_to is not None:
            conditions.append(c.client_id.in_(
                select(memberships.c.client_id).where(memberships.c.user_id == query.visible_to)))
        if query.client_id is not None:
            conditions.append(c.client_id == query.client_id)
        if query.status is not None:
            conditions.append(c.status == query.status.value)
        rows = select(*_COLUMNS).where(*conditions).order_by(*ordered(_SORT[sort.field], sort, c.id))
        count = select(func.count()).select_from(creative_submissions).where(*conditions)
        # One client's list walks one of its indexes (client, sort key, id), or with a status
        # filter (client, status, created_at, id); any other shape, a list across clients or a
        # deep page leaves the event loop where reads run on it (SQLite).
        by_index = query.client_id is not None and page.offset == 0 and (
            sort.field in ("created_at", "updated_at", "name") if query.status is None
            else sort.field == "created_at")
        heavy = not by_index
        return await fetch_page(self._c, rows, count, page, _submission, heavy=heavy)

    async def referenced_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        keys = list(keys)
        for start in range(0, len(keys), KEYS_PER_STATEMENT):
            chunk = keys[start:start + KEYS_PER_STATEMENT]
            found.update((await self._c.execute(
                select(c.media_key).where(c.media_key.in_(chunk)))).scalars())
        return found
