"""Creating, reading, editing and deleting tasks over HTTP: every field, defaults, validation
(422 naming each field, nothing written), PATCH semantics."""

from __future__ import annotations

import uuid
from typing import Any

from catalyst_adapters.clock import FrozenClock
from catalyst_core.events import TaskAssigned
from tests.helpers import Caller, add_member, new_client, register, team

TASK_FIELDS = {"id", "client_id", "name", "task_type", "status", "priority", "created_by", "assignees",
               "due_date", "description", "related_object_id", "related_object_type", "completed_by",
               "completed_at", "created_at", "updated_at"}






async def task_ids(caller: Caller) -> list[str]:
    status, reply = await caller.get("/tasks", params={"limit": 100})
    assert status == 200
    return [t["id"] for t in reply["data"]["tasks"]]


def fields(reply: dict[str, Any]) -> set[str]:
    return {d["field"] for d in reply["detail"]}


async def test_create_returns_every_field(api: Any, clock: FrozenClock) -> None:
    alice, bob, client = await team(api)
    body = {"client_id": client, "name": "Review Facebook Ad Creative", "task_type": "review_creative",
            "priority": "High", "assignees": [bob.id, alice.id], "due_date": "2024-01-15",
            "description": "Review the new creative", "related_object_id": "abc-123",
            "related_object_type": "creative_submission"}
    status, reply = await alice.post("/tasks", json=body)
    assert status == 201, reply
    assert (reply["status_code"], reply["message"]) == (201, "Task created")
    task = reply["data"]
    assert set(task) == TASK_FIELDS
    uuid.UUID(task["id"])
    assert task == {
        "id": task["id"], "client_id": client, "name": "Review Facebook Ad Creative",
        "task_type": "review_creative", "status": "pending", "priority": "High", "created_by": alice.id,
        "assignees": [bob.id, alice.id], "due_date": "2024-01-15T00:00:00Z",
        "description": "Review the new creative", "related_object_id": "abc-123",
        "related_object_type": "creative_submission", "completed_by": None, "completed_at": None,
        "created_at": "2024-03-01T09:00:00Z", "updated_at": "2024-03-01T09:00:00Z",
    }
    status, got = await bob.get(f"/tasks/{task['id']}")
    assert status == 200 and got["data"] == task


async def test_create_defaults(api: Any, clock: FrozenClock) -> None:
    alice, _, client = await team(api)
    status, reply = await alice.post("/tasks", json={"client_id": client, "name": "  Just a name  "})
    assert status == 201, reply
    task = reply["data"]
    assert task["name"] == "Just a name"
    assert (task["status"], task["priority"], task["task_type"], task["assignees"]) == (
        "pending", "Medium", "other", [])
    for name in ("due_date", "description", "related_object_id", "related_object_type", "completed_by",
                 "completed_at"):
        assert task[name] is None, name
    assert task["created_at"] == task["updated_at"] == "2024-03-01T09:00:00Z"
    assert api.notifier.events == []  # no assignees, nobody to tell


async def test_client_id_in_the_query(api: Any) -> None:
    alice, _, client = await team(api)
    status, reply = await alice.post("/tasks", params={"client_id": client}, json={"name": "q"})
    assert status == 201 and reply["data"]["client_id"] == client
    status, reply = await alice.post("/tasks", params={"client_id": client},
                                     json={"name": "both", "client_id": client})
    assert status == 201 and reply["data"]["client_id"] == client
    assert len(await task_ids(alice)) == 2


async def test_client_id_missing_conflicting_or_malformed_is_422(api: Any) -> None:
    alice, _, client = await team(api)
    other = await new_client(alice, "Other")
    cases = [
        ({}, {"name": "x"}, "client_id"),
        ({"client_id": other}, {"name": "x", "client_id": client}, "client_id"),
        ({"client_id": "nope"}, {"name": "x"}, "client_id"),
        ({}, {"name": "x", "client_id": "nope"}, "client_id"),
        ({}, {"name": "x", "client_id": 5}, "client_id"),
        ({}, {"name": "x", "client_id": None}, "client_id"),
    ]
    for params, body, field in cases:
        status, reply = await alice.post("/tasks", params=params, json=body)
        assert status == 422, (params, body, reply)
        assert field in fields(reply)
    assert await task_ids(alice) == []


