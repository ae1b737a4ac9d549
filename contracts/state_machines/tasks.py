"""The tasks machine: lifecycle, assignees, comments and the events they send, driven through
TasksService and compared with a plain model."""

from __future__ import annotations

import uuid
from datetime import datetime

from attrs import define
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from catalyst_adapters.notifier import RecordingNotifier
from catalyst_contracts import strategies as cs
from catalyst_contracts.state_machines.common import ServiceMachine
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from catalyst_core.events import CommentAdded, Event, TaskAssigned, TaskCancelled, TaskCompleted
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import NewTask, Priority, TaskChanges, TaskStatus, TaskType
from catalyst_core.tasks.service import TaskFilters, TasksService


@define
class ModelTask:
    id: TaskId
    client_id: ClientId
    name: str
    created_by: UserId
    assignees: list[UserId]
    priority: Priority
    task_type: TaskType
    created_at: datetime
    status: TaskStatus = TaskStatus.PENDING


@define
class ModelComment:
    id: CommentId
    task_id: TaskId
    author: UserId
    text: str
    created_at: datetime


CAST = ("admin", "member1", "member2", "viewer", "outsider", "root")


class TasksMachine(ServiceMachine):
    """Client `acme`: admin (admin), member1 and member2 (members), viewer (viewer). Client `globex`:
    outsider (admin) and member2 (member). root is a platform admin. Roles in acme change as it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.notifier = RecordingNotifier()
        self.tasks = TasksService(self.storage, self.clock, self.notifier, self.ids)
        self.names: dict[UserId, tuple[str, str]] = {}
        self.roles: dict[ClientId, dict[UserId, ClientRole]] = {}
        self.model: dict[TaskId, ModelTask] = {}
        self.comments: dict[CommentId, ModelComment] = {}
        self.gone_tasks: list[TaskId] = [TaskId(uuid.uuid4())]
        self.gone_comments: list[CommentId] = [CommentId(uuid.uuid4())]
        self.expected_events: list[Event] = []

    @initialize()
    def cast(self) -> None:
        for user in self.register_cast(CAST):
            self.names[user.id] = (user.name, user.email)
        p = self.people
        acme = self.run(self.clients.create(self.actors[p["admin"]], "Acme")).client.id
        globex = self.run(self.clients.create(self.actors[p["outsider"]], "Globex")).client.id
        for client_id, who, role in ((acme, "member1", ClientRole.MEMBER),
                                     (acme, "member2", ClientRole.MEMBER),
                                     (acme, "viewer", ClientRole.VIEWER),
                                     (globex, "member2", ClientRole.MEMBER)):
            admin = self.actors[p["admin"] if client_id == acme else p["outsider"]]
            self.run(self.clients.add_member(admin, client_id, f"{who}@example.com", role))
        self.acme, self.globex = acme, globex
        self.roles = {
            acme: {p["admin"]: ClientRole.ADMIN, p["member1"]: ClientRole.MEMBER,
                   p["member2"]: ClientRole.MEMBER, p["viewer"]: ClientRole.VIEWER},
            globex: {p["outsider"]: ClientRole.ADMIN, p["member2"]: ClientRole.MEMBER},
        }
        # A few tasks and a comment up front: hypothesis disables some rules in each example (swarm
        # testing), and the other rules need something to work on even when create_task is off.
        for client_id, creator, assignees in ((acme, "member1", ["member2", "admin"]), (acme, "admin", []),
                                              (globex, "member2", ["outsider"])):
            ids = [p[a] for a in assignees]
            task = self.run(self.tasks.create(self.actors[p[creator]], NewTask(client_id, f"Seed {creator}",
                                                                               assignees=ids)))
            self.model[task.id] = ModelTask(task.id, client_id, task.name, p[creator], ids, task.priority,
                                            task.task_type, self.clock.now())
            if ids:
                self.expected_events.append(TaskAssigned(occurred_at=self.clock.now(), task_id=task.id,
                                                         client_id=client_id, assignees=tuple(ids),
                                                         by=p[creator]))
        first = min(self.model)
        view = self.run(self.tasks.add_comment(self.actors[p["member2"]], first, "Seed comment"))
        self.comments[view.id] = ModelComment(view.id, first, p["member2"], view.comment, self.clock.now())
        self.expected_events.append(CommentAdded(occurred_at=self.clock.now(), comment_id=view.id,
                                                 task_id=first, client_id=acme, by=p["member2"]))

    # -- model helpers -------------------------------------------------------------------------------

    def _role(self, user_id: UserId, client_id: ClientId) -> ClientRole | None:
        if self.actors[user_id].is_platform_admin:
            return ClientRole.ADMIN
        return self.roles[client_id].get(user_id)

    def _task_access(self, user_id: UserId, task_id: TaskId) -> tuple[type[DomainError] | None,
                                                                       ClientRole | None]:
        """NotFound when the task is gone or its client invisible to the actor, else the actor's role."""
        task = self.model.get(task_id)
        if task is None:
            return NotFound, None
        role = self._role(user_id, task.client_id)
        return (NotFound, None) if role is None else (None, role)

    def _strangers(self, client_id: ClientId, user_ids: list[UserId]) -> bool:
        return any(u not in self.roles[client_id] for u in user_ids)

    def _draw_user(self, data: st.DataObject, label: str) -> UserId:
        return self.people[data.draw(st.sampled_from(CAST), label=label)]

    def _draw_task(self, data: st.DataObject) -> TaskId:
        """A live task most of the time, now and then one that was deleted (or never existed)."""
        known = sorted(self.model)
        return data.draw(st.sampled_from([*known, *known, self.gone_tasks[-1]]), label="task")

    def _draw_actor(self, data: st.DataObject, task_id: TaskId | None,
                    author: UserId | None = None) -> UserId:
        """Half the time someone who may write in the task's client (or the comment's author)."""
        anyone = st.sampled_from([self.people[w] for w in CAST])
        task = self.model.get(task_id) if task_id is not None else None
        if task is None:
            return data.draw(anyone, label="actor")
        writers = sorted(u for u, r in self.roles[task.client_id].items() if r.at_least(ClientRole.MEMBER))
        likely = [author, author, *writers] if author is not None else [task.created_by, *writers]
        return data.draw(st.sampled_from(likely) | anyone, label="actor")

    def _draw_assignees(self, data: st.DataObject, client_id: ClientId | None) -> list[UserId]:
        """Mostly the client's members (so edits succeed), sometimes anyone (InvalidInput)."""
        everyone = st.sampled_from([self.people[w] for w in CAST])
        members = st.sampled_from(sorted(self.roles[client_id])) if client_id in self.roles else everyone
        return data.draw(st.lists(members, max_size=4) | st.lists(everyone, max_size=4), label="assignees")

    # -- rules ---------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model) < 12)
    @rule(data=st.data(), name=cs.names(30), priority=cs.priorities(), task_type=cs.task_types(),
          due=cs.due_dates(), description=cs.descriptions())
    def create_task(self, data: st.DataObject, name: str, priority: Priority, task_type: TaskType,
                    due: datetime | None, description: str | None) -> None:
        actor = self._draw_user(data, "actor")
        client_id = data.draw(st.sampled_from([self.acme, self.globex]), label="client")
        assignees = self._draw_assignees(data, client_id)
        role = self._role(actor, client_id)
        expected: type[DomainError] | None = (
            NotFound if role is None else Forbidden if not role.at_least(ClientRole.MEMBER)
            else InvalidInput if self._strangers(client_id, assignees) else None)
        new = NewTask(client_id=client_id, name=name, task_type=task_type, priority=priority,
                      assignees=assignees, due_date=due, description=description)
        task = self.attempt(self.tasks.create(self.actors[actor], new), expected)
        if task is None:
            return
        unique = list(dict.fromkeys(assignees))
        assert (task.name, task.status, task.assignees, task.created_by, task.due_date) == (
            name, TaskStatus.PENDING, unique, actor, due)
        self.model[task.id] = ModelTask(task.id, client_id, name, actor, unique, priority, task_type,
                                        self.clock.now())
        if unique:
            self.expected_events.append(TaskAssigned(occurred_at=self.clock.now(), task_id=task.id,
                                                     client_id=client_id, assignees=tuple(unique), by=actor))

    @rule(data=st.data(), status=st.none() | cs.open_statuses(), name=st.none() | cs.names(30),
          priority=st.none() | cs.priorities(), change_assignees=st.booleans())
    def edit_task(self, data: st.DataObject, status: TaskStatus | None, name: str | None,
                  priority: Priority | None, change_assignees: bool) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        known = self.model.get(task_id)
        assignees = self._draw_assignees(data, known and known.client_id) if change_assignees else None
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            task = self.model[task_id]
            assert role is not None
            if not role.at_least(ClientRole.MEMBER):
                expected = Forbidden
            elif assignees is not None and self._strangers(task.client_id, assignees):
                expected = InvalidInput
            elif task.status.is_final:
                expected = Conflict
        changes = TaskChanges(name=name, priority=priority, status=status, assignees=assignees)
        result = self.attempt(self.tasks.update(self.actors[actor], task_id, changes), expected)
        if result is None:
            return
        task = self.model[task_id]
        task.name = name if name is not None else task.name
        task.priority = priority if priority is not None else task.priority
        task.status = status if status is not None else task.status
        if assignees is not None:
            unique = list(dict.fromkeys(assignees))
            added = [a for a in unique if a not in task.assignees]
            task.assignees = unique
            if added:
                self.expected_events.append(TaskAssigned(
                    occurred_at=self.clock.now(), task_id=task_id, client_id=task.client_id,
                    assignees=tuple(added), by=actor))
        assert (result.name, result.priority, result.status, result.assignees) == (
            task.name, task.priority, task.status, task.assignees)
        assert result.updated_at == self.clock.now()

    @rule(data=st.data(), complete=st.booleans())
    def finish_task(self, data: st.DataObject, complete: bool) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            assert role is not None
            expected = (Forbidden if not role.at_least(ClientRole.MEMBER)
                        else Conflict if self.model[task_id].status.is_final else None)
        action = self.tasks.complete if complete else self.tasks.cancel
        result = self.attempt(action(self.actors[actor], task_id), expected)
        if result is None:
            return
        task = self.model[task_id]
        task.status = TaskStatus.COMPLETED if complete else TaskStatus.CANCELLED
        assert (result.status, result.completed_by, result.completed_at) == (task.status, actor,
                                                                             self.clock.now())
        event_type = TaskCompleted if complete else TaskCancelled
        self.expected_events.append(event_type(occurred_at=self.clock.now(), task_id=task_id,
                                               client_id=task.client_id, by=actor))

    @rule(data=st.data())
    def delete_task(self, data: st.DataObject) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            assert role is not None
            is_creator = self.model[task_id].created_by == actor and role.at_least(ClientRole.MEMBER)
            expected = None if is_creator or role is ClientRole.ADMIN else Forbidden
        self.attempt(self.tasks.delete(self.actors[actor], task_id), expected)
        if expected is None:
            del self.model[task_id]
            self.gone_tasks.append(task_id)
            for comment_id in [c.id for c in self.comments.values() if c.task_id == task_id]:
                del self.comments[comment_id]
                self.gone_comments.append(comment_id)
        # Whatever happened, the task is gone or unchanged: check it directly.
        root = self.actors[self.people["root"]]
        self.attempt(self.tasks.get(root, task_id), None if task_id in self.model else NotFound)

    @rule(data=st.data(), text=cs.comment_texts())
    def add_comment(self, data: st.DataObject, text: str) -> None:
        task_id = self._draw_task(data)
        actor = self._draw_actor(data, task_id)
        expected, role = self._task_access(actor, task_id)
        if expected is None:
            assert role is not None
            expected = None if role.at_least(ClientRole.MEMBER) else Forbidden
        view = self.attempt(self.tasks.add_comment(self.actors[actor], task_id, text), expected)
        if view is None:
            return
        assert (view.task_id, view.user_id, view.comment) == (task_id, actor, text)
        assert (view.user_name, view.user_email) == self.names[actor]
        self.comments[view.id] = ModelComment(view.id, task_id, actor, text, self.clock.now())
        self.expected_events.append(CommentAdded(occurred_at=self.clock.now(), comment_id=view.id,
                                                 task_id=task_id, client_id=self.model[task_id].client_id,
                                                 by=actor))

    def _draw_comment(self, data: st.DataObject) -> CommentId:
        known = sorted(self.comments)
        return data.draw(st.sampled_from([*known, *known, self.gone_comments[-1]]), label="comment")

    def _comment_access(self, actor: UserId, comment_id: CommentId) -> tuple[type[DomainError] | None,
                                                                             ClientRole | None]:
        comment = self.comments.get(comment_id)
        if comment is None:
            return NotFound, None
        return self._task_access(actor, comment.task_id)

    @rule(data=st.data(), text=cs.comment_texts())
    def edit_comment(self, data: st.DataObject, text: str) -> None:
        comment_id = self._draw_comment(data)
        known = self.comments.get(comment_id)
        actor = self._draw_actor(data, known.task_id if known else None, known.author if known else None)
        expected, role = self._comment_access(actor, comment_id)
        if expected is None:
            assert role is not None
            is_author = self.comments[comment_id].author == actor
            expected = None if role.at_least(ClientRole.MEMBER) and is_author else Forbidden
        view = self.attempt(self.tasks.update_comment(self.actors[actor], comment_id, text), expected)
        if view is not None:
            assert (view.id, view.comment, view.updated_at) == (comment_id, text, self.clock.now())
            self.comments[comment_id].text = text

    @rule(data=st.data())
    def delete_comment(self, data: st.DataObject) -> None:
        comment_id = self._draw_comment(data)
        known = self.comments.get(comment_id)
        actor = self._draw_actor(data, known.task_id if known else None, known.author if known else None)
        expected, role = self._comment_access(actor, comment_id)
        if expected is None:
            assert role is not None
            is_author = self.comments[comment_id].author == actor and role.at_least(ClientRole.MEMBER)
            expected = None if is_author or role is ClientRole.ADMIN else Forbidden
        self.attempt(self.tasks.delete_comment(self.actors[actor], comment_id), expected)
        if expected is None:
            del self.comments[comment_id]
            self.gone_comments.append(comment_id)

    @rule(data=st.data(), role=st.sampled_from([ClientRole.MEMBER, ClientRole.VIEWER]))
    def change_acme_role(self, data: st.DataObject, role: ClientRole) -> None:
        who = self.people[data.draw(st.sampled_from(["member1", "member2", "viewer"]), label="who")]
        self.run(self.clients.change_member_role(self.actors[self.people["admin"]], self.acme, who, role))
        self.roles[self.acme][who] = role

    # -- invariants ----------------------------------------------------------------------------------

    def _listed(self, actor: UserId, status: TaskStatus | None) -> list[TaskId]:
        items: list[TaskId] = []
        number = 1
        while True:
            page = self.run(self.tasks.list(self.actors[actor], TaskFilters(status=status),
                                            PageRequest(number, 5), SortSpec()))
            items.extend(t.id for t in page.items)
            if len(page.items) < 5:
                assert page.total_items == len(items)
                return items
            number += 1

    def _expected_list(self, actor: UserId, status: TaskStatus | None) -> list[TaskId]:
        rows = [t for t in self.model.values()
                if (status is None or t.status is status) and self._role(actor, t.client_id) is not None]
        return [t.id for t in sorted(rows, key=lambda t: (t.created_at, t.id), reverse=True)]

    @invariant()
    def task_lists_match_the_model(self) -> None:
        if not self.people:
            return
        self.steps += 1
        root = self.people["root"]
        assert self._listed(root, None) == self._expected_list(root, None)
        # Each status filter in turn, and one ordinary user's view (only their clients' tasks).
        status = list(TaskStatus)[self.steps % 4]
        assert self._listed(root, status) == self._expected_list(root, status), status
        who = self.people[CAST[self.steps % 5]]
        assert self._listed(who, status) == self._expected_list(who, status)

    @invariant()
    def comments_match_the_model(self) -> None:
        if not self.people:
            return
        root = self.actors[self.people["root"]]
        # Every task with comments, and in turn one more (a task without any must list none).
        commented = {c.task_id for c in self.comments.values()}
        ordered_ids = sorted(self.model)
        if ordered_ids:
            commented.add(ordered_ids[self.steps % len(ordered_ids)])
        for task_id in sorted(commented):
            page = self.run(self.tasks.list_comments(root, task_id, PageRequest(1, 100)))
            expected = sorted((c for c in self.comments.values() if c.task_id == task_id),
                              key=lambda c: (c.created_at, c.id))
            assert [(v.id, v.user_id, v.comment, v.user_name) for v in page.items] == [
                (c.id, c.author, c.text, self.names[c.author][0]) for c in expected]

    @invariant()
    def events_match_the_model(self) -> None:
        assert self.notifier.events == self.expected_events

