"""The task lifecycle over HTTP: pending <-> in_progress, complete and cancel (final states, 409s
after), completed_by rules, concurrent closes, and the events sent after each commit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_core.events import TaskAssigned, TaskCancelled, TaskCompleted
from tests.helpers import START, Caller, add_member, register, team


async def make_task(caller: Caller, client: str, **extra: Any) -> dict[str, Any]:
    status, reply = await caller.post("/tasks", json={"client_id": client, "name": "Task", **extra})
    assert status == 201, reply
    return reply["data"]


async def current(caller: Caller, task_id: str) -> dict[str, Any]:
    status, reply = await caller.get(f"/tasks/{task_id}")
    assert status == 200
    return reply["data"]


async def test_pending_and_in_progress_go_back_and_forth(api: Any, clock: FrozenClock) -> None:
    alice, bob, client = await team(api)
    task = await make_task(alice, client)
    for n, status_value in enumerate(("in_progress", "pending", "in_progress", "in_progress"), start=1):
        clock.advance(minutes=1)
        status, reply = await bob.patch(f"/tasks/{task['id']}", json={"status": status_value})
        assert status == 200, reply
        assert reply["data"]["status"] == status_value
        assert reply["data"]["updated_at"] == f"2024-03-01T09:0{n}:00Z"
        assert reply["data"]["completed_by"] is None and reply["data"]["completed_at"] is None
    assert (await current(alice, task["id"]))["status"] == "in_progress"
    assert api.notifier.events == []


@pytest.mark.parametrize(("action", "final", "event_type", "message"), [
    ("complete", "completed", TaskCompleted, "Task completed"),
    ("cancel", "cancelled", TaskCancelled, "Task cancelled"),
])
async def test_close_records_who_and_when_then_notifies(api: Any, clock: FrozenClock, action: str,
                                                       final: str, event_type: type, message: str) -> None:
    alice, bob, client = await team(api)
    task = await make_task(alice, client, assignees=[bob.id])
    api.notifier.clear()
    clock.advance(hours=2)
    status, reply = await bob.post(f"/tasks/{task['id']}/{action}")
    assert status == 200, reply
    assert reply["message"] == message
    closed = reply["data"]
    assert closed == {**task, "status": final, "completed_by": bob.id, "completed_at": "2024-03-01T11:00:00Z",
                      "updated_at": "2024-03-01T11:00:00Z"}
    assert await current(alice, task["id"]) == closed
    [event] = api.notifier.events
    assert type(event) is event_type
    assert (str(event.task_id), str(event.client_id), str(event.by)) == (task["id"], client, bob.id)
    assert event.occurred_at == datetime(2024, 3, 1, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize("action", ["complete", "cancel"])
async def test_completed_by_may_name_another_member(api: Any, action: str) -> None:
    alice, bob, client = await team(api)
    vic = await register(api, "Vic")
    await add_member(alice, client, vic, role="viewer")
    for who in (bob, vic):
        task = await make_task(alice, client)
        api.notifier.clear()
        status, reply = await alice.post(f"/tasks/{task['id']}/{action}", json={"completed_by": who.id})
        assert status == 200, reply
        assert reply["data"]["completed_by"] == who.id
        [event] = api.notifier.events
        assert str(event.by) == who.id
    task = await make_task(alice, client)
    status, reply = await alice.post(f"/tasks/{task['id']}/{action}", json={"completed_by": alice.id})
    assert status == 200 and reply["data"]["completed_by"] == alice.id
    task = await make_task(alice, client)
    status, reply = await alice.post(f"/tasks/{task['id']}/{action}", json={})
    assert status == 200 and reply["data"]["completed_by"] == alice.id


@pytest.mark.parametrize("action", ["complete", "cancel"])
async def test_bad_completed_by_is_422_and_writes_nothing(api: Any, action: str) -> None:
    alice, _, client = await team(api)
    eve = await register(api, "Eve")
    task = await make_task(alice, client)
    api.notifier.clear()
    cases = [
        ({"completed_by": eve.id}, "completed_by", eve.id),
        ({"completed_by": str(uuid.UUID(int=7))}, "completed_by", str(uuid.UUID(int=7))),
        ({"completed_by": "nope"}, "completed_by", None),
        ({"completed_by": 12}, "completed_by", None),
        ({"completed_by": alice.id, "extra": 1}, "extra", None),
    ]
    for body, field, named in cases:
        status, reply = await alice.post(f"/tasks/{task['id']}/{action}", json=body)
        assert status == 422, (body, reply)
        [detail] = reply["detail"]
        assert detail["field"] == field
        if named:
            assert named in detail["message"]
    status, reply = await alice.post(f"/tasks/{task['id']}/{action}", data="{",
                                     headers={"Content-Type": "application/json"})
    assert status == 400
    assert await current(alice, task["id"]) == task
    assert api.notifier.events == []


async def test_closed_tasks_are_final(api: Any, clock: FrozenClock) -> None:
    alice, bob, client = await team(api)
    done = await make_task(alice, client)
    dropped = await make_task(alice, client, assignees=[bob.id])
    progressing = await make_task(alice, client)
    assert (await bob.patch(f"/tasks/{progressing['id']}", json={"status": "in_progress"}))[0] == 200
    assert (await bob.post(f"/tasks/{done['id']}/complete"))[0] == 200
    assert (await bob.post(f"/tasks/{dropped['id']}/cancel"))[0] == 200
    status, reply = await bob.post(f"/tasks/{progressing['id']}/complete")
    assert status == 200 and reply["data"]["status"] == "completed"  # in_progress may be completed too
    clock.advance(minutes=10)
    api.notifier.clear()
    for task in (done, dropped, progressing):
        before = await current(alice, task["id"])
        attempts = [
            ("post", f"/tasks/{task['id']}/complete", None),
            ("post", f"/tasks/{task['id']}/cancel", None),
            ("patch", f"/tasks/{task['id']}", {"status": "pending"}),
            ("patch", f"/tasks/{task['id']}", {"status": "in_progress"}),
            ("patch", f"/tasks/{task['id']}", {"name": "renamed"}),
            ("patch", f"/tasks/{task['id']}", {"assignees": [alice.id]}),
            ("patch", f"/tasks/{task['id']}", {"description": None}),
            ("patch", f"/tasks/{task['id']}", {}),
        ]
        for method, path, body in attempts:
            status, reply = await getattr(alice, method)(path, json=body)
            assert status == 409, (method, path, body, reply)
            assert reply["status_code"] == 409 and "data" not in reply
        assert await current(alice, task["id"]) == before
    assert api.notifier.events == []
    # A closed task can still be read, commented on and deleted.
    assert (await bob.post(f"/tasks/{done['id']}/comments", json={"comment": "late note"}))[0] == 201
    assert (await alice.delete(f"/tasks/{done['id']}"))[0] == 200


async def test_patch_cannot_close_a_task(api: Any) -> None:
    alice, _, client = await team(api)
    task = await make_task(alice, client)
    for final in ("completed", "cancelled"):
        status, reply = await alice.patch(f"/tasks/{task['id']}", json={"status": final})
        assert status == 422 and [d["field"] for d in reply["detail"]] == ["status"]
    assert await current(alice, task["id"]) == task


async def test_close_unknown_or_malformed_task(api: Any) -> None:
    alice, _, _ = await team(api)
    for action in ("complete", "cancel"):
        assert (await alice.post(f"/tasks/{uuid.uuid4()}/{action}"))[0] == 404
        status, reply = await alice.post(f"/tasks/bad-id/{action}")
        assert status == 422 and reply["detail"][0]["field"] == "task_id"
    assert api.notifier.events == []


@pytest.mark.parametrize("actions", [("complete", "complete"), ("complete", "cancel"), ("cancel", "cancel")])
async def test_concurrent_closes_exactly_one_wins(api: Any, actions: tuple[str, str]) -> None:
    alice, bob, client = await team(api)
    for _ in range(3):
        task = await make_task(alice, client)
        api.notifier.clear()
        results = await asyncio.gather(alice.post(f"/tasks/{task['id']}/{actions[0]}"),
                                       bob.post(f"/tasks/{task['id']}/{actions[1]}"))
        assert sorted(status for status, _ in results) == [200, 409], results
        [(winner, won)] = [(who, reply) for who, (status, reply) in zip((alice, bob), results, strict=True)
                           if status == 200]
        stored = await current(alice, task["id"])
        assert stored == won["data"]
        assert stored["completed_by"] == winner.id
        assert len(api.notifier.events) == 1  # only the winner's close is announced
        assert str(api.notifier.events[0].by) == winner.id


async def test_concurrent_edit_and_complete_leave_a_consistent_task(api: Any) -> None:
    alice, bob, client = await team(api)
    task = await make_task(alice, client)
    (s1, _), (s2, _) = await asyncio.gather(alice.patch(f"/tasks/{task['id']}", json={"name": "edited"}),
                                              bob.post(f"/tasks/{task['id']}/complete"))
    assert s2 == 200
    stored = await current(alice, task["id"])
    assert stored["status"] == "completed"
    if s1 == 200:  # the edit went first and the completion kept it
        assert stored["name"] == "edited"
    else:
        assert s1 == 409 and stored["name"] == "Task"


async def test_assignment_events_on_create(api: Any, clock: FrozenClock) -> None:
    alice, bob, client = await team(api)
    task = await make_task(alice, client, assignees=[bob.id, alice.id])
    [event] = api.notifier.events
    assert isinstance(event, TaskAssigned)
    assert [str(a) for a in event.assignees] == [bob.id, alice.id]
    assert (str(event.task_id), str(event.client_id), str(event.by)) == (task["id"], client, alice.id)
    assert event.occurred_at == START
