"""Task comments over HTTP: the comment object, oldest-first paging, editing, deleting, validation
and the CommentAdded event."""

from __future__ import annotations

import uuid
from typing import Any

from catalyst_adapters.clock import FrozenClock
from catalyst_core.events import CommentAdded
from tests.helpers import START, Caller, add_member, new_client, register

COMMENT_FIELDS = {"id", "task_id", "comment", "user_id", "user_name", "user_email", "created_at",
                  "updated_at"}




async def setup(api: Any) -> tuple[Caller, Caller, str, str]:
    alice = await register(api, "Alice Smith", email=f"alice-{uuid.uuid4().hex[:8]}@example.com")
    bob = await register(api, "Bob Jones")
    client = await new_client(alice)
    await add_member(alice, client, bob)
    status, reply = await alice.post("/tasks", json={"client_id": client, "name": "Discuss"})
    assert status == 201
    api.notifier.clear()
    return alice, bob, client, reply["data"]["id"]


async def comments_of(caller: Caller, task_id: str, **params: Any) -> dict[str, Any]:
    status, reply = await caller.get(f"/tasks/{task_id}/comments", params=params)
    assert status == 200, reply
    return reply["data"]


async def test_add_comment_returns_every_field_and_notifies(api: Any, clock: FrozenClock) -> None:
    alice, bob, client, task_id = await setup(api)
    status, reply = await bob.post(f"/tasks/{task_id}/comments", json={"comment": "  Looks good!  "})
    assert status == 201, reply
    assert (reply["status_code"], reply["message"]) == (201, "Comment added")
    comment = reply["data"]
    assert set(comment) == COMMENT_FIELDS
    uuid.UUID(comment["id"])
    assert comment == {"id": comment["id"], "task_id": task_id, "comment": "Looks good!", "user_id": bob.id,
                       "user_name": "Bob Jones", "user_email": bob.email,
                       "created_at": "2024-03-01T09:00:00Z", "updated_at": "2024-03-01T09:00:00Z"}
    listed = await comments_of(alice, task_id)
    assert listed == {"comments": [comment], "total_pages": 1, "current_page": 1, "total_items": 1}
    [event] = api.notifier.events
    assert isinstance(event, CommentAdded)
    assert (str(event.comment_id), str(event.task_id), str(event.client_id), str(event.by)) == (
        comment["id"], task_id, client, bob.id)
    assert event.occurred_at == START