async def test_outsider_or_unknown_client_is_404_and_viewer_is_403(api: Any) -> None:
    alice, _, client = await team(api)
    eve, vic = await register(api, "Eve"), await register(api, "Vic")
    await add_member(alice, client, vic, role="viewer")
    status, reply = await eve.post("/tasks", json={"client_id": client, "name": "x"})
    assert status == 404, reply
    status, _ = await alice.post("/tasks", json={"client_id": str(uuid.uuid4()), "name": "x"})
    assert status == 404
    status, reply = await vic.post("/tasks", json={"client_id": client, "name": "x"})
    assert status == 403 and reply["status_code"] == 403
    assert await task_ids(alice) == []


DUE_DATES = [
    ("2024-01-15", "2024-01-15T00:00:00Z"),
    ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00Z"),
    ("2024-01-15T10:30:00+02:00", "2024-01-15T08:30:00Z"),
    ("2024-01-15T23:30:00-05:00", "2024-01-16T04:30:00Z"),
    ("2024-01-15T10:30:00", "2024-01-15T10:30:00Z"),
    ("2024-01-15T10:30:00.250000Z", "2024-01-15T10:30:00.250000Z"),
    (None, None),
]


async def test_due_date_accepts_a_date_or_a_date_time(api: Any) -> None:
    alice, _, client = await team(api)
    for given, stored in DUE_DATES:
        status, reply = await alice.post("/tasks", json={"client_id": client, "name": "x", "due_date": given})
        assert status == 201, reply
        assert reply["data"]["due_date"] == stored, given
        _, got = await alice.get(f"/tasks/{reply['data']['id']}")
        assert got["data"]["due_date"] == stored, given


BAD_CREATE = [
    ({"name": ""}, {"name"}),
    ({"name": "   "}, {"name"}),
    ({"name": "x" * 256}, {"name"}),
    ({"name": 12}, {"name"}),
    ({"name": None}, {"name"}),
    ({"name": ["a"]}, {"name"}),
    ({"task_type": "bug"}, {"task_type"}),
    ({"task_type": None}, {"task_type"}),
    ({"priority": "high"}, {"priority"}),
    ({"priority": 3}, {"priority"}),
    ({"assignees": "someone"}, {"assignees"}),
    ({"assignees": "BOB AS AN OBJECT"}, {"assignees"}),
    ({"assignees": None}, {"assignees"}),
    ({"assignees": ["not-a-uuid"]}, {"assignees.0"}),
    ({"assignees": [123]}, {"assignees.0"}),
    ({"due_date": "2024-02-30"}, {"due_date"}),
    ({"due_date": "tomorrow"}, {"due_date"}),
    ({"due_date": ""}, {"due_date"}),
    ({"due_date": 20240115}, {"due_date"}),
    ({"due_date": "9999-12-31T23:00:00-05:00"}, {"due_date"}),
    ({"description": "d" * 10_001}, {"description"}),
    ({"description": 5}, {"description"}),
    ({"related_object_id": "r" * 256}, {"related_object_id"}),
    ({"related_object_type": "t" * 65}, {"related_object_type"}),
    ({"related_object_type": True}, {"related_object_type"}),
    ({"status": "pending"}, {"status"}),
    ({"unknown": 1, "also": 2}, {"unknown", "also"}),
    ({"name": " ", "description": "d" * 10_001, "related_object_id": "r" * 256,
      "related_object_type": "t" * 65},
     {"name", "description", "related_object_id", "related_object_type"}),
    ({"task_type": "bug", "priority": "urgent", "assignees": ["x"]},
     {"task_type", "priority", "assignees.0"}),
]


async def test_bad_create_input_is_422_naming_fields_and_writes_nothing(api: Any) -> None:
    alice, bob, client = await team(api)
    for extra, bad in BAD_CREATE:
        body = {"client_id": client, "name": "ok", "assignees": [bob.id], **extra}
        if body["assignees"] == "BOB AS AN OBJECT":  # an object whose keys are members is still not a list
            body["assignees"] = {bob.id: True}
        status, reply = await alice.post("/tasks", json=body)
        assert status == 422, (extra, reply)
        assert reply["status_code"] == 422 and "data" not in reply
        assert fields(reply) >= bad, extra
    assert await task_ids(alice) == []
    assert api.notifier.events == []


async def test_missing_name_is_422_required(api: Any) -> None:
    alice, _, client = await team(api)
    status, reply = await alice.post("/tasks", json={"client_id": client})
    assert status == 422 and fields(reply) == {"name"}


async def test_longest_name_is_accepted(api: Any) -> None:
    alice, _, client = await team(api)
    status, reply = await alice.post("/tasks", json={"client_id": client, "name": "n" * 255,
                                                     "description": "d" * 10_000})
    assert status == 201 and reply["data"]["name"] == "n" * 255


