"""Use cases of tasks and their comments: each is one transaction; events leave after commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from attrs import evolve, frozen

from catalyst_core.access import require, role_in, role_over
from catalyst_core.auth.model import Actor, check_name
from catalyst_core.changes import UNCHANGED
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Forbidden, InvalidInput, NotFound, check_each
from catalyst_core.events import CommentAdded, TaskAssigned, TaskCancelled, TaskCompleted
from catalyst_core.ids import ClientId, CommentId, IdFactory, TaskId, UserId
from catalyst_core.notifications import Publisher
from catalyst_core.paging import Page, PageRequest, SortSpec
from catalyst_core.ports import Clock, Notifier, Storage, Transaction
from catalyst_core.tasks.model import (
    MAX_DESCRIPTION,
    MAX_RELATED_ID,
    MAX_RELATED_TYPE,
    MAX_TASK_NAME,
    TASK_SORT_FIELDS,
    Comment,
    CommentView,
    NewTask,
    Priority,
    Task,
    TaskChanges,
    TaskQuery,
    TaskStatus,
    TaskType,
    check_assignees,
    check_comment,
    check_optional_text,
)


@frozen
class TaskFilters:
    """The list filters as a caller states them; `by_me`/`other_people` are relative to the actor."""

    client_id: ClientId | None = None
    status: TaskStatus | None = None
    task_type: TaskType | None = None
    priority: Priority | None = None
    by_me: bool = False
    other_people: bool = False
    assignee_id: UserId | None = None
    q: str | None = None
    due_before: date | None = None
    due_after: date | None = None


_TEXT_LIMITS = {"description": MAX_DESCRIPTION, "related_object_id": MAX_RELATED_ID,
                "related_object_type": MAX_RELATED_TYPE}


def _task_name(raw: str) -> str:
    return check_name(raw, max_length=MAX_TASK_NAME)


def _text(field: str) -> Callable[[str], str | None]:
    return lambda raw: check_optional_text(raw, field, _TEXT_LIMITS[field])


class TasksService:
    def __init__(self, storage: Storage, clock: Clock, notifier: Notifier, ids: IdFactory) -> None:
        self.storage, self.clock, self.ids = storage, clock, ids
        self.publisher = Publisher(notifier, ids)

    # -- tasks -----------------------------------------------------------------------------------

    async def create(self, actor: Actor, new: NewTask) -> Task:
        name, assignees, description, related_id, related_type = check_each(
            (_task_name, new.name), (check_assignees, new.assignees),
            *((_text(field), getattr(new, field)) for field in _TEXT_LIMITS))
        now = self.clock.now()
        task = Task(
            id=TaskId(self.ids()), client_id=new.client_id,
            name=name, task_type=new.task_type,
            status=TaskStatus.PENDING, priority=new.priority, created_by=actor.user_id,
            assignees=assignees, due_date=new.due_date, description=description,
            related_object_id=related_id, related_object_type=related_type,
            created_at=now, updated_at=now,
        )
        events = [TaskAssigned(occurred_at=now, task_id=task.id, client_id=task.client_id,
                               assignees=tuple(assignees), by=actor.user_id)] if assignees else []
        async with self.storage.transaction(brief=True) as tx:
            require(await role_in(tx, actor, new.client_id), ClientRole.MEMBER, "creating tasks")
            await self._check_members(tx, task.client_id, assignees, "assignees")
            await tx.tasks.add(task)
            await self.publisher.stage(tx, events)
        await self.publisher.publish(events)
        return task

    async def get(self, actor: Actor, task_id: TaskId) -> Task:
        async with self.storage.transaction(write=False) as tx:
            task, _ = await self._visible_task(tx, actor, task_id)
        return task

    async def list(self, actor: Actor, filters: TaskFilters, page: PageRequest,
                   sort: SortSpec) -> Page[Task]:
        sort = sort.checked(TASK_SORT_FIELDS)
        text = filters.q.strip() if filters.q else None
        query = TaskQuery(
            visible_to=None if actor.is_platform_admin or filters.client_id else actor.user_id,
            client_id=filters.client_id, status=filters.status, task_type=filters.task_type,
            priority=filters.priority,
            assigned_to=actor.user_id if filters.by_me else None,
            assigned_to_other_than=actor.user_id if filters.other_people else None,
            assignee_id=filters.assignee_id, text=text or None,
            due_before=filters.due_before, due_after=filters.due_after,
        )
        async with self.storage.transaction(write=False) as tx:
            if filters.client_id is not None:
                await role_in(tx, actor, filters.client_id)
            return await tx.tasks.list(query, page, sort)

    async def update(self, actor: Actor, task_id: TaskId, changes: TaskChanges) -> Task:
        # Every field is checked before raising, so one 422 names all the offending ones.
        name, assignees, *_ = check_each(
            (_task_name, changes.name), (check_assignees, changes.assignees),
            *((_text(field), None if getattr(changes, field) is UNCHANGED else getattr(changes, field))
              for field in _TEXT_LIMITS))
        changes = evolve(changes, name=name, assignees=assignees)
        now = self.clock.now()
        async with self.storage.transaction(brief=True) as tx:
            task, role = await self._visible_task(tx, actor, task_id, for_update=True)
            require(role, ClientRole.MEMBER, "editing tasks")
            if changes.assignees is not None:
                await self._check_members(tx, task.client_id, changes.assignees, "assignees")
            added = task.edit(changes, now=now)
            await tx.tasks.save(task)
            events = [TaskAssigned(occurred_at=now, task_id=task.id, client_id=task.client_id,
                                   assignees=tuple(added), by=actor.user_id)] if added else []
            await self.publisher.stage(tx, events)
        await self.publisher.publish(events)
        return task

    async def complete(self, actor: Actor, task_id: TaskId, completed_by: UserId | None = None) -> Task:
        return await self._finish(actor, task_id, TaskStatus.COMPLETED, completed_by)

    async def cancel(self, actor: Actor, task_id: TaskId, completed_by: UserId | None = None) -> Task:
        return await self._finish(actor, task_id, TaskStatus.CANCELLED, completed_by)

    async def delete(self, actor: Actor, task_id: TaskId) -> None:
        """The task's creator (still a member) or a client admin may delete it, with its comments."""
        async with self.storage.transaction() as tx:
            task, role = await self._visible_task(tx, actor, task_id, for_update=True)
            is_creator = task.created_by == actor.user_id and role.at_least(ClientRole.MEMBER)
            if not (is_creator or role is ClientRole.ADMIN):
                raise Forbidden("only the task's creator or a client admin may delete it")
            await tx.tasks.delete(task_id)

    # -- comments --------------------------------------------------------------------------------

    async def list_comments(self, actor: Actor, task_id: TaskId, page: PageRequest) -> Page[CommentView]:
        async with self.storage.transaction(write=False) as tx:
            await self._visible_task(tx, actor, task_id)
            return await tx.comments.list(task_id, page)

    async def add_comment(self, actor: Actor, task_id: TaskId, text: str) -> CommentView:
        text = check_comment(text)
        now = self.clock.now()
        comment = Comment(id=CommentId(self.ids()), task_id=task_id, user_id=actor.user_id, comment=text,
                          created_at=now, updated_at=now)
        async with self.storage.transaction(brief=True) as tx:
            task, role = await self._visible_task(tx, actor, task_id)
            require(role, ClientRole.MEMBER, "commenting")
            await tx.comments.add(comment)
            view = await tx.comments.view(comment.id)
            events = [CommentAdded(occurred_at=now, comment_id=comment.id, task_id=task_id,
                                   client_id=task.client_id, by=actor.user_id)]
            await self.publisher.stage(tx, events)
        await self.publisher.publish(events)
        assert view is not None
        return view

    async def update_comment(self, actor: Actor, comment_id: CommentId, text: str) -> CommentView:
        text = check_comment(text)
        async with self.storage.transaction(brief=True) as tx:
            comment, role = await self._visible_comment(tx, actor, comment_id)
            require(role, ClientRole.MEMBER, "editing comments")
            if comment.user_id != actor.user_id:
                raise Forbidden("only its author may edit a comment")
            comment.comment, comment.updated_at = text, self.clock.now()
            await tx.comments.save(comment)
            view = await tx.comments.view(comment_id)
        assert view is not None
        return view

    async def delete_comment(self, actor: Actor, comment_id: CommentId) -> None:
        async with self.storage.transaction(brief=True) as tx:
            comment, role = await self._visible_comment(tx, actor, comment_id)
            is_author = comment.user_id == actor.user_id and role.at_least(ClientRole.MEMBER)
            if not (is_author or role is ClientRole.ADMIN):
                raise Forbidden("only its author or a client admin may delete a comment")
            await tx.comments.delete(comment_id)

    # -- helpers ---------------------------------------------------------------------------------

    async def _finish(self, actor: Actor, task_id: TaskId, status: TaskStatus,
                      completed_by: UserId | None) -> Task:
        now = self.clock.now()
        by = completed_by or actor.user_id
        async with self.storage.transaction(brief=True) as tx:
            task, role = await self._visible_task(tx, actor, task_id, for_update=True)
            require(role, ClientRole.MEMBER, f"marking tasks {status.value}")
            if by != actor.user_id:
                await self._check_members(tx, task.client_id, [by], "completed_by")
            task.finish(status, by=by, now=now)
            await tx.tasks.save(task)
            event_type = TaskCompleted if status is TaskStatus.COMPLETED else TaskCancelled
            events = [event_type(occurred_at=now, task_id=task.id, client_id=task.client_id, by=by)]
            await self.publisher.stage(tx, events)
        await self.publisher.publish(events)
        return task

    @staticmethod
    async def _visible_task(tx: Transaction, actor: Actor, task_id: TaskId, *,
                            for_update: bool = False) -> tuple[Task, ClientRole]:
        # Changes lock the task, so concurrent changes take turns on every storage (an edit racing
        # a completion: the completion then sees the edit instead of failing on a stale version).
        task = await tx.tasks.get(task_id, for_update=for_update)
        if task is None:
            raise NotFound("task not found")
        return task, await role_over(tx, actor, task.client_id, "task not found")

    async def _visible_comment(self, tx: Transaction, actor: Actor,
                               comment_id: CommentId) -> tuple[Comment, ClientRole]:
        comment = await tx.comments.get(comment_id)
        if comment is None:
            raise NotFound("comment not found")
        try:
            _, role = await self._visible_task(tx, actor, comment.task_id)
        except NotFound:
            raise NotFound("comment not found") from None
        return comment, role

    @staticmethod
    async def _check_members(tx: Transaction, client_id: ClientId, user_ids: Sequence[UserId],
                             field: str) -> None:
        if not user_ids:
            return
        strangers = await tx.members.non_members(client_id, user_ids)
        if strangers:
            raise InvalidInput({field: "not members of this client: " + ", ".join(map(str, strangers))})
