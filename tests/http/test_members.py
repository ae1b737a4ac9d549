"""Members of a client over HTTP: list, add, change role, remove, and the last-admin rule."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import Caller, add_member, make_admin, new_client, register

UTC_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def fields_of(body: dict[str, Any]) -> set[str]:
    assert isinstance(body["detail"], list), body
    return {issue["field"] for issue in body["detail"]}


async def roles(caller: Caller, client_id: str) -> dict[str, str]:
    status, body = await caller.get(f"/clients/{client_id}/members", params={"limit": "100"})
    assert status == 200, body
    return {m["user_id"]: m["role"] for m in body["data"]["members"]}


@pytest.fixture
async def team(api: TestClient) -> dict[str, Any]:
    """A client with an admin, a member and a viewer, plus an outsider."""
    admin = await register(api, "Admin")
    member = await register(api, "Member")
    viewer = await register(api, "Viewer")
    outsider = await register(api, "Outsider")
    client_id = await new_client(admin, "Acme")
    await add_member(admin, client_id, member, "member")
    await add_member(admin, client_id, viewer, "viewer")
    return {"admin": admin, "member": member, "viewer": viewer, "outsider": outsider, "client": client_id}


async def test_add_member_answers_the_member(api: TestClient) -> None:
    admin = await register(api, "Admin")
    bob = await register(api, "Bob Builder", email="bob@example.com")
    client_id = await new_client(admin)
    status, body = await admin.post(f"/clients/{client_id}/members",
                                    json={"email": "  BOB@example.com ", "role": "member"})
    assert status == 201, body
    assert body["status_code"] == 201
    member = body["data"]
    assert set(member) == {"user_id", "email", "name", "role", "added_at"}
    assert member["user_id"] == bob.id
    assert member["email"] == "bob@example.com"
    assert member["name"] == "Bob Builder"
    assert member["role"] == "member"
    assert UTC_STAMP.match(member["added_at"])
    # Bob now sees the client, with his role.
    status, body = await bob.get(f"/clients/{client_id}")
    assert status == 200 and body["data"]["role"] == "member"


async def test_list_members(api: TestClient, team: dict[str, Any]) -> None:
    c = team["client"]
    for who in ("admin", "member", "viewer"):
        status, body = await team[who].get(f"/clients/{c}/members")
        assert status == 200, (who, body)
        data = body["data"]
        assert set(data) == {"members", "total_pages", "current_page", "total_items"}
        assert data["total_items"] == 3 and data["total_pages"] == 1 and data["current_page"] == 1
        by_id = {m["user_id"]: m for m in data["members"]}
        assert {uid: m["role"] for uid, m in by_id.items()} == {
            team["admin"].id: "admin", team["member"].id: "member", team["viewer"].id: "viewer"}
        assert by_id[team["viewer"].id]["email"] == team["viewer"].email
        assert by_id[team["viewer"].id]["name"] == "Viewer"

    status, body = await team["outsider"].get(f"/clients/{c}/members")
    assert status == 404, body
    status, _ = await team["admin"].get(f"/clients/{uuid.uuid4()}/members")
    assert status == 404


async def test_list_members_paging_and_sorting(api: TestClient, team: dict[str, Any]) -> None:
    c = team["client"]
    admin = team["admin"]
    status, body = await admin.get(f"/clients/{c}/members", params={"sort": "name", "order": "asc"})
    assert [m["name"] for m in body["data"]["members"]] == ["Admin", "Member", "Viewer"]
    status, body = await admin.get(f"/clients/{c}/members", params={"sort": "email", "order": "desc"})
    emails = [m["email"] for m in body["data"]["members"]]
    assert emails == sorted(emails, reverse=True)
    status, body = await admin.get(f"/clients/{c}/members", params={"limit": "2", "page": "2"})
    assert status == 200
    assert len(body["data"]["members"]) == 1 and body["data"]["total_pages"] == 2
    status, body = await admin.get(f"/clients/{c}/members", params={"page": "9"})
    assert status == 200 and body["data"]["members"] == []
    for params, field in (({"limit": "101"}, "limit"), ({"page": "0"}, "page"),
                          ({"sort": "created_at"}, "sort"), ({"order": "up"}, "order")):
        status, body = await admin.get(f"/clients/{c}/members", params=params)
        assert status == 422 and fields_of(body) == {field}, params


async def test_add_member_errors(api: TestClient, team: dict[str, Any]) -> None:
    c, admin = team["client"], team["admin"]
    before = await roles(admin, c)

    status, body = await admin.post(f"/clients/{c}/members",
                                    json={"email": "nobody@example.com", "role": "member"})
    assert status == 404, body

    status, body = await admin.post(f"/clients/{c}/members",
                                    json={"email": team["member"].email.upper(), "role": "viewer"})
    assert status == 409, body

    for payload, offending in (
        ({"email": team["outsider"].email, "role": "owner"}, {"role"}),
        ({"email": team["outsider"].email}, {"role"}),
        ({"email": team["outsider"].email, "role": "Admin"}, {"role"}),
        ({"role": "member"}, {"email"}),
        ({"email": "not-an-email", "role": "member"}, {"email"}),
        ({"email": team["outsider"].email, "role": "member", "note": "hi"}, {"note"}),
    ):
        status, body = await admin.post(f"/clients/{c}/members", json=payload)
        assert status == 422, (payload, body)
        assert fields_of(body) == offending, payload

    assert await roles(admin, c) == before  # nothing changed, the existing member kept their role
    assert (await team["outsider"].get(f"/clients/{c}"))[0] == 404


async def test_only_client_admins_manage_members(api: TestClient, team: dict[str, Any]) -> None:
    c = team["client"]
    target = team["viewer"]
    for who in ("member", "viewer"):
        caller = team[who]
        status, body = await caller.post(f"/clients/{c}/members",
                                         json={"email": team["outsider"].email, "role": "viewer"})
        assert status == 403, (who, body)
        status, _ = await caller.patch(f"/clients/{c}/members/{target.id}", json={"role": "admin"})
        assert status == 403, who
        status, _ = await caller.delete(f"/clients/{c}/members/{target.id}")
        assert status == 403, who
    # A viewer cannot promote themselves either.
    status, _ = await target.patch(f"/clients/{c}/members/{target.id}", json={"role": "admin"})
    assert status == 403

    outsider = team["outsider"]
    join = {"email": outsider.email, "role": "admin"}
    assert (await outsider.post(f"/clients/{c}/members", json=join))[0] == 404
    assert (await outsider.patch(f"/clients/{c}/members/{target.id}", json={"role": "admin"}))[0] == 404
    assert (await outsider.delete(f"/clients/{c}/members/{target.id}"))[0] == 404

    assert await roles(team["admin"], c) == {
        team["admin"].id: "admin", team["member"].id: "member", team["viewer"].id: "viewer"}


async def test_change_member_role(api: TestClient, team: dict[str, Any]) -> None:
    c, admin, viewer = team["client"], team["admin"], team["viewer"]
    status, body = await admin.patch(f"/clients/{c}/members/{viewer.id}", json={"role": "member"})
    assert status == 200, body
    assert body["data"]["user_id"] == viewer.id and body["data"]["role"] == "member"
    assert body["data"]["email"] == viewer.email and UTC_STAMP.match(body["data"]["added_at"])
    assert (await viewer.get(f"/clients/{c}/role"))[1]["data"] == {"role": "member"}

    # Promoted to admin, the former viewer can now manage the client.
    assert (await admin.patch(f"/clients/{c}/members/{viewer.id}", json={"role": "admin"}))[0] == 200
    status, _ = await viewer.put(f"/clients/{c}", json={"name": "Acme 2"})
    assert status == 200

    for payload in ({"role": "superuser"}, {}, {"role": None}, {"role": "member", "x": 1}):
        status, body = await admin.patch(f"/clients/{c}/members/{viewer.id}", json=payload)
        assert status == 422, (payload, body)
    status, _ = await admin.patch(f"/clients/{c}/members/{team['outsider'].id}", json={"role": "member"})
    assert status == 404
    status, body = await admin.patch(f"/clients/{c}/members/not-a-uuid", json={"role": "member"})
    assert status == 422 and fields_of(body) == {"user_id"}


async def test_remove_member_hides_the_client_from_them(api: TestClient, team: dict[str, Any]) -> None:
    c, admin, member = team["client"], team["admin"], team["member"]
    assert (await member.get(f"/clients/{c}"))[0] == 200
    status, body = await admin.delete(f"/clients/{c}/members/{member.id}")
    assert status == 200, body
    assert body["data"] is None and body["status_code"] == 200

    assert (await member.get(f"/clients/{c}"))[0] == 404
    assert (await member.get(f"/clients/{c}/role"))[0] == 404
    assert (await member.get(f"/clients/{c}/members"))[0] == 404
    status, body = await member.get("/clients")
    assert body["data"]["clients"] == []
    assert member.id not in await roles(admin, c)

    # Removing again is 404; a removed user can be added back.
    assert (await admin.delete(f"/clients/{c}/members/{member.id}"))[0] == 404
    await add_member(admin, c, member, "viewer")
    assert (await member.get(f"/clients/{c}/role"))[1]["data"] == {"role": "viewer"}


async def test_last_admin_cannot_be_removed_or_demoted(api: TestClient, team: dict[str, Any]) -> None:
    c, admin = team["client"], team["admin"]
    for role in ("member", "viewer"):
        status, body = await admin.patch(f"/clients/{c}/members/{admin.id}", json={"role": role})
        assert status == 409, body
        assert body["status_code"] == 409
    status, body = await admin.delete(f"/clients/{c}/members/{admin.id}")
    assert status == 409, body
    assert (await roles(admin, c))[admin.id] == "admin"
    # Re-affirming the admin role is not a demotion.
    assert (await admin.patch(f"/clients/{c}/members/{admin.id}", json={"role": "admin"}))[0] == 200


async def test_with_two_admins_one_may_step_down(api: TestClient, team: dict[str, Any]) -> None:
    c, admin, member = team["client"], team["admin"], team["member"]
    assert (await admin.patch(f"/clients/{c}/members/{member.id}", json={"role": "admin"}))[0] == 200

    status, body = await admin.patch(f"/clients/{c}/members/{admin.id}", json={"role": "viewer"})
    assert status == 200, body
    assert body["data"]["role"] == "viewer"
    # The former admin is a viewer now: no more managing.
    assert (await admin.patch(f"/clients/{c}/members/{member.id}", json={"role": "viewer"}))[0] == 403
    # The remaining admin is the last one.
    assert (await member.patch(f"/clients/{c}/members/{member.id}", json={"role": "member"}))[0] == 409
    assert (await member.delete(f"/clients/{c}/members/{member.id}"))[0] == 409
    # But may remove the other (non-admin) member.
    assert (await member.delete(f"/clients/{c}/members/{admin.id}"))[0] == 200
    assert await roles(member, c) == {member.id: "admin", team["viewer"].id: "viewer"}


async def test_admin_may_leave_when_another_admin_remains(api: TestClient, team: dict[str, Any]) -> None:
    c, admin, viewer = team["client"], team["admin"], team["viewer"]
    await admin.patch(f"/clients/{c}/members/{viewer.id}", json={"role": "admin"})
    status, _ = await admin.delete(f"/clients/{c}/members/{admin.id}")
    assert status == 200
    assert (await admin.get(f"/clients/{c}"))[0] == 404
    assert await roles(viewer, c) == {viewer.id: "admin", team["member"].id: "member"}


async def test_platform_admin_manages_members_without_belonging(api: TestClient,
                                                                team: dict[str, Any]) -> None:
    c = team["client"]
    root = await make_admin(api)
    assert root.id not in await roles(root, c)
    status, body = await root.post(f"/clients/{c}/members", json={"email": team["outsider"].email,
                                                                  "role": "viewer"})
    assert status == 201, body
    assert (await root.patch(f"/clients/{c}/members/{team['member'].id}", json={"role": "viewer"}))[0] == 200
    # The last-admin rule binds platform admins too: the client keeps a member admin.
    assert (await root.delete(f"/clients/{c}/members/{team['admin'].id}"))[0] == 409
    assert (await root.patch(f"/clients/{c}/members/{team['admin'].id}", json={"role": "member"}))[0] == 409
    assert await roles(team["admin"], c) == {
        team["admin"].id: "admin", team["member"].id: "viewer", team["viewer"].id: "viewer",
        team["outsider"].id: "viewer"}
