"""Who may do what with tasks and comments: viewers read, members work, creators and client admins
delete, other clients' data is invisible (404), platform admins act as admins everywhere. Nothing is
written by a refused request."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers import Caller, add_member, make_admin, new_client, register


class Team:
    admin: Caller
    member: Caller
    other_member: Caller
    viewer: Caller
    outsider: Caller
    client: str
    elsewhere: str
    task: dict[str, Any]
    comment: dict[str, Any]


async def team(api: Any) -> Team:
    t = Team()
    t.admin, t.member, t.other_member = (await register(api, "Admin"), await register(api, "Member"),
                                         await register(api, "Other"))
    t.viewer, t.outsider = await register(api, "Viewer"), await register(api, "Outsider")
    t.client = await new_client(t.admin)
    await add_member(t.admin, t.client, t.member)
    await add_member(t.admin, t.client, t.other_member)
    await add_member(t.admin, t.client, t.viewer, role="viewer")
    t.elsewhere = await new_client(t.outsider, "Elsewhere")  # the outsider's own client
    status, reply = await t.member.post("/tasks", json={"client_id": t.client, "name": "Work",
                                                        "assignees": [t.other_member.id]})
    assert status == 201
    t.task = reply["data"]
    status, reply = await t.member.post(f"/tasks/{t.task['id']}/comments", json={"comment": "first"})
    assert status == 201
    t.comment = reply["data"]
    api.notifier.clear()
    return t


async def snapshot(t: Team) -> tuple[Any, ...]:
    """Everything a refused request could have changed."""
    tasks = (await t.admin.get("/tasks", params={"client_id": t.client, "limit": 100}))[1]["data"]["tasks"]
    comments = (await t.admin.get(f"/tasks/{t.task['id']}/comments"))[1]["data"]["comments"]
    return tasks, comments


def writes(t: Team, client_id: str | None = None) -> list[tuple[str, str, dict[str, Any] | None]]:
    task_id, comment_id = t.task["id"], t.comment["id"]
    return [
        ("post", "/tasks", {"client_id": client_id or t.client, "name": "new"}),
        ("patch", f"/tasks/{task_id}", {"name": "renamed"}),
        ("patch", f"/tasks/{task_id}", {"status": "in_progress"}),
        ("post", f"/tasks/{task_id}/complete", None),
        ("post", f"/tasks/{task_id}/cancel", None),
        ("post", f"/tasks/{task_id}/comments", {"comment": "hello"}),
        ("patch", f"/tasks/comments/{comment_id}", {"comment": "edited"}),
        ("delete", f"/tasks/comments/{comment_id}", None),
        ("delete", f"/tasks/{task_id}", None),
    ]


async def test_viewer_reads_but_every_write_is_403(api: Any) -> None:
    t = await team(api)
    before = await snapshot(t)
    assert (await t.viewer.get(f"/tasks/{t.task['id']}"))[1]["data"] == t.task
    status, reply = await t.viewer.get("/tasks", params={"client_id": t.client})
    assert status == 200 and [x["id"] for x in reply["data"]["tasks"]] == [t.task["id"]]
    assert [x["id"] for x in (await t.viewer.get("/tasks"))[1]["data"]["tasks"]] == [t.task["id"]]
    status, reply = await t.viewer.get(f"/tasks/{t.task['id']}/comments")
    assert status == 200 and [c["id"] for c in reply["data"]["comments"]] == [t.comment["id"]]
    for method, path, body in writes(t):
        status, reply = await getattr(t.viewer, method)(path, json=body)
        assert status == 403, (method, path, reply)
        assert reply["status_code"] == 403 and "data" not in reply
    assert await snapshot(t) == before
    assert api.notifier.events == []


async def test_outsider_gets_404_for_everything(api: Any) -> None:
    t = await team(api)
    before = await snapshot(t)
    reads = [("get", f"/tasks/{t.task['id']}", None), ("get", f"/tasks/{t.task['id']}/comments", None)]
    for method, path, body in reads + writes(t):
        status, reply = await getattr(t.outsider, method)(path, json=body)
        assert status == 404, (method, path, reply)
        assert reply["status_code"] == 404
    status, _ = await t.outsider.get("/tasks", params={"client_id": t.client})
    assert status == 404
    assert (await t.outsider.get("/tasks"))[1]["data"]["tasks"] == []
    assert await snapshot(t) == before
    assert api.notifier.events == []


async def test_member_creates_edits_completes_and_comments(api: Any) -> None:
    t = await team(api)
    m = t.other_member
    status, reply = await m.post("/tasks", json={"client_id": t.client, "name": "mine"})
    assert status == 201 and reply["data"]["created_by"] == m.id
    assert (await m.patch(f"/tasks/{t.task['id']}", json={"name": "renamed by another member"}))[0] == 200
    status, reply = await m.post(f"/tasks/{t.task['id']}/comments", json={"comment": "on it"})
    assert status == 201 and reply["data"]["user_id"] == m.id
    assert (await m.post(f"/tasks/{t.task['id']}/complete"))[0] == 200
    status, reply = await m.post(f"/tasks/{reply['data']['task_id']}/cancel")
    assert status == 409  # already completed: final


async def test_task_deleted_only_by_its_creator_or_a_client_admin(api: Any) -> None:
    t = await team(api)
    before = await snapshot(t)
    for who in (t.other_member, t.viewer):
        status, reply = await who.delete(f"/tasks/{t.task['id']}")
        assert status == 403, reply
    assert await snapshot(t) == before
    assert (await t.member.delete(f"/tasks/{t.task['id']}"))[0] == 200  # the creator
    status, reply = await t.member.post("/tasks", json={"client_id": t.client, "name": "again"})
    assert (await t.admin.delete(f"/tasks/{reply['data']['id']}"))[0] == 200  # a client admin
    assert (await t.admin.get("/tasks", params={"client_id": t.client}))[1]["data"]["tasks"] == []


async def test_creator_demoted_to_viewer_can_no_longer_delete(api: Any) -> None:
    t = await team(api)
    status, _ = await t.admin.patch(f"/clients/{t.client}/members/{t.member.id}", json={"role": "viewer"})
    assert status == 200
    assert (await t.member.delete(f"/tasks/{t.task['id']}"))[0] == 403
    assert (await t.member.get(f"/tasks/{t.task['id']}"))[0] == 200


async def test_removed_member_loses_access(api: Any) -> None:
    t = await team(api)
    status, _ = await t.admin.delete(f"/clients/{t.client}/members/{t.member.id}")
    assert status == 200
    assert (await t.member.get(f"/tasks/{t.task['id']}"))[0] == 404
    assert (await t.member.patch(f"/tasks/comments/{t.comment['id']}", json={"comment": "x"}))[0] == 404
    assert (await t.member.get("/tasks"))[1]["data"]["tasks"] == []


async def test_comment_edited_only_by_its_author(api: Any) -> None:
    t = await team(api)
    before = await snapshot(t)
    for who in (t.admin, t.other_member, t.viewer):
        status, reply = await who.patch(f"/tasks/comments/{t.comment['id']}", json={"comment": "hijack"})
        assert status == 403, reply
    assert await snapshot(t) == before
    status, reply = await t.member.patch(f"/tasks/comments/{t.comment['id']}", json={"comment": "mine"})
    assert status == 200 and reply["data"]["comment"] == "mine"


async def test_comment_deleted_by_its_author_or_a_client_admin(api: Any) -> None:
    t = await team(api)
    before = await snapshot(t)
    for who in (t.other_member, t.viewer):
        assert (await who.delete(f"/tasks/comments/{t.comment['id']}"))[0] == 403
    assert await snapshot(t) == before
    assert (await t.member.delete(f"/tasks/comments/{t.comment['id']}"))[0] == 200
    _, reply = await t.other_member.post(f"/tasks/{t.task['id']}/comments", json={"comment": "second"})
    status, deleted = await t.admin.delete(f"/tasks/comments/{reply['data']['id']}")
    assert status == 200 and deleted["data"] is None
    assert (await t.admin.get(f"/tasks/{t.task['id']}/comments"))[1]["data"]["comments"] == []


async def test_platform_admin_acts_as_admin_in_every_client(api: Any) -> None:
    t = await team(api)
    root = await make_admin(api)
    assert (await root.get(f"/tasks/{t.task['id']}"))[0] == 200
    assert (await root.get("/tasks", params={"client_id": t.client}))[0] == 200
    status, reply = await root.post("/tasks", json={"client_id": t.client, "name": "from root",
                                                    "assignees": [t.member.id]})
    assert status == 201, reply
    assert (await root.patch(f"/tasks/{t.task['id']}", json={"priority": "High"}))[0] == 200
    assert (await root.delete(f"/tasks/comments/{t.comment['id']}"))[0] == 200
    assert (await root.post(f"/tasks/{reply['data']['id']}/complete"))[0] == 200
    assert (await root.delete(f"/tasks/{t.task['id']}"))[0] == 200
    status, reply = await root.post("/tasks", json={"client_id": str(uuid.uuid4()), "name": "nowhere"})
    assert status == 404


async def test_other_clients_tasks_are_404_even_for_their_ids(api: Any) -> None:
    """Belonging to some client does not open another's tasks, comments or lists."""
    t = await team(api)
    status, reply = await t.outsider.post("/tasks", json={"client_id": t.elsewhere, "name": "theirs"})
    assert status == 201
    theirs = reply["data"]["id"]
    _, c = await t.outsider.post(f"/tasks/{theirs}/comments", json={"comment": "private"})
    for method, path, body in [("get", f"/tasks/{theirs}", None), ("get", f"/tasks/{theirs}/comments", None),
                               ("patch", f"/tasks/{theirs}", {"name": "x"}),
                               ("post", f"/tasks/{theirs}/complete", None),
                               ("delete", f"/tasks/{theirs}", None),
                               ("patch", f"/tasks/comments/{c['data']['id']}", {"comment": "x"}),
                               ("delete", f"/tasks/comments/{c['data']['id']}", None)]:
        status, _ = await getattr(t.admin, method)(path, json=body)
        assert status == 404, (method, path)
    assert theirs not in {x["id"] for x in (await t.admin.get("/tasks"))[1]["data"]["tasks"]}


async def test_requests_without_a_token_are_401(api: Any) -> None:
    t = await team(api)
    for method, path in [("GET", "/api/v1/tasks"), ("POST", "/api/v1/tasks"),
                         ("GET", f"/api/v1/tasks/{t.task['id']}"),
                         ("POST", f"/api/v1/tasks/{t.task['id']}/complete"),
                         ("DELETE", f"/api/v1/tasks/comments/{t.comment['id']}")]:
        response = await api.request(method, path, json={"name": "x", "client_id": t.client})
        assert response.status == 401, (method, path)
