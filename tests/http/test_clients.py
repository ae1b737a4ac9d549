"""Clients over HTTP: create, list (paging, sorting, visibility), get, update, the caller's role."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from catalyst_adapters.clock import FrozenClock
from tests.helpers import Caller, add_member, make_admin, new_client, register

UTC_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def fields_of(body: dict[str, Any]) -> set[str]:
    assert isinstance(body["detail"], list), body
    return {issue["field"] for issue in body["detail"]}


async def all_client_ids(caller: Caller, **params: Any) -> list[str]:
    status, body = await caller.get("/clients", params={"limit": "100", **params})
    assert status == 200, body
    return [c["id"] for c in body["data"]["clients"]]




async def test_create_client_makes_the_creator_its_admin(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.post("/clients", json={"name": "  Acme  ", "logo": "https://cdn.example/a.png"})
    assert status == 201, body
    assert body["status_code"] == 201
    client = body["data"]
    assert set(client) == {"id", "name", "logo", "is_active", "role", "created_at", "updated_at"}
    uuid.UUID(client["id"])
    assert client["name"] == "Acme"
    assert client["logo"] == "https://cdn.example/a.png"
    assert client["is_active"] is True
    assert client["role"] == "admin"
    assert UTC_STAMP.match(client["created_at"]) and UTC_STAMP.match(client["updated_at"])

    status, body = await alice.get("/clients")
    assert status == 200
    assert [(c["id"], c["role"]) for c in body["data"]["clients"]] == [(client["id"], "admin")]
    status, body = await alice.get(f"/clients/{client['id']}/members")
    assert [(m["user_id"], m["role"]) for m in body["data"]["members"]] == [(alice.id, "admin")]


@pytest.mark.parametrize(
    ("payload", "offending"),
    [
        ({}, {"name"}),
        ({"name": ""}, {"name"}),
        ({"name": 3}, {"name"}),
        ({"name": "x" * 201}, {"name"}),
        ({"name": "Acme", "logo": "ftp://example.com/logo.png"}, {"logo"}),
        ({"name": "Acme", "logo": "javascript:alert(1)"}, {"logo"}),
        ({"name": "Acme", "logo": 5}, {"logo"}),
        ({"name": "Acme", "owner": "me"}, {"owner"}),
        ({"name": " ", "logo": "not a url"}, {"name", "logo"}),
    ],
)
async def test_create_client_validation(api: TestClient, payload: dict[str, Any],
                                        offending: set[str]) -> None:
    alice = await register(api)
    status, body = await alice.post("/clients", json=payload)
    assert status == 422, body
    assert fields_of(body) == offending
    assert await all_client_ids(alice) == []


async def test_create_client_without_logo_has_null_logo(api: TestClient) -> None:
    alice = await register(api)
    status, body = await alice.post("/clients", json={"name": "No Logo"})
    assert status == 201 and body["data"]["logo"] is None


async def test_list_paging(api: TestClient) -> None:
    alice = await register(api)
    ids = [await new_client(alice, f"Client {i:02d}") for i in range(12)]

    status, body = await alice.get("/clients")
    assert status == 200
    data = body["data"]
    assert set(data) == {"clients", "total_pages", "current_page", "total_items"}
    assert len(data["clients"]) == 10
    assert (data["total_pages"], data["current_page"], data["total_items"]) == (2, 1, 12)

    status, body = await alice.get("/clients", params={"page": "2"})
    assert status == 200
    assert len(body["data"]["clients"]) == 2
    assert (body["data"]["total_pages"], body["data"]["current_page"]) == (2, 2)

    first = [c["id"] for c in data["clients"]]
    second = [c["id"] for c in body["data"]["clients"]]
    assert sorted(first + second) == sorted(ids)

    status, body = await alice.get("/clients", params={"page": "3"})
    assert status == 200
    assert body["data"]["clients"] == []
    data = body["data"]
    assert (data["total_pages"], data["current_page"], data["total_items"]) == (2, 3, 12)

    status, body = await alice.get("/clients", params={"limit": "5", "page": "3"})
    assert status == 200
    assert len(body["data"]["clients"]) == 2 and body["data"]["total_pages"] == 3

    status, body = await alice.get("/clients", params={"limit": "100"})
    assert status == 200 and len(body["data"]["clients"]) == 12 and body["data"]["total_pages"] == 1


@pytest.mark.parametrize(
    ("params", "offending"),
    [
        ({"limit": "101"}, {"limit"}),
        ({"limit": "0"}, {"limit"}),
        ({"limit": "-1"}, {"limit"}),
        ({"page": "0"}, {"page"}),
        ({"page": "-3"}, {"page"}),
        ({"page": "two"}, {"page"}),
        ({"limit": "1.5"}, {"limit"}),
        ({"page": "0", "limit": "101"}, {"page", "limit"}),
        ({"sort": "password"}, {"sort"}),
        ({"order": "sideways"}, {"order"}),
    ],
)
async def test_list_query_validation(api: TestClient, params: dict[str, str], offending: set[str]) -> None:
    alice = await register(api)
    status, body = await alice.get("/clients", params=params)
    assert status == 422, body
    assert fields_of(body) == offending


async def test_empty_list(api: TestClient) -> None:
    alice = await register(api)
    status, body = await alice.get("/clients")
    assert status == 200
    assert body["data"] == {"clients": [], "total_pages": 0, "current_page": 1, "total_items": 0}


async def test_sorting_by_each_field(api: TestClient, clock: FrozenClock) -> None:
    alice = await register(api)
    banana = await new_client(alice, "Banana")
    clock.advance(seconds=1)
    apple = await new_client(alice, "apple")
    clock.advance(seconds=1)
    cherry = await new_client(alice, "Cherry")
    clock.advance(seconds=1)
    # Touch banana last so updated_at order differs from created_at order.
    assert (await alice.put(f"/clients/{banana}", json={"is_active": True}))[0] == 200

    assert await all_client_ids(alice) == [cherry, apple, banana]  # default: created_at desc
    assert await all_client_ids(alice, sort="created_at", order="asc") == [banana, apple, cherry]
    assert await all_client_ids(alice, sort="created_at", order="desc") == [cherry, apple, banana]
    assert await all_client_ids(alice, sort="updated_at", order="asc") == [apple, cherry, banana]
    assert await all_client_ids(alice, sort="updated_at", order="desc") == [banana, cherry, apple]
    names_asc = await all_client_ids(alice, sort="name", order="asc")
    assert await all_client_ids(alice, sort="name", order="desc") == names_asc[::-1]
    # Whatever collation the store uses, both kinds must agree on it: case-insensitive here.
    assert names_asc == [apple, banana, cherry]
    assert await all_client_ids(alice, sort="name") == [cherry, banana, apple]  # order defaults to desc


async def test_ties_are_broken_by_id_so_paging_is_stable(api: TestClient, clock: FrozenClock) -> None:
    alice = await register(api)
    ids = [await new_client(alice, "Same Name") for _ in range(7)]  # same name, same instant
    by_id = sorted(ids, key=uuid.UUID)
    for sort in ("created_at", "updated_at", "name"):
        for order, expected in (("asc", by_id), ("desc", by_id[::-1])):
            assert await all_client_ids(alice, sort=sort, order=order) == expected, (sort, order)
            paged: list[str] = []
            for page in (1, 2, 3, 4):
                status, body = await alice.get("/clients", params={"sort": sort, "order": order,
                                                                   "limit": "2", "page": str(page)})
                assert status == 200
                paged += [c["id"] for c in body["data"]["clients"]]
            assert paged == expected, (sort, order)


async def test_users_only_see_their_own_clients(api: TestClient) -> None:
    alice = await register(api, "Alice")
    bob = await register(api, "Bob")
    a1 = await new_client(alice, "Alice One")
    a2 = await new_client(alice, "Alice Two")
    b1 = await new_client(bob, "Bob One")
    await add_member(alice, a2, bob, "viewer")

    assert sorted(await all_client_ids(alice)) == sorted([a1, a2])
    status, body = await bob.get("/clients", params={"sort": "name", "order": "asc"})
    assert [(c["id"], c["role"]) for c in body["data"]["clients"]] == [(a2, "viewer"), (b1, "admin")]
    assert body["data"]["total_items"] == 2

    carol = await register(api, "Carol")
    status, body = await carol.get("/clients")
    assert status == 200
    assert body["data"]["clients"] == [] and body["data"]["total_items"] == 0


async def test_platform_admin_sees_every_client_as_admin(api: TestClient) -> None:
    alice = await register(api, "Alice")
    bob = await register(api, "Bob")
    ids = {await new_client(alice, "A"), await new_client(bob, "B")}
    root = await make_admin(api)
    assert root.user["role"] == "admin"

    status, body = await root.get("/clients")
    assert status == 200
    assert {c["id"] for c in body["data"]["clients"]} == ids
    assert {c["role"] for c in body["data"]["clients"]} == {"admin"}
    assert body["data"]["total_items"] == 2

    for client_id in ids:
        status, body = await root.get(f"/clients/{client_id}")
        assert status == 200 and body["data"]["role"] == "admin"
        status, body = await root.get(f"/clients/{client_id}/role")
        assert status == 200 and body["data"] == {"role": "admin"}
        status, body = await root.put(f"/clients/{client_id}", json={"name": "Renamed by root"})
        assert status == 200 and body["data"]["name"] == "Renamed by root"
    # A client the admin creates appears once, still as admin.
    own = await new_client(root, "Root's")
    status, body = await root.get("/clients")
    assert body["data"]["total_items"] == 3 and own in {c["id"] for c in body["data"]["clients"]}


async def test_get_client_visibility_and_role(api: TestClient) -> None:
    alice = await register(api, "Alice")
    member = await register(api, "Member")
    viewer = await register(api, "Viewer")
    outsider = await register(api, "Outsider")
    client_id = await new_client(alice, "Acme")
    await add_member(alice, client_id, member, "member")
    await add_member(alice, client_id, viewer, "viewer")

    for caller, role in ((alice, "admin"), (member, "member"), (viewer, "viewer")):
        status, body = await caller.get(f"/clients/{client_id}")
        assert status == 200, body
        assert body["data"]["id"] == client_id and body["data"]["name"] == "Acme"
        assert body["data"]["role"] == role
        status, body = await caller.get(f"/clients/{client_id}/role")
        assert status == 200 and body["data"] == {"role": role}

    missing = str(uuid.uuid4())
    for path in (f"/clients/{client_id}", f"/clients/{client_id}/role", f"/clients/{missing}",
                 f"/clients/{missing}/role"):
        status, body = await outsider.get(path)
        assert status == 404, (path, body)
        assert body["status_code"] == 404 and "data" not in body
    # An existing client and a missing one look the same to an outsider.
    _, existing = await outsider.get(f"/clients/{client_id}")
    _, absent = await outsider.get(f"/clients/{missing}")
    assert existing == absent


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_malformed_client_id_is_422(api: TestClient, bad_id: str) -> None:
    alice = await register(api)
    for method, path in (("GET", f"/clients/{bad_id}"), ("GET", f"/clients/{bad_id}/role"),
                         ("PUT", f"/clients/{bad_id}"), ("GET", f"/clients/{bad_id}/members")):
        status, body = await alice.call(method, path, json={"name": "x"})
        assert status == 422, (method, path, body)
        assert fields_of(body) == {"client_id"}


async def test_update_client_needs_the_admin_role(api: TestClient) -> None:
    alice = await register(api, "Alice")
    member = await register(api, "Member")
    viewer = await register(api, "Viewer")
    outsider = await register(api, "Outsider")
    client_id = await new_client(alice, "Acme")
    await add_member(alice, client_id, member, "member")
    await add_member(alice, client_id, viewer, "viewer")

    for caller in (member, viewer):
        status, body = await caller.put(f"/clients/{client_id}", json={"name": "Hijacked"})
        assert status == 403, body
        assert body["status_code"] == 403
    status, _ = await outsider.put(f"/clients/{client_id}", json={"name": "Hijacked"})
    assert status == 404
    assert (await alice.get(f"/clients/{client_id}"))[1]["data"]["name"] == "Acme"


async def test_update_client_fields(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.post("/clients", json={"name": "Acme", "logo": "https://img.example/1.png"})
    client_id = body["data"]["id"]
    created_at = body["data"]["created_at"]

    status, body = await alice.put(f"/clients/{client_id}", json={"name": "Acme Corp"})
    assert status == 200, body
    assert body["data"]["name"] == "Acme Corp"
    assert body["data"]["logo"] == "https://img.example/1.png"  # absent logo is left alone
    assert body["data"]["role"] == "admin" and body["data"]["created_at"] == created_at

    status, body = await alice.put(f"/clients/{client_id}", json={"logo": "http://img.example/2.png"})
    assert status == 200 and body["data"]["logo"] == "http://img.example/2.png"
    assert body["data"]["name"] == "Acme Corp"

    status, body = await alice.put(f"/clients/{client_id}", json={"logo": None})
    assert status == 200 and body["data"]["logo"] is None

    status, body = await alice.put(f"/clients/{client_id}", json={"is_active": False})
    assert status == 200 and body["data"]["is_active"] is False

    status, body = await alice.get(f"/clients/{client_id}")
    assert body["data"]["name"] == "Acme Corp"
    assert body["data"]["logo"] is None and body["data"]["is_active"] is False
    # An inactive client is still listed for its members.
    status, body = await alice.get("/clients")
    assert [c["id"] for c in body["data"]["clients"]] == [client_id]


@pytest.mark.parametrize(
    ("payload", "offending"),
    [
        ({"logo": "ftp://example.com/x.png"}, {"logo"}),
        ({"logo": "example.com/x.png"}, {"logo"}),
        ({"logo": "https://" + "x" * 2048}, {"logo"}),
        ({"name": ""}, {"name"}),
        ({"name": None, "is_active": "false"}, {"name", "is_active"}),
        ({"is_active": None}, {"is_active"}),
        ({"is_active": 0}, {"is_active"}),
        ({"role": "viewer"}, {"role"}),
        ({"name": "", "logo": "nope"}, {"name", "logo"}),
    ],
)
async def test_update_client_validation(api: TestClient, payload: dict[str, Any],
                                        offending: set[str]) -> None:
    alice = await register(api)
    status, body = await alice.post("/clients", json={"name": "Acme", "logo": "https://img.example/1.png"})
    client_id = body["data"]["id"]
    before = (await alice.get(f"/clients/{client_id}"))[1]["data"]
    status, body = await alice.put(f"/clients/{client_id}", json=payload)
    assert status == 422, body
    assert fields_of(body) == offending
    assert (await alice.get(f"/clients/{client_id}"))[1]["data"] == before


async def test_update_client_malformed_body_is_400(api: TestClient) -> None:
    alice = await register(api)
    client_id = await new_client(alice)
    for raw, expected in ((b"{", 400), (b"", 400), (b"[]", 422)):  # JSON but no object: 422
        status, body = await alice.put(f"/clients/{client_id}", data=raw,
                                       headers={"Content-Type": "application/json"})
        assert status == expected, (raw, body)


async def test_an_empty_sort_is_refused_not_defaulted(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.get("/clients", params={"sort": ""})
    assert status == 422, body
    assert [d["field"] for d in body["detail"]] == ["sort"]


async def test_pages_far_past_the_end_are_empty_up_to_a_bound(api: TestClient) -> None:
    alice = await register(api, "Alice")
    await new_client(alice)
    status, body = await alice.get("/clients", params={"page": "1000000000", "limit": "100"})
    assert status == 200, body
    assert body["data"]["clients"] == [] and body["data"]["total_items"] == 1
    status, body = await alice.get("/clients", params={"page": "1" + "0" * 25})
    assert status == 422, body
    assert [d["field"] for d in body["detail"]] == ["page"]


async def test_a_logo_of_control_characters_is_refused(api: TestClient) -> None:
    alice = await register(api, "Alice")
    status, body = await alice.post("/clients", json={"name": "Acme", "logo": "\u001f"})
    assert status == 422, body
    assert [d["field"] for d in body["detail"]] == ["logo"]
