"""Clients, the caller's role in one, and its members."""

from __future__ import annotations

from aiohttp import web

from catalyst_api.keys import services
from catalyst_api.middleware import actor
from catalyst_api.schemas.clients import (
    AddMemberBody,
    CreateClientBody,
    UpdateClientBody,
    UpdateMemberBody,
    present_client,
    present_member,
)
from catalyst_api.schemas.common import SortedPageQuery, page_data
from catalyst_api.wire import BODY, all_of, body, envelope, patch_of, path_id, query, read_json, structure
from catalyst_core.changes import UNCHANGED
from catalyst_core.clients.service import ClientChanges
from catalyst_core.ids import ClientId, UserId

routes = web.RouteTableDef()


@routes.get("/clients", name="list_clients")
async def list_clients(request: web.Request) -> web.Response:
    q = query(request, SortedPageQuery)
    page = await services(request).clients().list(actor(request), q.page_request(), q.sort_spec())
    return envelope(page_data("clients", page, present_client))


@routes.post("/clients", name="create_client")
async def create_client(request: web.Request) -> web.Response:
    shape = await body(request, CreateClientBody)
    view = await services(request).clients().create(actor(request), shape.name, shape.logo)
    return envelope(present_client(view), status=201, message="Client created")


@routes.get("/clients/{client_id}", name="get_client")
async def get_client(request: web.Request) -> web.Response:
    view = await services(request).clients().get(actor(request), ClientId(path_id(request, "client_id")))
    return envelope(present_client(view))


@routes.put("/clients/{client_id}", name="update_client")
async def update_client(request: web.Request) -> web.Response:
    raw = await read_json(request)
    client_id, (shape, present) = all_of(lambda: ClientId(path_id(request, "client_id")),
                                         lambda: patch_of(raw, UpdateClientBody, nullable=("logo",)))
    changes = ClientChanges(name=shape.name, logo=shape.logo if "logo" in present else UNCHANGED,
                            is_active=shape.is_active)
    view = await services(request).clients().update(actor(request), client_id, changes)
    return envelope(present_client(view), message="Client updated")


@routes.get("/clients/{client_id}/role", name="get_client_role")
async def get_client_role(request: web.Request) -> web.Response:
    role = await services(request).clients().role(actor(request), ClientId(path_id(request, "client_id")))
    return envelope({"role": role})


@routes.get("/clients/{client_id}/members", name="list_members")
async def list_members(request: web.Request) -> web.Response:
    client_id = ClientId(path_id(request, "client_id"))
    q = query(request, SortedPageQuery)
    page = await services(request).clients().list_members(
        actor(request), client_id, q.page_request(), q.sort_spec(default="added_at"))
    return envelope(page_data("members", page, present_member))


@routes.post("/clients/{client_id}/members", name="add_member")
async def add_member(request: web.Request) -> web.Response:
    raw = await read_json(request)
    client_id, shape = all_of(lambda: ClientId(path_id(request, "client_id")),
                              lambda: structure(BODY, raw, AddMemberBody))
    member = await services(request).clients().add_member(actor(request), client_id, shape.email,
                                                               shape.role)
    return envelope(present_member(member), status=201, message="Member added")


@routes.patch("/clients/{client_id}/members/{user_id}", name="update_member")
async def update_member(request: web.Request) -> web.Response:
    raw = await read_json(request)
    client_id, user_id, shape = all_of(lambda: ClientId(path_id(request, "client_id")),
                                       lambda: UserId(path_id(request, "user_id")),
                                       lambda: structure(BODY, raw, UpdateMemberBody))
    member = await services(request).clients().change_member_role(actor(request), client_id, user_id,
                                                                       shape.role)
    return envelope(present_member(member), message="Member updated")


@routes.delete("/clients/{client_id}/members/{user_id}", name="remove_member")
async def remove_member(request: web.Request) -> web.Response:
    client_id, user_id = all_of(lambda: ClientId(path_id(request, "client_id")),
                                lambda: UserId(path_id(request, "user_id")))
    await services(request).clients().remove_member(actor(request), client_id, user_id)
    return envelope(None, message="Member removed")
