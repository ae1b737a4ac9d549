"""The tenant-isolation matrix, generated from the route table: for every endpoint that touches a
client's data, a non-member of the client gets 404 and sees none of its data, a viewer gets 403 on
every write, a refused request changes nothing, and the client's admin gets a 2xx from the very
same request (so the 404 and 403 are about who asks, not about a bad request). Lists never carry
another client's data. Runs over memory, SQLite and PostgreSQL storage.

An endpoint added to the route table joins the matrix by itself; if the fixture world cannot
address it, its test fails and says what to add to tests/http/tenant_world.py."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from catalyst_adapters.clock import FrozenClock
from catalyst_api.app import ROUTE_TABLES
from tests.helpers import API, START, Caller
from tests.http.tenant_world import DONE_BY, RECIPES, UNSCOPED, Recipe, World, api_routes, build

ROUTES = {route.kwargs["name"]: (route.method, route.path)  # type: ignore[union-attr]
          for table in ROUTE_TABLES for route in table}
SCOPED = sorted(name for name in ROUTES if name not in UNSCOPED)
LISTS = sorted(name for name, (method, path) in ROUTES.items() if method == "GET" and "{" not in path)


async def call(who: Caller, method: str, path: str, query: dict[str, str],
               body: Any) -> tuple[int, str]:
    kwargs: dict[str, Any] = {"params": query, "headers": who.headers}
    if body is not None:
        kwargs["json"] = body
    r = await who.client.request(method, API + path, **kwargs)
    return r.status, (await r.read()).decode("utf-8", "replace")


async def snapshot(w: World) -> list[Any]:
    """What a refused request could have changed in A, read by A's admin."""
    a = w.a
    reads = [("/tasks", {"client_id": a, "limit": "100"}), (f"/tasks/{w.ids['task_id']}/comments", {}),
             (f"/clients/{a}", {}), (f"/clients/{a}/members", {"limit": "100"}),
             (f"/clients/{a}/metrics", {"limit": "100"}), ("/alerts", {"client_id": a}),
             ("/alerts/instances", {"client_id": a}), ("/leadscoring/results", {"client_id": a}),
             ("/leadscoring/settings", {"client_id": a})]
    if "submission_id" in w.ids:
        reads.append(("/creative-submissions", {"client_id": a}))
    state = []
    for path, query in reads:
        status, text = await call(w.admin, "GET", path, query, None)
        assert status == 200, (path, text)
        state.append(text)
    return state


def test_the_route_table_is_what_the_matrix_reads() -> None:
    assert len(SCOPED) > 30, SCOPED  # the table was read, not an empty list
    assert set(UNSCOPED) <= set(ROUTES), set(UNSCOPED) - set(ROUTES)


async def test_every_api_route_of_the_app_is_in_the_route_table(api_factory: Any) -> None:
    # A route added to the app some other way would escape the matrix: refuse it here.
    api = await api_factory("memory")
    served = api_routes(api.app)
    assert set(served) == set(ROUTES), (
        "routes served but not in ROUTE_TABLES (or the other way round): "
        f"{set(served) ^ set(ROUTES)}; put them in entrypoints/app.py ROUTE_TABLES")


@pytest.fixture(params=("memory", "sqlite"))
async def matrix_api(request: pytest.FixtureRequest, api_factory: Any) -> TestClient:
    """The matrix on memory and SQLite: the rules it checks live in the core, the same over every
    storage (the list test, whose answers come from each storage's queries, runs on all three)."""
    return await api_factory(request.param)


@pytest.fixture
def matrix_clock(matrix_api: TestClient) -> FrozenClock:
    frozen = FrozenClock(START)
    matrix_api.container.clock.override(frozen)  # type: ignore[attr-defined]
    return frozen


@pytest.mark.parametrize("name", SCOPED)
async def test_tenant_isolation(matrix_api: TestClient, matrix_clock: FrozenClock, name: str) -> None:
    api = matrix_api
    w = await build(api)
    method, template = api_routes(api.app)[name]
    try:
        path = w.fill(template)
    except LookupError as e:
        pytest.fail(str(e), pytrace=False)
    recipe = RECIPES.get(name, Recipe())
    query, body = w.values(recipe.query), w.values(recipe.body)
    before = await snapshot(w)
    secrets = w.secrets_of_a()

    status, text = await call(w.outsider, method, path, query, body)
    assert status == 404, f"{name}: a non-member got {status}, not 404: {text}"
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"{name}: the 404 shows A's data {leaked}: {text}"

    status, text = await call(w.viewer, method, path, query, body)
    if method == "GET":
        assert status == 200, f"{name}: a viewer of the client could not read: {status} {text}"
    else:
        assert status == 403, f"{name}: a viewer's write got {status}, not 403: {text}"
    assert await snapshot(w) == before, f"{name}: a refused request changed the client's data"

    owner = getattr(w, DONE_BY.get(name, "admin"))
    status, text = await call(owner, method, path, query, body)
    assert 200 <= status < 300, (
        f"{name}: A's {DONE_BY.get(name, 'admin')} got {status} for the request the matrix sends ({text}), "
        "so the 404 and 403 above prove nothing: give the route a valid request in "
        "RECIPES in tests/http/tenant_world.py")


@pytest.mark.parametrize("name", LISTS)
async def test_lists_never_carry_another_clients_data(api: TestClient, clock: FrozenClock,
                                                      name: str) -> None:
    w = await build(api)
    method, path = api_routes(api.app)[name]
    recipe = RECIPES.get(name, Recipe())
    # The outsider asks for their own client where the route takes one, else for everything.
    query = {k: (w.b if v == "{client_id}" else v) for k, v in recipe.query.items()}
    status, text = await call(w.outsider, method, path, query, None)
    assert status == 200, f"{name}: {status} {text}"
    leaked = [s for s in w.secrets_of_a() if s in text]
    assert not leaked, f"{name}: the outsider's list shows A's data {leaked}: {text}"
    # The control: A's own viewer sees A's data through the same route (where it lists A's data).
    if "client_id" in recipe.query or name in ("list_tasks", "list_clients", "list_alert_instances",
                                                "list_lead_results"):
        status, text = await call(w.viewer, method, path, w.values(recipe.query), None)
        assert status == 200 and any(s in text for s in w.secrets_of_a()), (name, text)
