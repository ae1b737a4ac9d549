"""The storage contract for creative submissions (CreativeRepo): exact round trips of any text, the
references a submission needs, decisions as the only change, the filtered and sorted list, the
media keys a sweep asks about, what deleting the review task does, and the client's admins."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from catalyst_adapters.ordering import name_key
from catalyst_contracts.storage.alerts import EXAMPLES, assert_utc, instants
from catalyst_contracts.storage.helpers import every_page, ordered, put, read
from catalyst_contracts.strategies import (
    at,
    make_client,
    make_membership,
    make_task,
    make_user,
    new_id,
    unicode_texts,
)
from catalyst_core.clients.model import ClientRole
from catalyst_core.creatives.model import (
    AdType,
    Media,
    Submission,
    SubmissionId,
    SubmissionQuery,
    SubmissionStatus,
)
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, TaskId, UserId
from catalyst_core.paging import Order, SortSpec

_serial = itertools.count(1)


def make_submission(client: Any, submitted_by: Any, **overrides: Any) -> Submission:
    n = next(_serial)
    submission = Submission(
        id=SubmissionId(new_id()), client_id=getattr(client, "id", client), name=f"Creative {n}",
        ad_type=AdType.IMAGE, media=Media(url=f"https://example.com/{n}.jpg"), ad_script=None,
        headline=None, primary_text=None, status=SubmissionStatus.PENDING,
        submitted_by=getattr(submitted_by, "id", submitted_by), created_at=at(0), updated_at=at(0))
    return evolve(submission, **overrides)


async def add(storage: Any, *submissions: Submission) -> None:
    async with storage.transaction() as tx:
        for submission in submissions:
            await tx.creatives.add(submission)


async def get(storage: Any, submission_id: SubmissionId) -> Submission | None:
    return await read(storage, lambda tx: tx.creatives.get(submission_id))


def file_media() -> st.SearchStrategy[Media]:
    sizes = st.none() | st.integers(1, 2**31 - 1)
    # Keys are unique (a later example must not meet an earlier one's key in the same storage).
    return st.builds(Media, key=st.builds(lambda: new_id().hex),
                     filename=st.none() | unicode_texts(1, 255), size=st.integers(1, 2**53),
                     content_type=st.sampled_from(["image/png", "image/jpeg", "video/mp4"]),
                     width=sizes, height=sizes)


class CreativesContract:
    """Creative submissions (CreativeRepo, MemberRepo.admins). Needs an async fixture `storage`."""

    @EXAMPLES
    @given(name=unicode_texts(1, 255), ad_type=st.sampled_from(list(AdType)),
           media=st.builds(Media, url=unicode_texts(1, 2048)) | file_media(),
           texts=st.lists(st.none() | unicode_texts(0, 400), min_size=3, max_size=3),
           status=st.sampled_from(list(SubmissionStatus)), reason=st.none() | unicode_texts(1, 400),
           stamps=st.lists(instants(), min_size=3, max_size=3), with_task=st.booleans())
    async def test_a_submission_reads_back_exactly(
            self, storage: Any, name: str, ad_type: AdType, media: Media, texts: list[str | None],
            status: SubmissionStatus, reason: str | None, stamps: list[datetime],
            with_task: bool) -> None:
        user, reviewer, client = make_user(), make_user(), make_client()
        task = make_task(client, user)
        await put(storage, user, reviewer, client, task)
        decided = status is not SubmissionStatus.PENDING
        submission = make_submission(
            client, user, name=name, ad_type=ad_type, media=media, ad_script=texts[0],
            headline=texts[1], primary_text=texts[2], status=status,
            task_id=task.id if with_task else None, reviewed_by=reviewer.id if decided else None,
            reviewed_at=stamps[2] if decided else None, rejection_reason=reason if decided else None,
            created_at=stamps[0], updated_at=stamps[1])
        await add(storage, submission)
        stored = await get(storage, submission.id)
        assert stored == submission
        assert stored is not None
        assert_utc(stored.created_at, stored.updated_at, stored.reviewed_at)

    async def test_add_refuses_a_taken_id_and_unknown_references(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        submission = make_submission(client, user)
        await add(storage, submission)
        with pytest.raises(Conflict):
            await add(storage, evolve(submission, name="again"))
        for broken in (make_submission(ClientId(new_id()), user),
                       make_submission(client, UserId(new_id())),
                       make_submission(client, user, task_id=TaskId(new_id()))):
            with pytest.raises(NotFound):
                await add(storage, broken)
        assert await get(storage, submission.id) == submission

    async def test_a_taken_media_key_is_refused(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        media = Media(key="a" * 32, size=10, content_type="image/png")
        await add(storage, make_submission(client, user, media=media))
        with pytest.raises(Conflict):
            await add(storage, make_submission(client, user, media=media))

    async def test_save_stores_the_decision_only(self, storage: Any) -> None:
        user, admin, client = make_user(), make_user(), make_client()
        await put(storage, user, admin, client)
        submission = make_submission(client, user, headline="as submitted")
        await add(storage, submission)
        decided = evolve(submission, status=SubmissionStatus.REJECTED, reviewed_by=admin.id,
                         reviewed_at=at(60), rejection_reason="off brand", updated_at=at(60),
                         headline="changed by the caller", name="renamed")
        async with storage.transaction() as tx:
            await tx.creatives.save(decided)
        assert await get(storage, submission.id) == evolve(
            submission, status=SubmissionStatus.REJECTED, reviewed_by=admin.id, reviewed_at=at(60),
            rejection_reason="off brand", updated_at=at(60))
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.creatives.save(make_submission(client, user))

    async def test_a_failed_transaction_keeps_nothing(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        submission = make_submission(client, user)
        with pytest.raises(RuntimeError):
            async with storage.transaction() as tx:
                await tx.creatives.add(submission)
                raise RuntimeError("the request failed")
        assert await get(storage, submission.id) is None

    async def test_deleting_the_review_task_unlinks_it(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user)
        await put(storage, user, client, task)
        submission = make_submission(client, user, task_id=task.id)
        await add(storage, submission)
        async with storage.transaction() as tx:
            await tx.tasks.delete(task.id)
        assert await get(storage, submission.id) == evolve(submission, task_id=None)

    @EXAMPLES
    @given(names=st.lists(unicode_texts(1, 20), min_size=1, max_size=12),
           statuses=st.lists(st.sampled_from(list(SubmissionStatus)), min_size=12, max_size=12),
           seconds=st.lists(st.integers(0, 5), min_size=12, max_size=12),
           field=st.sampled_from(["created_at", "updated_at", "name", "status"]),
           order=st.sampled_from(list(Order)), limit=st.integers(1, 5))
    async def test_list_filters_sorts_and_pages(
            self, storage: Any, names: list[str], statuses: list[SubmissionStatus],
            seconds: list[int], field: str, order: Order, limit: int) -> None:
        viewer, author = make_user(), make_user()
        mine, other = make_client(), make_client()
        await put(storage, viewer, author, mine, other, make_membership(mine, viewer, ClientRole.VIEWER),
                  make_membership(other, author))
        rows = [make_submission(mine if i % 3 else other, author, name=name, status=statuses[i],
                                created_at=at(seconds[i]), updated_at=at(seconds[-1 - i]))
                for i, name in enumerate(names)]
        await add(storage, *rows)
        key = {"created_at": lambda s: s.created_at, "updated_at": lambda s: s.updated_at,
               "name": lambda s: name_key(s.name), "status": lambda s: s.status.value}[field]
        sort = SortSpec(field, order)
        for query in (SubmissionQuery(visible_to=viewer.id), SubmissionQuery(client_id=other.id),
                      SubmissionQuery(client_id=mine.id, status=statuses[0]),
                      SubmissionQuery(visible_to=author.id, status=SubmissionStatus.PENDING)):
            member_of = {mine.id} if query.visible_to == viewer.id else (
                {other.id} if query.visible_to == author.id else None)
            expected = ordered(
                [s for s in rows if (member_of is None or s.client_id in member_of)
                 and (query.client_id is None or s.client_id == query.client_id)
                 and (query.status is None or s.status is query.status)], key, lambda s: s.id, order)
            got = await every_page(
                lambda page, q=query: read(storage, lambda tx: tx.creatives.list(q, page, sort)), limit)
            assert [s.id for s in got] == [s.id for s in expected]

    async def test_referenced_keys_answers_which_keys_have_rows(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        keys = [new_id().hex for _ in range(3)]
        await add(storage, *(make_submission(client, user,
                                             media=Media(key=k, size=1, content_type="image/png"))
                             for k in keys[:2]))
        asked = [*keys, "0" * 32]
        assert await read(storage, lambda tx: tx.creatives.referenced_keys(asked)) == set(keys[:2])
        assert await read(storage, lambda tx: tx.creatives.referenced_keys([])) == set()

    async def test_admins_are_the_admin_members_oldest_first(self, storage: Any) -> None:
        client = make_client()
        users = [make_user() for _ in range(4)]
        await put(storage, client, *users,
                  make_membership(client, users[0], ClientRole.ADMIN, added_at=at(30)),
                  make_membership(client, users[1], ClientRole.MEMBER, added_at=at(10)),
                  make_membership(client, users[2], ClientRole.ADMIN, added_at=at(20)),
                  make_membership(client, users[3], ClientRole.VIEWER, added_at=at(5)))
        assert await read(storage, lambda tx: tx.members.admins(client.id)) == [users[2].id, users[0].id]
        assert await read(storage, lambda tx: tx.members.admins(ClientId(new_id()))) == []
