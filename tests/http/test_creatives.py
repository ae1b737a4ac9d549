"""Creative submissions over HTTP with a media link: the fields, the review task, the decisions and
their events, validation naming every bad field, the list, and who may do what. Runs over memory,
SQLite and PostgreSQL. (Uploads, media and Range requests: test_creative_uploads.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_core.events import CreativeReviewed, CreativeSubmitted, TaskAssigned
from tests.helpers import Caller, Cast, cast
from tests.http.test_alerts import UNKNOWN, fields_of, schema_errors

NOW = "2024-03-01T09:00:00Z"  # the frozen clock (tests/helpers.py START)
FIELDS = {"id", "client_id", "name", "ad_type", "media_url", "media_filename", "media_size",
          "media_content_type", "media_width", "media_height", "ad_script", "headline",
          "primary_text", "status", "submitted_by", "task_id", "reviewed_by", "reviewed_at",
          "rejection_reason", "created_at", "updated_at"}
REFERENCE = {"name": "Summer Sale Banner", "ad_type": "image",
             "media_url": "https://example.com/banner.jpg", "ad_script": "Summer Sale - 50% Off!",
             "headline": "Summer Sale", "primary_text": "Get 50% off on all items"}


@pytest.fixture
async def scene(api: Any, clock: FrozenClock) -> Cast:
    return await cast(api)


async def submit(who: Caller, client_id: str, **changes: Any) -> dict[str, Any]:
    status, reply = await who.post("/creative-submissions", json={**REFERENCE, "client_id": client_id,
                                                                  **changes})
    assert status == 201, reply
    assert reply["message"] == "Creative submitted for review"
    assert schema_errors("CreativeSubmission", reply["data"]) == []
    return reply["data"]


async def test_a_submission_has_every_field_and_opens_a_review_task(scene: Cast, api: Any) -> None:
    s = await submit(scene.member, scene.client)
    assert set(s) == FIELDS
    assert {k: s[k] for k in REFERENCE} == REFERENCE
    assert (s["status"], s["client_id"], s["submitted_by"]) == ("pending", scene.client, scene.member.id)
    assert s["media_filename"] is s["media_size"] is s["media_content_type"] is None
    assert s["reviewed_by"] is s["reviewed_at"] is s["rejection_reason"] is None
    assert s["created_at"] == s["updated_at"] == NOW
    status, reply = await scene.admin.get(f"/tasks/{s['task_id']}")
    assert status == 200, reply
    task = reply["data"]
    assert (task["task_type"], task["related_object_type"], task["related_object_id"]) == (
        "review_creative", "creative_submission", s["id"])
    assert task["assignees"] == [scene.admin.id]  # the client's admins
    assert task["status"] == "pending" and "Summer Sale Banner" in task["name"]
    [submitted] = api.notifier.of_type(CreativeSubmitted)
    assert (str(submitted.submission_id), str(submitted.by)) == (s["id"], scene.member.id)
    assert [str(u) for u in api.notifier.of_type(TaskAssigned)[-1].assignees] == [scene.admin.id]
    status, reply = await scene.viewer.get(f"/creative-submissions/{s['id']}")
    assert (status, reply["data"]) == (200, s)


async def test_only_name_and_ad_type_are_required(scene: Cast) -> None:
    for ad_type in ("image", "video", "carousel", "text"):
        s = await submit(scene.member, scene.client, media_url=None, ad_script=None, headline=None,
                         primary_text=None, ad_type=ad_type, name=f"  {ad_type} ad  ")
        assert (s["name"], s["ad_type"], s["media_url"]) == (f"{ad_type} ad", ad_type, None)


async def test_the_client_may_be_named_in_the_query(scene: Cast) -> None:
    status, reply = await scene.member.post("/creative-submissions",
                                            params={"client_id": scene.client}, json=REFERENCE)
    assert status == 201 and reply["data"]["client_id"] == scene.client, reply
    status, reply = await scene.member.post("/creative-submissions", params={"client_id": scene.client},
                                            json={**REFERENCE, "client_id": scene.elsewhere})
    assert status == 422 and "client_id" in fields_of(reply)
    status, reply = await scene.member.post("/creative-submissions", json=REFERENCE)
    assert status == 422 and fields_of(reply) == {
        "client_id": "is required (in the body or as a query parameter)"}


async def test_one_422_names_every_bad_field_and_nothing_is_stored(scene: Cast) -> None:
    status, reply = await scene.member.post("/creative-submissions", json={
        "client_id": "not-a-uuid", "name": "   ", "ad_type": "poster",
        "media_url": "ftp://example.com/a.jpg", "headline": "h" * 256, "ad_script": 7,
        "media_size": 10, "status": "approved"})
    assert status == 422
    assert set(fields_of(reply)) == {"client_id", "name", "ad_type", "media_url", "headline",
                                     "ad_script", "media_size", "status"}
    status, reply = await scene.member.post("/creative-submissions", json={"client_id": scene.client})
    assert status == 422 and set(fields_of(reply)) == {"name", "ad_type"}
    for url in ("javascript:alert(1)", "https://", "http://exa mple.com/x", "/relative/path"):
        status, reply = await scene.member.post("/creative-submissions", json={
            **REFERENCE, "client_id": scene.client, "media_url": url})
        assert status == 422 and set(fields_of(reply)) == {"media_url"}, url
    status, reply = await scene.admin.get("/creative-submissions", params={"client_id": scene.client})
    assert reply["data"]["submissions"] == []


async def test_any_text_is_kept_exactly(scene: Cast) -> None:
    text = "Ünïcødé 🎉 ‮RTL‬ \"quotes\" '; DROP TABLE creative_submissions; -- \t\x07"
    s = await submit(scene.member, scene.client, name="名前 🎨", headline=text.strip()[:255],
                     primary_text=text, ad_script="x" * 10_000)
    status, reply = await scene.member.get(f"/creative-submissions/{s['id']}")
    assert reply["data"]["primary_text"] == text.strip() and reply["data"]["name"] == "名前 🎨"
    status, reply = await scene.member.post("/creative-submissions", json={
        **REFERENCE, "client_id": scene.client, "headline": "nul\x00byte"})
    assert status == 422 and set(fields_of(reply)) == {"headline"}


async def test_approving_records_the_reviewer_and_completes_the_task(scene: Cast, api: Any,
                                                                     clock: FrozenClock) -> None:
    s = await submit(scene.member, scene.client)
    clock.advance(minutes=5)
    status, reply = await scene.admin.post(f"/creative-submissions/{s['id']}/approve")
    assert status == 200 and reply["message"] == "Creative approved", reply
    d = reply["data"]
    assert (d["status"], d["reviewed_by"], d["reviewed_at"], d["rejection_reason"]) == (
        "approved", scene.admin.id, "2024-03-01T09:05:00Z", None)
    assert d["updated_at"] == "2024-03-01T09:05:00Z" and d["created_at"] == NOW
    status, task = await scene.admin.get(f"/tasks/{s['task_id']}")
    assert (task["data"]["status"], task["data"]["completed_by"]) == ("completed", scene.admin.id)
    [reviewed] = api.notifier.of_type(CreativeReviewed)
    assert (reviewed.status, str(reviewed.submitted_by), str(reviewed.by), reviewed.reason) == (
        "approved", scene.member.id, scene.admin.id, None)
    for action, body in (("approve", None), ("reject", {"reason": "late"})):
        status, reply = await scene.admin.post(f"/creative-submissions/{s['id']}/{action}", json=body)
        assert status == 409, reply
    status, reply = await scene.admin.get(f"/creative-submissions/{s['id']}")
    assert reply["data"] == d


async def test_rejecting_needs_a_reason_and_records_it(scene: Cast, api: Any) -> None:
    s = await submit(scene.member, scene.client)
    path = f"/creative-submissions/{s['id']}/reject"
    for body in ({}, {"reason": ""}, {"reason": "  \n "}, {"reason": None}, {"reason": 5},
                 {"reason": "r" * 2001}):
        status, reply = await scene.admin.post(path, json=body)
        assert status == 422 and set(fields_of(reply)) == {"reason"}, (body, reply)
    status, reply = await scene.admin.post(path, json={"reason": "ok", "extra": 1})
    assert status == 422 and set(fields_of(reply)) == {"extra"}
    status, reply = await scene.admin.post(path, json={"reason": " Does not meet brand guidelines "})
    assert status == 200 and reply["message"] == "Creative rejected", reply
    assert (reply["data"]["status"], reply["data"]["rejection_reason"]) == (
        "rejected", "Does not meet brand guidelines")
    [reviewed] = api.notifier.of_type(CreativeReviewed)
    assert (reviewed.status, reviewed.reason) == ("rejected", "Does not meet brand guidelines")
    status, task = await scene.admin.get(f"/tasks/{s['task_id']}")
    assert task["data"]["status"] == "completed"


async def test_approve_takes_no_fields(scene: Cast) -> None:
    s = await submit(scene.member, scene.client)
    status, reply = await scene.admin.post(f"/creative-submissions/{s['id']}/approve",
                                           json={"note": "x"})
    assert status == 422 and set(fields_of(reply)) == {"note"}
    status, reply = await scene.admin.post(f"/creative-submissions/{s['id']}/approve", json={})
    assert status == 200


async def test_of_two_concurrent_decisions_exactly_one_wins(scene: Cast, api: Any) -> None:
    for _ in range(3):
        s = await submit(scene.member, scene.client)
        results = await asyncio.gather(
            scene.admin.post(f"/creative-submissions/{s['id']}/approve"),
            scene.platform.post(f"/creative-submissions/{s['id']}/reject", json={"reason": "no"}))
        assert sorted(status for status, _ in results) == [200, 409], results
        winner = next(reply["data"] for status, reply in results if status == 200)
        _, reply = await scene.admin.get(f"/creative-submissions/{s['id']}")
        assert reply["data"]["status"] == winner["status"]
    assert len(api.notifier.of_type(CreativeReviewed)) == 3


async def test_a_deleted_or_finished_review_task_does_not_block_the_decision(scene: Cast) -> None:
    first, second = await submit(scene.member, scene.client), await submit(scene.member, scene.client)
    status, _ = await scene.admin.delete(f"/tasks/{first['task_id']}")
    assert status in (200, 204)
    status, reply = await scene.admin.get(f"/creative-submissions/{first['id']}")
    assert reply["data"]["task_id"] is None
    status, reply = await scene.admin.post(f"/creative-submissions/{first['id']}/approve")
    assert status == 200, reply
    status, _ = await scene.admin.post(f"/tasks/{second['task_id']}/cancel")
    status, reply = await scene.admin.post(f"/creative-submissions/{second['id']}/approve")
    assert status == 200, reply
    status, task = await scene.admin.get(f"/tasks/{second['task_id']}")
    assert task["data"]["status"] in ("cancelled", "completed")


async def test_who_may_do_what(scene: Cast) -> None:
    s = await submit(scene.member, scene.client)
    status, reply = await scene.viewer.post("/creative-submissions",
                                            json={**REFERENCE, "client_id": scene.client})
    assert status == 403, reply
    status, reply = await scene.outsider.post("/creative-submissions",
                                              json={**REFERENCE, "client_id": scene.client})
    assert status == 404, reply
    await submit(scene.admin, scene.client)
    await submit(scene.platform, scene.client)
    for who in (scene.member, scene.viewer):
        status, reply = await who.post(f"/creative-submissions/{s['id']}/approve")
        assert status == 403, reply
        status, reply = await who.post(f"/creative-submissions/{s['id']}/reject", json={"reason": "x"})
        assert status == 403, reply
    for path in (f"/creative-submissions/{s['id']}", f"/creative-submissions/{s['id']}/media",
                 f"/creative-submissions/{UNKNOWN}"):
        status, reply = await scene.outsider.get(path)
        assert status == 404 and reply["status_code"] == 404, (path, reply)
    for action, body in (("approve", None), ("reject", {"reason": "x"})):
        status, _ = await scene.outsider.post(f"/creative-submissions/{s['id']}/{action}", json=body)
        assert status == 404
    status, reply = await scene.member.get("/creative-submissions/not-a-uuid")
    assert status == 422 and set(fields_of(reply)) == {"submission_id"}
    status, reply = await scene.viewer.get(f"/creative-submissions/{s['id']}/media")
    assert status == 404 and "no uploaded file" in reply["detail"]  # a link, not a file


async def test_the_list_filters_pages_sorts_and_keeps_tenants_apart(scene: Cast,
                                                                    clock: FrozenClock) -> None:
    made = []
    for n in range(5):
        made.append(await submit(scene.member, scene.client, name=f"Creative {n}"))
        clock.advance(seconds=1)
    theirs = await submit(scene.outsider, scene.elsewhere)
    await scene.admin.post(f"/creative-submissions/{made[1]['id']}/approve")
    await scene.admin.post(f"/creative-submissions/{made[2]['id']}/reject", json={"reason": "no"})
    status, reply = await scene.viewer.get("/creative-submissions")
    assert status == 200
    data = reply["data"]
    assert [s["id"] for s in data["submissions"]] == [s["id"] for s in reversed(made)][:10]
    assert (data["total_items"], data["total_pages"], data["current_page"]) == (5, 1, 1)
    for s in data["submissions"]:
        assert schema_errors("CreativeSubmission", s) == []
    status, reply = await scene.viewer.get("/creative-submissions", params={
        "client_id": scene.client, "status": "pending", "limit": 2, "page": 2, "sort": "name",
        "order": "asc"})
    assert [s["name"] for s in reply["data"]["submissions"]] == ["Creative 4"]
    assert reply["data"]["total_items"] == 3
    status, reply = await scene.member.get("/creative-submissions", params={"status": "rejected"})
    assert [s["id"] for s in reply["data"]["submissions"]] == [made[2]["id"]]
    status, reply = await scene.platform.get("/creative-submissions")
    assert reply["data"]["total_items"] == 6
    status, reply = await scene.outsider.get("/creative-submissions")
    assert [s["id"] for s in reply["data"]["submissions"]] == [theirs["id"]]
    status, reply = await scene.outsider.get("/creative-submissions", params={"client_id": scene.client})
    assert status == 404
    status, reply = await scene.member.get("/creative-submissions", params={
        "status": "done", "sort": "size", "limit": 0, "client_id": "x"})
    assert status == 422 and set(fields_of(reply)) == {"status", "sort", "limit", "client_id"}