async def test_assignees_must_be_members_and_are_named(api: Any) -> None:
    alice, bob, client = await team(api)
    eve = await register(api, "Eve")
    ghost = str(uuid.uuid4())
    status, reply = await alice.post("/tasks", json={"client_id": client, "name": "x",
                                                     "assignees": [bob.id, eve.id, ghost]})
    assert status == 422, reply
    [detail] = reply["detail"]
    assert detail["field"] == "assignees"
    assert eve.id in detail["message"] and ghost in detail["message"] and bob.id not in detail["message"]
    assert await task_ids(alice) == []
    assert api.notifier.events == []


async def test_duplicate_assignees_are_kept_once(api: Any) -> None:
    alice, bob, client = await team(api)
    status, reply = await alice.post("/tasks", json={"client_id": client, "name": "x",
                                                     "assignees": [bob.id, bob.id, alice.id]})
    assert status == 201 and reply["data"]["assignees"] == [bob.id, alice.id]


async def test_malformed_json_is_400(api: Any) -> None:
    alice, _, _ = await team(api)
    for raw, expected in (("{not json", 400), ("", 400), ("[1, 2]", 422), ('"text"', 422)):
        status, reply = await alice.post("/tasks", data=raw, headers={"Content-Type": "application/json"})
        assert status == expected, (raw, reply)
        assert reply["status_code"] == expected
    assert await task_ids(alice) == []


async def test_get_unknown_or_malformed_id(api: Any) -> None:
    alice, _, _ = await team(api)
    status, reply = await alice.get(f"/tasks/{uuid.uuid4()}")
    assert status == 404 and reply["status_code"] == 404
    for method in ("get", "patch", "delete"):
        status, reply = await getattr(alice, method)("/tasks/not-a-uuid", json={})
        assert status == 422, (method, reply)
        assert fields(reply) == {"task_id"}


# -- PATCH --------------------------------------------------------------------------------------


async def make_task(caller: Caller, client: str, **extra: Any) -> dict[str, Any]:
    body = {"client_id": client, "name": "Original", "priority": "Low", "task_type": "review_report",
            "due_date": "2024-05-01T12:00:00Z", "description": "desc", "related_object_id": "obj",
            "related_object_type": "alert_instance", **extra}
    status, reply = await caller.post("/tasks", json=body)
    assert status == 201, reply
    return reply["data"]


async def test_patch_changes_only_the_fields_sent(api: Any, clock: FrozenClock) -> None:
    alice, bob, client = await team(api)
    task = await make_task(alice, client, assignees=[alice.id])
    clock.advance(hours=1)
    status, reply = await bob.patch(f"/tasks/{task['id']}", json={"name": " Renamed ", "priority": "High"})
    assert status == 200, reply
    assert reply["message"] == "Task updated"
    expected = {**task, "name": "Renamed", "priority": "High", "updated_at": "2024-03-01T10:00:00Z"}
    assert reply["data"] == expected
    assert (await alice.get(f"/tasks/{task['id']}"))[1]["data"] == expected


async def test_patch_every_field(api: Any, clock: FrozenClock) -> None:
    alice, bob, client = await team(api)
    task = await make_task(alice, client)
    clock.advance(minutes=5)
    change = {"name": "New", "task_type": "other", "priority": "Backlog", "status": "in_progress",
              "assignees": [bob.id], "due_date": "2024-06-02", "description": "new desc",
              "related_object_id": "o2", "related_object_type": "creative_submission"}
    status, reply = await alice.patch(f"/tasks/{task['id']}", json=change)
    assert status == 200, reply
    assert reply["data"] == {**task, **change, "due_date": "2024-06-02T00:00:00Z",
                             "updated_at": "2024-03-01T09:05:00Z"}


async def test_patch_null_clears_nullable_fields(api: Any) -> None:
    alice, _, client = await team(api)
    task = await make_task(alice, client)
    nulls = {"due_date": None, "description": None, "related_object_id": None, "related_object_type": None}
    status, reply = await alice.patch(f"/tasks/{task['id']}", json=nulls)
    assert status == 200, reply
    for name in nulls:
        assert reply["data"][name] is None, name
    assert (await alice.get(f"/tasks/{task['id']}"))[1]["data"] == reply["data"]


async def test_patch_empty_body_changes_nothing_but_updated_at(api: Any, clock: FrozenClock) -> None:
    alice, _, client = await team(api)
    task = await make_task(alice, client)
    clock.advance(seconds=1)
    status, reply = await alice.patch(f"/tasks/{task['id']}", json={})
    assert status == 200
    assert reply["data"] == {**task, "updated_at": "2024-03-01T09:00:01Z"}


