"""The app's API routes and the OpenAPI contract are the same set, with the same names."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from catalyst_api.app import create_app
from catalyst_api.settings import Settings

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def contract() -> dict[str, Any]:
    text = resources.files("catalyst_contracts").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def contract_operations() -> dict[tuple[str, str], str]:
    doc = contract()
    (server,) = doc["servers"]
    base = server["url"].rstrip("/")
    return {
        (method.upper(), base + path): op["operationId"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    }


def app_routes(app: web.Application, prefix: str = "/api/v1") -> dict[tuple[str, str], str | None]:
    found: dict[tuple[str, str], str | None] = {}
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical
        if path == prefix or path.startswith(prefix + "/"):
            key = (route.method, path)
            assert key not in found, f"two routes for {key}"
            found[key] = route.name
    return found


def build_app() -> web.Application:
    return create_app(Settings(database_url="memory", data_dir=Path("unused"),
                               jwt_secret="test-secret-that-is-long-enough-for-hs256!"))


def test_contract_lists_operations_under_the_api_prefix() -> None:
    ops = contract_operations()
    assert ops, "the contract has no operations"
    assert all(path.startswith("/api/v1/") for _, path in ops)
    assert len(set(ops.values())) == len(ops), "operationIds must be unique"


def test_app_routes_are_exactly_the_contract_operations() -> None:
    routes = app_routes(build_app())
    ops = contract_operations()
    missing = sorted(set(ops) - set(routes))
    undocumented = sorted(set(routes) - set(ops))
    assert not missing, f"in the contract but not served: {missing}"
    assert not undocumented, f"served but not in the contract: {undocumented}"


def test_route_names_are_the_operation_ids() -> None:
    routes = app_routes(build_app())
    ops = contract_operations()
    wrong = {key: (routes[key], ops[key]) for key in ops.keys() & routes.keys() if routes[key] != ops[key]}
    assert not wrong, f"route name != operationId: {wrong}"


def test_served_document_is_the_contract() -> None:
    from catalyst_api.app import openapi_document

    assert openapi_document() == contract()
