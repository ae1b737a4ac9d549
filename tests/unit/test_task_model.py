"""The Task entity's own rules: editing, finishing, final states and the small checks beside it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalyst_core.changes import UNCHANGED
from catalyst_core.errors import Conflict, InvalidInput
from catalyst_core.ids import ClientId, TaskId, UserId
from catalyst_core.tasks.model import (
    MAX_ASSIGNEES,
    Priority,
    Task,
    TaskChanges,
    TaskStatus,
    TaskType,
    check_assignees,
    check_comment,
    check_optional_text,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
U1, U2, U3 = (UserId(uuid.UUID(int=n)) for n in (1, 2, 3))


def a_task(**overrides: object) -> Task:
    fields: dict[str, object] = {
        "id": TaskId(uuid.UUID(int=100)), "client_id": ClientId(uuid.UUID(int=200)), "name": "Task",
        "task_type": TaskType.OTHER, "status": TaskStatus.PENDING, "priority": Priority.MEDIUM,
        "created_by": U1, "assignees": [U1, U2], "due_date": T0 + timedelta(days=3),
        "description": "desc", "related_object_id": "obj", "related_object_type": "alert_instance",
        "created_at": T0, "updated_at": T0,
    }
    return Task(**(fields | overrides))  # type: ignore[arg-type]


def test_empty_changes_only_touch_updated_at() -> None:
    task = a_task()
    before = a_task()
    assert task.edit(TaskChanges(), now=T1) == []
    assert task == a_task(updated_at=T1)
    assert before.updated_at == T0


def test_edit_sets_non_nullable_fields_given() -> None:
    task = a_task()
    task.edit(TaskChanges(name="New", task_type=TaskType.REVIEW_REPORT, priority=Priority.BACKLOG,
                          status=TaskStatus.IN_PROGRESS), now=T1)
    assert task == a_task(name="New", task_type=TaskType.REVIEW_REPORT, priority=Priority.BACKLOG,
                          status=TaskStatus.IN_PROGRESS, updated_at=T1)


def test_none_clears_nullable_fields_and_unchanged_keeps_them() -> None:
    task = a_task()
    task.edit(TaskChanges(due_date=None, description=None), now=T1)
    assert (task.due_date, task.description) == (None, None)
    assert (task.related_object_id, task.related_object_type) == ("obj", "alert_instance")
    task.edit(TaskChanges(related_object_id=None, related_object_type="x", due_date=T1), now=T1)
    assert (task.related_object_id, task.related_object_type, task.due_date) == (None, "x", T1)
    assert TaskChanges().due_date is UNCHANGED


def test_edit_assignees_returns_only_the_new_ones() -> None:
    task = a_task(assignees=[U1, U2])
    assert task.edit(TaskChanges(assignees=[U2, U3]), now=T1) == [U3]
    assert task.assignees == [U2, U3]
    assert task.edit(TaskChanges(assignees=[U3, U2]), now=T1) == []
    assert task.assignees == [U3, U2]
    assert task.edit(TaskChanges(assignees=[]), now=T1) == []
    assert task.assignees == []
    assert task.edit(TaskChanges(name="keep assignees"), now=T1) == []
    assert task.assignees == []


@pytest.mark.parametrize("status", [TaskStatus.COMPLETED, TaskStatus.CANCELLED])
def test_finish_records_who_and_when(status: TaskStatus) -> None:
    task = a_task(status=TaskStatus.IN_PROGRESS)
    task.finish(status, by=U2, now=T1)
    assert task == a_task(status=status, completed_by=U2, completed_at=T1, updated_at=T1)
    assert task.status.is_final


@pytest.mark.parametrize("status", [TaskStatus.COMPLETED, TaskStatus.CANCELLED])
def test_final_tasks_refuse_every_change(status: TaskStatus) -> None:
    task = a_task()
    task.finish(status, by=U1, now=T0)
    frozen = a_task(status=status, completed_by=U1, completed_at=T0)
    assert task == frozen
    for attempt in (
        lambda: task.finish(TaskStatus.COMPLETED, by=U2, now=T1),
        lambda: task.finish(TaskStatus.CANCELLED, by=U2, now=T1),
        lambda: task.edit(TaskChanges(status=TaskStatus.PENDING), now=T1),
        lambda: task.edit(TaskChanges(name="x", assignees=[U3]), now=T1),
        lambda: task.edit(TaskChanges(), now=T1),
    ):
        with pytest.raises(Conflict):
            attempt()
        assert task == frozen


def test_open_statuses_are_not_final() -> None:
    assert not TaskStatus.PENDING.is_final and not TaskStatus.IN_PROGRESS.is_final


@pytest.mark.parametrize("status", [TaskStatus.COMPLETED, TaskStatus.CANCELLED])
def test_changes_cannot_close_a_task(status: TaskStatus) -> None:
    with pytest.raises(InvalidInput) as caught:
        TaskChanges(status=status)
    assert set(caught.value.fields) == {"status"}
    assert TaskChanges(status=TaskStatus.IN_PROGRESS).status is TaskStatus.IN_PROGRESS


def test_priority_ranks() -> None:
    assert sorted(Priority, key=lambda p: p.rank) == [Priority.BACKLOG, Priority.LOW, Priority.MEDIUM,
                                                      Priority.HIGH]
    assert [p.value for p in Priority] == ["Backlog", "Low", "Medium", "High"]


def test_check_comment() -> None:
    assert check_comment("  hi there \n") == "hi there"
    for bad in ("", "   ", "\n\t", "x" * 10_001):
        with pytest.raises(InvalidInput) as caught:
            check_comment(bad)
        assert set(caught.value.fields) == {"comment"}
    assert check_comment("x" * 10_000) == "x" * 10_000


def test_check_assignees_dedups_in_order_and_caps() -> None:
    assert check_assignees([U2, U1, U2, U3, U1]) == [U2, U1, U3]
    many = [UserId(uuid.UUID(int=n)) for n in range(1, MAX_ASSIGNEES + 2)]
    assert check_assignees(many[:MAX_ASSIGNEES]) == many[:MAX_ASSIGNEES]
    assert check_assignees(many[:MAX_ASSIGNEES] + many[:3]) == many[:MAX_ASSIGNEES]
    with pytest.raises(InvalidInput) as caught:
        check_assignees(many)
    assert set(caught.value.fields) == {"assignees"}


def test_check_optional_text() -> None:
    assert check_optional_text(None, "description", 3) is None
    assert check_optional_text("abc", "description", 3) == "abc"
    with pytest.raises(InvalidInput) as caught:
        check_optional_text("abcd", "description", 3)
    assert set(caught.value.fields) == {"description"}
