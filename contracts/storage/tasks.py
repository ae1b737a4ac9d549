"""The storage contract for tasks and their comments."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from attrs import evolve

from catalyst_contracts.storage.helpers import (
    ALL,
    TASK_SORT_KEYS,
    TaskWorld,
    every_page,
    ids,
    ordered,
    put,
    read,
    utc_day_start,
)
from catalyst_contracts.strategies import (
    at,
    make_client,
    make_comment,
    make_task,
    make_user,
    new_id,
)
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.paging import Order, PageRequest, SortSpec
from catalyst_core.tasks.model import (
    Priority,
    TaskQuery,
    TaskStatus,
    TaskType,
)


class TasksContract:
    """Tasks (optimistic saves, every filter alone and combined, sorting and paging) and comments.
    Needs an async fixture `storage`."""

    # -- tasks ---------------------------------------------------------------------------------------

    async def test_task_add_get(self, storage: Any) -> None:
        user, other, client = make_user(), make_user(), make_client()
        task = make_task(client, user, name="Launch", task_type=TaskType.REVIEW_REPORT,
                         status=TaskStatus.IN_PROGRESS, priority=Priority.HIGH,
                         assignees=[other.id, user.id], due_date=at(3600), description="details",
                         related_object_id="abc", related_object_type="alert_instance",
                         created_at=at(1), updated_at=at(2))
        await put(storage, user, other, client, task)
        assert await read(storage, lambda tx: tx.tasks.get(task.id)) == task
        assert await read(storage, lambda tx: tx.tasks.get(TaskId(new_id()))) is None

    async def test_task_add_many(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        tasks = [make_task(client, user, assignees=[user.id], created_at=at(i)) for i in range(3)]
        async with storage.transaction() as tx:
            await tx.tasks.add_many(tasks)
            await tx.tasks.add_many([])
        for task in tasks:
            assert await read(storage, lambda tx, t=task: tx.tasks.get(t.id)) == task

    async def test_task_naming_unknown_people_is_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        ghost = UserId(new_id())
        finished = {"status": TaskStatus.COMPLETED, "completed_at": at(5)}
        for task in (make_task(client, ghost), make_task(client, user, assignees=[user.id, ghost]),
                     make_task(client, user, completed_by=ghost, **finished),
                     make_task(ClientId(new_id()), user)):
            with pytest.raises(NotFound):
                await put(storage, task)
        task = make_task(client, user, assignees=[user.id])
        await put(storage, task)
        for change in ({"assignees": [ghost]}, {"completed_by": ghost, **finished}):
            with pytest.raises(NotFound):
                async with storage.transaction() as tx:
                    await tx.tasks.save(evolve(task, **change))
        assert await read(storage, lambda tx: tx.tasks.get(task.id)) == task
        page = await read(storage, lambda tx: tx.tasks.list(TaskQuery(client_id=client.id), ALL, SortSpec()))
        assert list(page.items) == [task]

    async def test_task_add_duplicate_id_is_conflict(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user, name="first")
        await put(storage, user, client, task)
        with pytest.raises(Conflict):
            await put(storage, make_task(client, user, id=task.id, name="second"))
        assert (await read(storage, lambda tx: tx.tasks.get(task.id))).name == "first"

    async def test_tasks_are_copied_in_and_out(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user, assignees=[user.id])
        original = copy.deepcopy(task)
        await put(storage, user, client, task)
        task.assignees.append(UserId(new_id()))
        task.name = "mutated"
        got = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert got == original
        got.assignees.clear()
        page = await read(storage, lambda tx: tx.tasks.list(TaskQuery(), ALL, SortSpec()))
        assert list(page.items) == [original]

    async def test_task_save_bumps_version(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user)
        await put(storage, user, client, task)
        assert task.version == 1
        task.name, task.assignees, task.updated_at = "Renamed", [user.id], at(30)
        async with storage.transaction() as tx:
            await tx.tasks.save(task)
        assert task.version == 2
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored == task and stored.version == 2
        # The same object is current again, so it can be saved again.
        task.status, task.completed_by, task.completed_at = TaskStatus.COMPLETED, user.id, at(40)
        async with storage.transaction() as tx:
            await tx.tasks.save(task)
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored == task and stored.version == 3

    async def test_task_save_of_stale_version_is_conflict(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user, name="v1")
        await put(storage, user, client, task)
        stale = await read(storage, lambda tx: tx.tasks.get(task.id))
        fresh = await read(storage, lambda tx: tx.tasks.get(task.id))
        fresh.name = "fresh"
        async with storage.transaction() as tx:
            await tx.tasks.save(fresh)
        stale.name = "stale"
        with pytest.raises(Conflict):
            async with storage.transaction() as tx:
                await tx.tasks.save(stale)
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored.name == "fresh" and stored.version == 2

    async def test_task_save_of_missing_is_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.tasks.save(make_task(client, user))

    async def test_task_delete_removes_its_comments(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        doomed, kept = make_task(client, user), make_task(client, user)
        doomed_comments = [make_comment(doomed, user, created_at=at(i)) for i in range(3)]
        kept_comment = make_comment(kept, user)
        await put(storage, user, client, doomed, kept, *doomed_comments, kept_comment)
        async with storage.transaction() as tx:
            await tx.tasks.delete(doomed.id)
        assert await read(storage, lambda tx: tx.tasks.get(doomed.id)) is None
        for c in doomed_comments:
            assert await read(storage, lambda tx, c=c: tx.comments.get(c.id)) is None
        page = await read(storage, lambda tx: tx.comments.list(doomed.id, ALL))
        assert list(page.items) == [] and page.total_items == 0
        assert await read(storage, lambda tx: tx.tasks.get(kept.id)) == kept
        assert await read(storage, lambda tx: tx.comments.get(kept_comment.id)) == kept_comment

    async def test_task_delete_of_missing_is_not_found(self, storage: Any) -> None:
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.tasks.delete(TaskId(new_id()))

    async def test_task_list_each_filter_alone(self, storage: Any) -> None:
        w = TaskWorld()
        await put(storage, *w.objects())
        a, b, c, d = w.alice.id, w.bob.id, w.carol.id, w.dave.id
        queries: list[TaskQuery] = [
            TaskQuery(),
            *[TaskQuery(visible_to=u) for u in (a, b, c, d)],
            TaskQuery(client_id=w.acme.id), TaskQuery(client_id=w.globex.id),
            TaskQuery(client_id=ClientId(new_id())),
            *[TaskQuery(status=s) for s in TaskStatus],
            *[TaskQuery(task_type=t) for t in TaskType],
            *[TaskQuery(priority=p) for p in Priority],
            *[TaskQuery(assigned_to=u) for u in (a, b, c, d)],
            *[TaskQuery(assigned_to_other_than=u) for u in (a, b, c, d)],
            *[TaskQuery(assignee_id=u) for u in (a, b, c, d)],
            # Text: case-insensitive, in name or description; % and _ match themselves only.
            TaskQuery(text="review"), TaskQuery(text="REVIEW"), TaskQuery(text="Discount"),
            TaskQuery(text="50%"), TaskQuery(text="%"), TaskQuery(text="_"), TaskQuery(text="alpha_beta"),
            TaskQuery(text="a%b"), TaskQuery(text="0%"), TaskQuery(text="no such words"),
            # Due dates: inclusive whole UTC days; tasks with no due date never match.
            *[TaskQuery(due_before=date(2024, 3, day)) for day in (6, 7, 9, 10, 11, 12, 13)],
            *[TaskQuery(due_after=date(2024, 3, day)) for day in (6, 7, 9, 10, 11, 12, 13)],
        ]
        for query in queries:
            got = await read(storage, lambda tx, q=query: tx.tasks.list(q, ALL, SortSpec()))
            assert {t.id for t in got.items} == w.expect(query), query
            assert got.total_items == len(got.items), query

        # The data makes the tricky filters meaningful: wildcards would match more than these.
        by_name = {t.name: t.id for t in w.tasks}
        assert w.expect(TaskQuery(text="_")) == {by_name["alpha_beta"]}
        assert w.expect(TaskQuery(text="50%")) == {by_name["Review banner"]}
        assert w.expect(TaskQuery(text="%")) == {by_name[n] for n in ("Review banner", "Zeta review", "Mu")}
        assert w.expect(TaskQuery(text="review")) == {by_name[n] for n in (
            "Review banner", "review report Q1", "Alpha", "Zeta review")}
        assert w.expect(TaskQuery(assigned_to_other_than=b)) == {t.id for t in w.tasks
                                                                 if set(t.assignees) - {b}}
        assert by_name["Budget 500 plan"] not in w.expect(TaskQuery(assigned_to_other_than=b))

    async def test_task_text_search_ignores_case_beyond_ascii(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        tasks = [make_task(client, user, name="Éclair tasting"),
                 make_task(client, user, name="plain", description="ÜBER review")]
        await put(storage, user, client, *tasks)
        for text, expected in (("éclair", [tasks[0]]), ("ÉCLAIR", [tasks[0]]), ("über", [tasks[1]]),
                               ("eclair", [])):
            page = await read(storage, lambda tx, t=text: tx.tasks.list(TaskQuery(text=t), ALL, SortSpec()))
            assert ids(page.items) == ids(expected), text

    async def test_task_list_due_filters_by_whole_utc_day(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        day = date(2024, 5, 20)
        start = utc_day_start(day)
        edges = {
            "previous day, last microsecond": start - timedelta(microseconds=1),
            "first instant": start,
            "last microsecond": start + timedelta(days=1, microseconds=-1),
            "next day": start + timedelta(days=1),
            # 01:30 on the 21st in UTC+3 is 22:30 on the 20th in UTC.
            "other zone, same UTC day": datetime(2024, 5, 21, 1, 30, tzinfo=timezone(timedelta(hours=3))),
            "no due date": None,
        }
        tasks = {label: make_task(client, user, name=label, due_date=due) for label, due in edges.items()}
        await put(storage, user, client, *tasks.values())

        async def names(query: TaskQuery) -> set[str]:
            page = await read(storage, lambda tx: tx.tasks.list(query, ALL, SortSpec()))
            return {t.name for t in page.items}

        on_day = {"first instant", "last microsecond", "other zone, same UTC day"}
        assert await names(TaskQuery(due_before=day)) == on_day | {"previous day, last microsecond"}
        assert await names(TaskQuery(due_after=day)) == on_day | {"next day"}
        assert await names(TaskQuery(due_before=day, due_after=day)) == on_day

    async def test_task_list_filters_combined(self, storage: Any) -> None:
        w = TaskWorld()
        await put(storage, *w.objects())
        a, b, c = w.alice.id, w.bob.id, w.carol.id
        queries = [
            TaskQuery(visible_to=b, status=TaskStatus.PENDING),
            TaskQuery(visible_to=c, client_id=w.acme.id),
            TaskQuery(client_id=w.acme.id, priority=Priority.HIGH, status=TaskStatus.PENDING),
            TaskQuery(client_id=w.globex.id, task_type=TaskType.REVIEW_REPORT),
            TaskQuery(assigned_to=b, assigned_to_other_than=b),
            TaskQuery(assigned_to=a, text="review"),
            TaskQuery(assignee_id=c, due_after=date(2024, 3, 11)),
            TaskQuery(visible_to=a, due_before=date(2024, 3, 10), due_after=date(2024, 3, 9)),
            TaskQuery(text="alpha", priority=Priority.MEDIUM, assigned_to_other_than=a),
            TaskQuery(visible_to=b, client_id=w.globex.id, assignee_id=b, status=TaskStatus.COMPLETED,
                      task_type=TaskType.OTHER, priority=Priority.BACKLOG, text="BET",
                      due_before=date(2024, 3, 11), due_after=date(2024, 3, 11), assigned_to=b,
                      assigned_to_other_than=c),
        ]
        for query in queries:
            got = await every_page(lambda p, q=query: read(storage, lambda tx: tx.tasks.list(
                q, p, SortSpec("name", Order.ASC))), limit=2)
            expected = ordered([t for t in w.tasks if t.id in w.expect(query)], TASK_SORT_KEYS["name"],
                               lambda t: t.id, Order.ASC)
            assert ids(got) == ids(expected), query
        assert len(w.expect(queries[-1])) == 1

    @pytest.mark.parametrize("field", list(TASK_SORT_KEYS))
    @pytest.mark.parametrize("order", list(Order))
    async def test_task_list_sorts_with_ties_broken_by_id(self, storage: Any, field: str,
                                                          order: Order) -> None:
        w = TaskWorld()
        await put(storage, *w.objects())
        expected = ordered(w.tasks, TASK_SORT_KEYS[field], lambda t: t.id, order)
        got = await every_page(lambda p: read(storage, lambda tx: tx.tasks.list(
            TaskQuery(), p, SortSpec(field, order))), limit=5)
        assert ids(got) == ids(expected)
        assert got == expected
        if field == "due_date":
            assert got[-1].due_date is None and got[-2].due_date is None  # nulls last both ways

    async def test_task_list_paging(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        tasks = [make_task(client, user, created_at=at(i)) for i in range(7)]
        await put(storage, user, client, *tasks)
        newest_first = ids(reversed(tasks))
        for limit in (1, 3, 7, 10):
            got = await every_page(lambda p: read(storage, lambda tx: tx.tasks.list(
                TaskQuery(), p, SortSpec())), limit=limit)
            assert ids(got) == newest_first
        second = await read(storage, lambda tx: tx.tasks.list(TaskQuery(), PageRequest(2, 3), SortSpec()))
        assert ids(second.items) == newest_first[3:6]
        assert (second.total_items, second.total_pages, second.current_page) == (7, 3, 2)
        past = await read(storage, lambda tx: tx.tasks.list(TaskQuery(), PageRequest(9, 3), SortSpec()))
        assert list(past.items) == [] and past.total_items == 7
        filtered = await read(storage, lambda tx: tx.tasks.list(
            TaskQuery(client_id=client.id), PageRequest(2, 5), SortSpec("created_at", Order.ASC)))
        assert ids(filtered.items) == ids(tasks[5:]) and filtered.total_items == 7

    # -- comments ------------------------------------------------------------------------------------

    async def test_comment_add_get_view_save_delete(self, storage: Any) -> None:
        author, client = make_user(name="Author", email="author@example.com"), make_client()
        task = make_task(client, author)
        comment = make_comment(task, author, comment="First!", created_at=at(1), updated_at=at(1))
        await put(storage, author, client, task, comment)
        assert await read(storage, lambda tx: tx.comments.get(comment.id)) == comment
        view = await read(storage, lambda tx: tx.comments.view(comment.id))
        assert (view.id, view.task_id, view.comment, view.user_id, view.user_name, view.user_email,
                view.created_at, view.updated_at) == (comment.id, task.id, "First!", author.id, "Author",
                                                      "author@example.com", at(1), at(1))
        comment.comment, comment.updated_at = "Edited", at(2)
        async with storage.transaction() as tx:
            await tx.comments.save(comment)
        assert await read(storage, lambda tx: tx.comments.get(comment.id)) == comment
        assert (await read(storage, lambda tx: tx.comments.view(comment.id))).comment == "Edited"
        async with storage.transaction() as tx:
            await tx.comments.delete(comment.id)
        assert await read(storage, lambda tx: tx.comments.get(comment.id)) is None
        assert await read(storage, lambda tx: tx.comments.view(comment.id)) is None
        assert await read(storage, lambda tx: tx.tasks.get(task.id)) == task

    async def test_comment_missing_cases(self, storage: Any) -> None:
        author, client = make_user(), make_client()
        task = make_task(client, author)
        await put(storage, author, client, task)
        assert await read(storage, lambda tx: tx.comments.get(CommentId(new_id()))) is None
        assert await read(storage, lambda tx: tx.comments.view(CommentId(new_id()))) is None
        with pytest.raises(NotFound):
            await put(storage, make_comment(TaskId(new_id()), author))
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.comments.save(make_comment(task, author))
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.comments.delete(CommentId(new_id()))

    async def test_comment_list_oldest_first_with_authors(self, storage: Any) -> None:
        ann = make_user(name="Ann", email="ann@example.com")
        ben = make_user(name="Ben", email="ben@example.com")
        client = make_client()
        task, other_task = make_task(client, ann), make_task(client, ann)
        comments = [make_comment(task, ann if i % 2 else ben, created_at=at(10 - i // 2),
                                 updated_at=at(100 + i)) for i in range(7)]
        await put(storage, ann, ben, client, task, other_task, *comments, make_comment(other_task, ann))
        expected = ordered(comments, lambda c: c.created_at, lambda c: c.id, Order.ASC)
        got = await every_page(lambda p: read(storage, lambda tx: tx.comments.list(task.id, p)), limit=3)
        assert ids(got) == ids(expected)
        authors = {ann.id: ann, ben.id: ben}
        for view, comment in zip(got, expected, strict=True):
            author = authors[comment.user_id]
            assert (view.task_id, view.comment, view.user_id, view.user_name, view.user_email,
                    view.created_at, view.updated_at) == (task.id, comment.comment, author.id, author.name,
                                                          author.email, comment.created_at,
                                                          comment.updated_at)
        first = await read(storage, lambda tx: tx.comments.list(task.id, PageRequest(1, 3)))
        assert (first.total_items, first.total_pages) == (7, 3)
        past = await read(storage, lambda tx: tx.comments.list(task.id, PageRequest(5, 3)))
        assert list(past.items) == [] and past.total_items == 7

    async def test_comment_view_follows_author_changes(self, storage: Any) -> None:
        author, client = make_user(name="Before"), make_client()
        task = make_task(client, author)
        comment = make_comment(task, author)
        await put(storage, author, client, task, comment)
        author.name, author.email = "After", "after@example.com"
        async with storage.transaction() as tx:
            await tx.users.save(author)
        view = await read(storage, lambda tx: tx.comments.view(comment.id))
        assert (view.user_name, view.user_email) == ("After", "after@example.com")

