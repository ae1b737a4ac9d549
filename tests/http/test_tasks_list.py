"""GET /tasks: every filter alone and combined, visibility, paging edges and stable sorting.

A dataset of 27 tasks across three clients is built through the API with a frozen clock (so many
tasks share created_at / updated_at and the id tiebreak matters); each answer is compared with the
same filter or sort written in plain Python over the dataset."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from tests.helpers import Caller, add_member, make_admin, new_client, register

RANK = {"Backlog": 0, "Low": 1, "Medium": 2, "High": 3}
NAMES = ["Alpha", "alpha", "Beta", "beta report", "Gamma 50% off", "gamma_x", "Delta", "DELTA",
         "epsilon", "Zeta", "zeta", "Eta"]
DESCRIPTIONS = [None, "Check the Budget", "50% discount copy", "a_b test", "budget review", "plain"]
DUE_DATES = [None, "2024-04-01", "2024-04-01T23:59:59Z", "2024-04-02T00:00:00Z", "2024-03-31T23:59:59Z",
             "2024-04-10", "2024-04-01"]
PRIORITIES = ["Backlog", "Low", "Medium", "High", "Medium"]
TYPES = ["review_creative", "review_report", "other", "other"]


def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


class World:
    def __init__(self, api: Any, clock: FrozenClock, alice: Caller, bob: Caller, carol: Caller,
                 dave: Caller, c1: str, c2: str, c3: str) -> None:
        self.api, self.clock = api, clock
        self.alice, self.bob, self.carol, self.dave = alice, bob, carol, dave
        self.c1, self.c2, self.c3 = c1, c2, c3
        self.tasks: list[dict[str, Any]] = []   # every task alice can see, as the API shows them
        self.outside: list[str] = []             # ids of tasks in c3 (alice does not belong)


@pytest.fixture
async def world(api: Any) -> World:
    clock = FrozenClock(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    api.container.clock.override(clock)
    alice, bob, carol, dave = [await register(api, n) for n in ("Alice", "Bob", "Carol", "Dave")]
    c1, c2 = await new_client(alice, "One"), await new_client(alice, "Two")
    c3 = await new_client(dave, "Three")
    await add_member(alice, c1, bob)
    await add_member(alice, c1, carol)
    await add_member(alice, c2, bob)
    w = World(api, clock, alice, bob, carol, dave, c1, c2, c3)
    members = {c1: [alice, bob, carol], c2: [alice, bob]}
    created = []
    for i in range(25):
        client = c2 if i % 3 == 2 else c1
        people = members[client]
        creator = people[i % len(people)]
        assignees = [p.id for j, p in enumerate(people) if (i >> j) & 1]
        body = {"client_id": client, "name": NAMES[i % len(NAMES)], "priority": PRIORITIES[i % 5],
                "task_type": TYPES[i % 4], "assignees": assignees, "due_date": DUE_DATES[i % 7],
                "description": DESCRIPTIONS[i % 6]}
        status, reply = await creator.post("/tasks", json=body)
        assert status == 201, reply
        created.append((creator, reply["data"]["id"]))
        if i % 3 == 2:
            clock.advance(minutes=1)  # three tasks share each created_at
    for i, (creator, task_id) in enumerate(created):
        if i % 4 == 1:
            assert (await creator.patch(f"/tasks/{task_id}", json={"status": "in_progress"}))[0] == 200
        elif i % 7 == 3:
            assert (await creator.post(f"/tasks/{task_id}/complete"))[0] == 200
        elif i % 9 == 5:
            assert (await creator.post(f"/tasks/{task_id}/cancel"))[0] == 200
        if i % 5 == 4:
            clock.advance(seconds=30)
    for name in ("Hidden alpha", "hidden budget"):
        status, reply = await dave.post("/tasks", json={"client_id": c3, "name": name, "assignees": [dave.id],
                                                        "due_date": "2024-04-01"})
        assert status == 201
        w.outside.append(reply["data"]["id"])
    status, reply = await alice.get("/tasks", params={"limit": 100})
    assert status == 200
    w.tasks = reply["data"]["tasks"]
    assert len(w.tasks) == 25 and reply["data"]["total_items"] == 25
    return w


def default_order(rows: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(rows, key=lambda t: (ts(t["created_at"]), uuid.UUID(t["id"])), reverse=True)
    return [t["id"] for t in ordered]


async def all_ids(caller: Caller, **params: Any) -> list[str]:
    status, reply = await caller.get("/tasks", params={"limit": 100, **params})
    assert status == 200, reply
    data = reply["data"]
    assert data["total_items"] == len(data["tasks"])
    return [t["id"] for t in data["tasks"]]


def matches(t: dict[str, Any], me: str, p: dict[str, str]) -> bool:
    due = ts(t["due_date"])
    checks = [
        "client_id" not in p or t["client_id"] == p["client_id"],
        "status" not in p or t["status"] == p["status"],
        "task_type" not in p or t["task_type"] == p["task_type"],
        "priority" not in p or t["priority"] == p["priority"],
        p.get("by_me") != "true" or me in t["assignees"],
        p.get("other_people") != "true" or any(a != me for a in t["assignees"]),
        "assignee_id" not in p or p["assignee_id"] in t["assignees"],
        "q" not in p or p["q"].casefold() in t["name"].casefold()
        or p["q"].casefold() in (t["description"] or "").casefold(),
        "due_before" not in p or (due is not None and due.date() <= date.fromisoformat(p["due_before"])),
        "due_after" not in p or (due is not None and due.date() >= date.fromisoformat(p["due_after"])),
    ]
    return all(checks)


async def check_filter(w: World, caller: Caller, params: dict[str, str],
                       visible: list[dict[str, Any]]) -> int:
    expected = default_order([t for t in visible if matches(t, caller.id, params)])
    got = await all_ids(caller, **params)
    assert got == expected, params
    return len(expected)


def check_dataset_is_varied_enough(world: World) -> None:
    """Guards the tests: they are only meaningful if the dataset has ties and variety."""
    tasks = world.tasks
    assert {t["status"] for t in tasks} == {"pending", "in_progress", "completed", "cancelled"}
    assert {t["priority"] for t in tasks} == set(RANK)
    assert {t["client_id"] for t in tasks} == {world.c1, world.c2}
    assert len({t["created_at"] for t in tasks}) < len(tasks)
    assert len({t["updated_at"] for t in tasks}) < len(tasks)
    assert any(t["due_date"] is None for t in tasks)
    assert not set(world.outside) & {t["id"] for t in tasks}


async def test_each_filter_alone(world: World) -> None:
    check_dataset_is_varied_enough(world)
    w, alice = world, world.alice
    single = [
        {"client_id": w.c1}, {"client_id": w.c2},
        *({"status": s} for s in ("pending", "in_progress", "completed", "cancelled")),
        *({"task_type": s} for s in ("review_creative", "review_report", "other")),
        *({"priority": s} for s in RANK),
        {"by_me": "true"}, {"by_me": "false"}, {"other_people": "true"}, {"other_people": "false"},
        {"assignee_id": w.bob.id}, {"assignee_id": w.carol.id}, {"assignee_id": w.dave.id},
        {"q": "alpha"}, {"q": "ALPHA"}, {"q": "budget"}, {"q": "50%"}, {"q": "%"}, {"q": "_"},
        {"q": "a_b"}, {"q": "nothing like this"},
        {"due_before": "2024-04-01"}, {"due_before": "2024-03-31"}, {"due_after": "2024-04-01"},
        {"due_after": "2024-04-02"}, {"due_after": "2024-04-11"},
    ]
    sizes = {}
    for params in single:
        sizes[tuple(params.items())] = await check_filter(w, alice, params, w.tasks)
    # The filters must actually filter: none of these may be trivially all or nothing.
    for key in (("q", "%"), ("q", "_"), ("status", "completed"), ("by_me", "true"),
                ("due_before", "2024-04-01"), ("due_after", "2024-04-02"), ("assignee_id", w.carol.id)):
        assert 0 < sizes[(key,)] < 25, key
    assert sizes[(("q", "%"),)] == sizes[(("q", "50%"),)]  # '%' is a literal, not a wildcard
    assert sizes[(("q", "alpha"),)] == sizes[(("q", "ALPHA"),)]
    assert sizes[(("assignee_id", w.dave.id),)] == 0
    assert sizes[(("q", "nothing like this"),)] == 0
    assert sizes[(("by_me", "false"),)] == 25  # false means "do not filter"
    # due filters are inclusive and cover the whole day
    due_on_april_1 = {t["id"] for t in world.tasks
                      if t["due_date"] and t["due_date"].startswith("2024-04-01")}
    assert any(t["due_date"] == "2024-04-01T23:59:59Z" for t in world.tasks if t["id"] in due_on_april_1)
    both = set(await all_ids(world.alice, due_after="2024-04-01", due_before="2024-04-01"))
    assert both == due_on_april_1 and both


async def test_filters_combined(world: World) -> None:
    w = world
    combos = [
        {"client_id": w.c1, "status": "pending"},
        {"client_id": w.c1, "priority": "Medium", "task_type": "other"},
        {"by_me": "true", "other_people": "true"},
        {"status": "in_progress", "by_me": "true"},
        {"q": "budget", "client_id": w.c1},
        {"due_after": "2024-04-01", "due_before": "2024-04-02", "other_people": "true"},
        {"assignee_id": w.bob.id, "priority": "High"},
        {"client_id": w.c2, "assignee_id": w.bob.id, "q": "a"},
        {"status": "completed", "task_type": "review_creative", "priority": "Low"},
    ]
    for params in combos:
        await check_filter(w, w.alice, params, w.tasks)


async def test_visibility_and_relative_filters(world: World) -> None:
    w = world
    carol_sees = [t for t in w.tasks if t["client_id"] == w.c1]
    for caller, visible in ((w.bob, w.tasks), (w.carol, carol_sees)):
        for params in ({"by_me": "true"}, {"other_people": "true"}, {}, {"q": "eta"}):
            await check_filter(w, caller, params, visible)
    assert await all_ids(w.carol, by_me="true") != await all_ids(w.bob, by_me="true")
    # an unfiltered list spans only the caller's clients
    assert set(await all_ids(w.carol)) == {t["id"] for t in w.tasks if t["client_id"] == w.c1}
    assert set(await all_ids(w.dave)) == set(w.outside)
    # Dave is assigned to his own tasks; alice's by_me / assignee_id cannot reach them.
    assert await all_ids(w.alice, assignee_id=w.dave.id) == []
    admin = await make_admin(w.api)
    assert set(await all_ids(admin)) == {t["id"] for t in w.tasks} | set(w.outside)
    # a client_id of a client the caller does not belong to (or that does not exist) is 404
    for caller, client in ((w.alice, w.c3), (w.carol, w.c2), (w.dave, w.c1), (w.alice, str(uuid.uuid4()))):
        status, reply = await caller.get("/tasks", params={"client_id": client})
        assert status == 404, reply
        assert reply["status_code"] == 404 and "data" not in reply


async def test_sort_is_stable_across_pages(world: World) -> None:
    for field in ("created_at", "updated_at", "name", "due_date", "priority"):
        await check_sort(world, field)


async def check_sort(world: World, field: str) -> None:
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "created_at": lambda t: ts(t["created_at"]),
        "updated_at": lambda t: ts(t["updated_at"]),
        "name": lambda t: t["name"].casefold(),
        "due_date": lambda t: ts(t["due_date"]),
        "priority": lambda t: RANK[t["priority"]],
    }
    key = keys[field]
    ties = len(world.tasks) - len({key(t) for t in world.tasks})
    assert ties >= 5, "the dataset must have ties for this sort to mean anything"
    for order in ("asc", "desc"):
        reverse = order == "desc"
        present = [t for t in world.tasks if key(t) is not None]
        absent = [t for t in world.tasks if key(t) is None]  # no due date: last either way
        ranked = sorted(present, key=lambda t: (key(t), uuid.UUID(t["id"])), reverse=reverse)
        ranked += sorted(absent, key=lambda t: uuid.UUID(t["id"]), reverse=reverse)
        expected = [t["id"] for t in ranked]
        walked: list[str] = []
        for page in range(1, 11):
            status, reply = await world.alice.get("/tasks", params={"sort": field, "order": order,
                                                                    "limit": 3, "page": page})
            assert status == 200, reply
            data = reply["data"]
            assert (data["current_page"], data["total_pages"], data["total_items"]) == (page, 9, 25)
            assert len(data["tasks"]) == (3 if page < 9 else 1 if page == 9 else 0)
            walked += [t["id"] for t in data["tasks"]]
        assert walked == expected, (field, order)


async def test_default_sort_and_paging_edges(world: World) -> None:
    assert await all_ids(world.alice) == default_order(world.tasks)
    assert await all_ids(world.alice, sort="created_at") == default_order(world.tasks)
    assert await all_ids(world.alice, order="desc") == default_order(world.tasks)
    assert await all_ids(world.alice, order="asc") == default_order(world.tasks)[::-1]
    alice = world.alice

    async def page(**params: Any) -> dict[str, Any]:
        status, reply = await alice.get("/tasks", params=params)
        assert status == 200, reply
        return reply["data"]

    first = await page()
    assert len(first["tasks"]) == 10
    assert (first["current_page"], first["total_pages"], first["total_items"]) == (1, 3, 25)
    assert [t["id"] for t in first["tasks"]] == default_order(world.tasks)[:10]
    last = await page(page=3)
    assert [t["id"] for t in last["tasks"]] == default_order(world.tasks)[20:]
    exact = await page(page=5, limit=5)  # 25 items, 5 a page: page 5 is exactly full and the last
    assert (len(exact["tasks"]), exact["total_pages"]) == (5, 5)
    past = await page(page=6, limit=5)
    assert (past["tasks"], past["current_page"], past["total_pages"], past["total_items"]) == ([], 6, 5, 25)
    far = await page(page=1_000_000_000, limit=100)  # the largest page the contract allows
    assert (far["tasks"], far["total_items"]) == ([], 25)
    biggest = await page(limit=100)
    assert (len(biggest["tasks"]), biggest["total_pages"]) == (25, 1)
    one = await page(limit=1, page=25)
    assert [t["id"] for t in one["tasks"]] == default_order(world.tasks)[24:]
    empty = await page(q="no task has this text")
    assert empty == {"tasks": [], "total_pages": 0, "total_items": 0, "current_page": 1}


BAD_QUERIES = [
    ({"limit": "101"}, "limit"), ({"limit": "0"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"page": "0"}, "page"), ({"page": "-3"}, "page"), ({"page": "abc"}, "page"), ({"page": "1.5"}, "page"),
    ({"limit": "ten"}, "limit"), ({"limit": ""}, "limit"),
    ({"status": "done"}, "status"), ({"task_type": "bug"}, "task_type"), ({"priority": "high"}, "priority"),
    ({"by_me": "yes"}, "by_me"), ({"other_people": "2"}, "other_people"),
    ({"assignee_id": "not-a-uuid"}, "assignee_id"), ({"client_id": "123"}, "client_id"),
    ({"due_before": "2024-02-30"}, "due_before"), ({"due_after": "01/04/2024"}, "due_after"),
    ({"due_before": "2024-04-01T00:00:00Z"}, "due_before"),
    ({"sort": "status"}, "sort"), ({"sort": "id"}, "sort"), ({"order": "up"}, "order"),
]


async def test_bad_query_values_are_422_naming_the_field(api: Any) -> None:
    alice = await register(api)
    await new_client(alice)
    for params, field in BAD_QUERIES:
        status, reply = await alice.get("/tasks", params=params)
        assert status == 422, (params, reply)
        assert reply["status_code"] == 422 and "data" not in reply
        assert field in {d["field"] for d in reply["detail"]}, params


async def test_several_bad_query_values_are_all_named(api: Any) -> None:
    alice = await register(api)
    status, reply = await alice.get("/tasks", params={"status": "x", "priority": "y", "assignee_id": "z"})
    assert status == 422
    assert {d["field"] for d in reply["detail"]} >= {"status", "priority", "assignee_id"}


async def test_limit_100_is_allowed_and_whitespace_q_does_not_filter(api: Any) -> None:
    alice = await register(api)
    client = await new_client(alice)
    for n in range(3):
        assert (await alice.post("/tasks", json={"client_id": client, "name": f"t{n}"}))[0] == 201
    status, reply = await alice.get("/tasks", params={"limit": "100", "q": "   "})
    assert status == 200 and reply["data"]["total_items"] == 3


async def test_non_ascii_text_search_is_case_insensitive(api: Any) -> None:
    alice = await register(api)
    client = await new_client(alice)
    status, reply = await alice.post("/tasks", json={"client_id": client, "name": "École d'été",
                                                     "description": "ÜBER Größe"})
    assert status == 201
    for q in ("école", "ÉCOLE", "ÉTÉ", "über", "größe", "GRÖSSE", "GRÖẞE"):
        assert await all_ids(alice, q=q) == [reply["data"]["id"]], q
    assert await all_ids(alice, q="ecole") == []


async def test_extreme_dates_in_filters(api: Any) -> None:
    alice = await register(api)
    client = await new_client(alice)
    _, reply = await alice.post("/tasks", json={"client_id": client, "name": "x", "due_date": "2024-04-01"})
    await alice.post("/tasks", json={"client_id": client, "name": "no due date"})
    assert await all_ids(alice, due_before="9999-12-31") == [reply["data"]["id"]]
    assert await all_ids(alice, due_after="0001-01-01") == [reply["data"]["id"]]
    assert await all_ids(alice, due_after="9999-12-31") == []