async def test_comments_are_listed_oldest_first_and_paged(api: Any, clock: FrozenClock) -> None:
    alice, bob, _, task_id = await setup(api)
    ids = []
    for n in range(7):
        author = alice if n % 2 else bob
        status, reply = await author.post(f"/tasks/{task_id}/comments", json={"comment": f"c{n}"})
        assert status == 201
        ids.append(reply["data"]["id"])
        if n % 3 == 2:
            clock.advance(seconds=1)  # several comments share a timestamp: id breaks the tie
    expected = sorted(ids, key=lambda i: (ids.index(i) // 3, uuid.UUID(i)))  # (created_at, id)
    everything = await comments_of(alice, task_id, limit=100)
    assert [c["id"] for c in everything["comments"]] == expected
    assert [c["user_name"] for c in everything["comments"]] == [
        "Alice Smith" if c["user_id"] == alice.id else "Bob Jones" for c in everything["comments"]]
    walked = []
    for page in (1, 2, 3):
        data = await comments_of(bob, task_id, limit=3, page=page)
        assert (data["current_page"], data["total_pages"], data["total_items"]) == (page, 3, 7)
        walked += [c["id"] for c in data["comments"]]
    assert walked == expected
    past = await comments_of(bob, task_id, limit=3, page=4)
    assert (past["comments"], past["total_items"]) == ([], 7)
    default = await comments_of(bob, task_id)
    assert len(default["comments"]) == 7


async def test_bad_comment_paging_is_422(api: Any) -> None:
    alice, _, _, task_id = await setup(api)
    for params, field in (({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"page": 0}, "page"),
                          ({"page": "x"}, "page")):
        status, reply = await alice.get(f"/tasks/{task_id}/comments", params=params)
        assert status == 422 and field in {d["field"] for d in reply["detail"]}, params
    assert (await alice.get(f"/tasks/{task_id}/comments", params={"limit": 100}))[0] == 200


async def test_bad_comment_bodies_are_422_and_write_nothing(api: Any) -> None:
    alice, _, _, task_id = await setup(api)
    status, reply = await alice.post(f"/tasks/{task_id}/comments", json={"comment": "keep"})
    assert status == 201
    kept = reply["data"]
    api.notifier.clear()
    cases = [({"comment": ""}, "comment"), ({"comment": "   \n\t "}, "comment"), ({}, "comment"),
             ({"comment": None}, "comment"), ({"comment": 42}, "comment"), ({"comment": ["x"]}, "comment"),
             ({"comment": "x" * 10_001}, "comment"), ({"comment": "ok", "user_id": alice.id}, "user_id")]
    for body, field in cases:
        status, reply = await alice.post(f"/tasks/{task_id}/comments", json=body)
        assert status == 422, (body, reply)
        assert field in {d["field"] for d in reply["detail"]}, body
        status, reply = await alice.patch(f"/tasks/comments/{kept['id']}", json=body)
        assert status == 422, (body, reply)
        assert field in {d["field"] for d in reply["detail"]}, body
    for raw, expected in (("{", 400), ("[]", 422)):  # JSON but no object: 422
        headers = {"Content-Type": "application/json"}
        assert (await alice.post(f"/tasks/{task_id}/comments", data=raw, headers=headers))[0] == expected
        assert (await alice.patch(f"/tasks/comments/{kept['id']}", data=raw,
                                  headers=headers))[0] == expected
    assert (await comments_of(alice, task_id))["comments"] == [kept]
    assert api.notifier.events == []


async def test_longest_comment_is_accepted(api: Any) -> None:
    alice, _, _, task_id = await setup(api)
    status, reply = await alice.post(f"/tasks/{task_id}/comments", json={"comment": "y" * 10_000})
    assert status == 201 and len(reply["data"]["comment"]) == 10_000


async def test_edit_comment_changes_text_and_updated_at_only(api: Any, clock: FrozenClock) -> None:
    alice, bob, _, task_id = await setup(api)
    _, reply = await bob.post(f"/tasks/{task_id}/comments", json={"comment": "draft"})
    original = reply["data"]
    clock.advance(minutes=3)
    api.notifier.clear()
    status, reply = await bob.patch(f"/tasks/comments/{original['id']}", json={"comment": " final "})
    assert status == 200 and reply["message"] == "Comment updated"
    assert reply["data"] == {**original, "comment": "final", "updated_at": "2024-03-01T09:03:00Z"}
    assert (await comments_of(alice, task_id))["comments"] == [reply["data"]]
    assert api.notifier.events == []  # editing is not a new comment


async def test_delete_comment(api: Any) -> None:
    alice, bob, _, task_id = await setup(api)
    _, first = await bob.post(f"/tasks/{task_id}/comments", json={"comment": "one"})
    _, second = await bob.post(f"/tasks/{task_id}/comments", json={"comment": "two"})
    status, reply = await bob.delete(f"/tasks/comments/{first['data']['id']}")
    assert status == 200 and reply["data"] is None and reply["message"] == "Comment deleted"
    assert (await comments_of(alice, task_id))["comments"] == [second["data"]]
    assert (await bob.delete(f"/tasks/comments/{first['data']['id']}"))[0] == 404
    assert (await bob.patch(f"/tasks/comments/{first['data']['id']}", json={"comment": "x"}))[0] == 404


async def test_unknown_and_malformed_ids(api: Any) -> None:
    alice, _, _, _ = await setup(api)
    missing = str(uuid.uuid4())
    assert (await alice.get(f"/tasks/{missing}/comments"))[0] == 404
    assert (await alice.post(f"/tasks/{missing}/comments", json={"comment": "x"}))[0] == 404
    assert (await alice.patch(f"/tasks/comments/{missing}", json={"comment": "x"}))[0] == 404
    assert (await alice.delete(f"/tasks/comments/{missing}"))[0] == 404
    for method, path, field in [("get", "/tasks/xyz/comments", "task_id"),
                                ("post", "/tasks/xyz/comments", "task_id"),
                                ("patch", "/tasks/comments/xyz", "comment_id"),
                                ("delete", "/tasks/comments/xyz", "comment_id")]:
        status, reply = await getattr(alice, method)(path, json={"comment": "x"})
        assert status == 422, (method, path, reply)
        assert [d["field"] for d in reply["detail"]] == [field]
    assert api.notifier.events == []


async def test_deleting_a_task_deletes_its_comments(api: Any) -> None:
    alice, bob, client, task_id = await setup(api)
    _, other = await alice.post("/tasks", json={"client_id": client, "name": "Other"})
    other_id = other["data"]["id"]
    _, doomed = await bob.post(f"/tasks/{task_id}/comments", json={"comment": "doomed"})
    _, kept = await bob.post(f"/tasks/{other_id}/comments", json={"comment": "kept"})
    assert (await alice.delete(f"/tasks/{task_id}"))[0] == 200
    assert (await bob.get(f"/tasks/{task_id}/comments"))[0] == 404
    assert (await bob.patch(f"/tasks/comments/{doomed['data']['id']}", json={"comment": "x"}))[0] == 404
    assert (await bob.delete(f"/tasks/comments/{doomed['data']['id']}"))[0] == 404
    assert (await comments_of(bob, other_id))["comments"] == [kept["data"]]


async def test_author_name_follows_the_user(api: Any) -> None:
    """user_name and user_email come from the author's current profile, not a copy."""
    alice, _, _, task_id = await setup(api)
    _, reply = await alice.post(f"/tasks/{task_id}/comments", json={"comment": "hi"})
    assert (reply["data"]["user_name"], reply["data"]["user_email"]) == ("Alice Smith", alice.email)
    status, _ = await alice.put("/users/me", json={"name": "Alice Renamed"})
    assert status == 200
    [listed] = (await comments_of(alice, task_id))["comments"]
    assert (listed["id"], listed["user_name"], listed["user_email"]) == (
        reply["data"]["id"], "Alice Renamed", alice.email)
