"""Registration, login, the caller's profile, and health."""

from __future__ import annotations

from aiohttp import web

from catalyst_api.keys import services
from catalyst_api.middleware import actor
from catalyst_api.schemas.auth import (
    LoginBody,
    RegisterBody,
    UpdateMeBody,
    present_login,
    present_user,
)
from catalyst_api.wire import body, envelope, error_response, patch_body
from catalyst_core.auth.service import ProfileChanges

routes = web.RouteTableDef()


@routes.get("/health", name="health")
async def health(request: web.Request) -> web.Response:
    try:
        await services(request).storage().ping()
    except Exception as e:  # any failure to reach storage means "not ready", not a 500
        return error_response(503, "Service Unavailable", f"storage unreachable: {type(e).__name__}")
    return envelope({"status": "ok", "database": "ok"})


@routes.post("/auth/register", name="register")
async def register(request: web.Request) -> web.Response:
    shape = await body(request, RegisterBody)
    user = await services(request).auth().register(shape.email, shape.password, shape.name)
    return envelope(present_user(user), status=201, message="Registration successful")


@routes.post("/auth/login", name="login")
async def login(request: web.Request) -> web.Response:
    shape = await body(request, LoginBody)
    result = await services(request).login().login(shape.email, shape.password, source=request.remote)
    return envelope(present_login(result), message="Login successful")


@routes.get("/users/me", name="get_me")
async def get_me(request: web.Request) -> web.Response:
    user = await services(request).auth().me(actor(request))
    return envelope(present_user(user))


@routes.put("/users/me", name="update_me")
async def update_me(request: web.Request) -> web.Response:
    shape, _ = await patch_body(request, UpdateMeBody)
    changes = ProfileChanges(name=shape.name, email=shape.email, password=shape.password,
                             current_password=shape.current_password)
    user = await services(request).auth().update_me(actor(request), changes)
    return envelope(present_user(user), message="Profile updated")