async def test_patch_assignees_replace_the_list_and_notify_only_new_ones(api: Any) -> None:
    alice, bob, client = await team(api)
    carol = await register(api, "Carol")
    await add_member(alice, client, carol)
    task = await make_task(alice, client, assignees=[alice.id, bob.id])
    api.notifier.clear()
    status, reply = await alice.patch(f"/tasks/{task['id']}", json={"assignees": [bob.id, carol.id]})
    assert status == 200 and reply["data"]["assignees"] == [bob.id, carol.id]
    [event] = api.notifier.events
    assert isinstance(event, TaskAssigned)
    assert [str(a) for a in event.assignees] == [carol.id]
    assert (str(event.task_id), str(event.client_id), str(event.by)) == (task["id"], client, alice.id)
    api.notifier.clear()
    status, reply = await alice.patch(f"/tasks/{task['id']}", json={"assignees": []})
    assert status == 200 and reply["data"]["assignees"] == []
    status, reply = await alice.patch(f"/tasks/{task['id']}", json={"name": "no assignee change"})
    assert reply["data"]["assignees"] == []
    assert api.notifier.events == []


BAD_PATCH = [
    ({"name": None}, {"name"}),
    ({"task_type": None, "priority": None, "status": None, "assignees": None},
     {"task_type", "priority", "status", "assignees"}),
    ({"name": ""}, {"name"}),
    ({"name": "x" * 256}, {"name"}),
    ({"priority": "urgent"}, {"priority"}),
    ({"status": "completed"}, {"status"}),
    ({"status": "cancelled"}, {"status"}),
    ({"status": "done"}, {"status"}),
    ({"assignees": ["nope"]}, {"assignees.0"}),
    ({"due_date": "2024-13-01"}, {"due_date"}),
    ({"description": "d" * 10_001}, {"description"}),
    ({"client_id": str(uuid.uuid4())}, {"client_id"}),
    ({"created_by": str(uuid.uuid4()), "id": str(uuid.uuid4())}, {"created_by", "id"}),
    ({"name": 1, "description": False}, {"name", "description"}),
    ({"name": "", "description": "d" * 10_001, "related_object_type": "t" * 65},
     {"name", "description", "related_object_type"}),
    ({"assignees": "BOB AS AN OBJECT"}, {"assignees"}),
]


async def test_bad_patch_is_422_and_leaves_the_task_alone(api: Any, clock: FrozenClock) -> None:
    alice, bob, client = await team(api)
    task = await make_task(alice, client)
    for change, bad in BAD_PATCH:
        clock.advance(minutes=1)
        if change.get("assignees") == "BOB AS AN OBJECT":
            change = {"assignees": {bob.id: True}}
        status, reply = await alice.patch(f"/tasks/{task['id']}", json=change)
        assert status == 422, (change, reply)
        assert fields(reply) >= bad, change
        assert (await alice.get(f"/tasks/{task['id']}"))[1]["data"] == task


async def test_patch_with_non_member_assignee_is_422_and_writes_nothing(api: Any) -> None:
    alice, bob, client = await team(api)
    eve = await register(api, "Eve")
    task = await make_task(alice, client, assignees=[bob.id])
    api.notifier.clear()
    status, reply = await alice.patch(f"/tasks/{task['id']}", json={"name": "changed", "assignees": [eve.id]})
    assert status == 422 and fields(reply) == {"assignees"} and eve.id in reply["detail"][0]["message"]
    assert (await alice.get(f"/tasks/{task['id']}"))[1]["data"] == task
    assert api.notifier.events == []


async def test_patch_malformed_body_is_400(api: Any) -> None:
    alice, _, client = await team(api)
    task = await make_task(alice, client)
    headers = {"Content-Type": "application/json"}
    status, _ = await alice.patch(f"/tasks/{task['id']}", data="{", headers=headers)
    assert status == 400
    status, _ = await alice.patch(f"/tasks/{uuid.uuid4()}", json={"name": "x"})
    assert status == 404


# -- DELETE -------------------------------------------------------------------------------------


async def test_delete_removes_the_task(api: Any) -> None:
    alice, _, client = await team(api)
    keep, gone = await make_task(alice, client), await make_task(alice, client)
    status, reply = await alice.delete(f"/tasks/{gone['id']}")
    assert status == 200 and reply["data"] is None and reply["message"] == "Task deleted"
    assert (await alice.get(f"/tasks/{gone['id']}"))[0] == 404
    assert (await alice.patch(f"/tasks/{gone['id']}", json={"name": "x"}))[0] == 404
    assert (await alice.delete(f"/tasks/{gone['id']}"))[0] == 404
    assert await task_ids(alice) == [keep["id"]]
