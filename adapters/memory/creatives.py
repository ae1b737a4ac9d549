"""The creative submission repository of MemoryStorage. It answers what the SQL adapter answers:
NotFound for an unknown client, submitter or task, Conflict for a taken id, the same orders
(names casefolded, code point by code point), times in UTC, and private copies."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from catalyst_adapters.memory.base import _page, _sorted
from catalyst_adapters.ordering import name_key
from catalyst_core.creatives.model import Submission, SubmissionId, SubmissionQuery
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.paging import Page, PageRequest, SortSpec

if TYPE_CHECKING:
    from catalyst_adapters.memory.storage import _Journal, _Tables

_sort_keys: dict[str, Callable[[Submission], Any]] = {
    "created_at": lambda s: s.created_at,
    "updated_at": lambda s: s.updated_at,
    "name": lambda s: name_key(s.name),
    "status": lambda s: s.status.value,
}


class MemoryCreativeRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    async def add(self, submission: Submission) -> None:
        key = submission.media.key
        if submission.id in self._t.creatives or (key is not None and any(
                s.media.key == key for s in self._t.creatives.values())):
            raise Conflict("a creative submission with this id is already stored")
        if (submission.client_id not in self._t.clients or submission.submitted_by not in self._t.users
                or (submission.task_id is not None and submission.task_id not in self._t.tasks)):
            raise NotFound("a referenced record does not exist")
        self._j.put(self._t.creatives, submission.id, submission)

    async def get(self, submission_id: SubmissionId, *, for_update: bool = False) -> Submission | None:
        return copy.deepcopy(self._t.creatives.get(submission_id))

    async def save(self, submission: Submission) -> None:
        stored = self._t.creatives.get(submission.id)
        if stored is None:
            raise NotFound("creative submission not found")
        if submission.reviewed_by is not None and submission.reviewed_by not in self._t.users:
            raise NotFound("a referenced record does not exist")
        # Only the decision changes; what was submitted stays as stored.
        updated = copy.deepcopy(stored)
        updated.status, updated.reviewed_by = submission.status, submission.reviewed_by
        updated.reviewed_at, updated.rejection_reason = submission.reviewed_at, submission.rejection_reason
        updated.updated_at = submission.updated_at
        self._j.put(self._t.creatives, submission.id, updated)

    async def list(self, query: SubmissionQuery, page: PageRequest, sort: SortSpec) -> Page[Submission]:
        visible = None if query.visible_to is None else {
            cid for (cid, uid) in self._t.members if uid == query.visible_to}
        rows = [s for s in self._t.creatives.values()
                if (visible is None or s.client_id in visible)
                and (query.client_id is None or s.client_id == query.client_id)
                and (query.status is None or s.status is query.status)]
        return _page(_sorted(rows, sort, _sort_keys[sort.field], lambda s: s.id), page)

    async def referenced_keys(self, keys: Sequence[str]) -> set[str]:
        wanted = set(keys)
        return {s.media.key for s in self._t.creatives.values() if s.media.key in wanted}
