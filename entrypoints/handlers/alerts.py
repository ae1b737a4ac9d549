"""Alerts and alert instances."""

from __future__ import annotations

import uuid

from aiohttp import web

from catalyst_api.inputs import nul_problems
from catalyst_api.keys import services
from catalyst_api.middleware import actor
from catalyst_api.schemas.alerts import (
    AlertScope,
    InstanceListQuery,
    OffsetQuery,
    ResolveBody,
    present_alert,
    present_instance,
    present_instances,
    present_test,
    present_trigger,
)
from catalyst_api.wire import (
    BODY,
    all_of,
    attempt,
    envelope,
    large_envelope,
    no_body,
    path_id,
    query,
    read_json,
    structure,
)
from catalyst_core.alerts.config import parse_config
from catalyst_core.alerts.model import AlertId, InstanceId
from catalyst_core.alerts.service import InstanceFilters
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId

routes = web.RouteTableDef()
# `instances` is a path of its own, not an alert id: PUT or DELETE /alerts/instances is 405,
# not an update of an alert named "instances" (422). Any other malformed id still reaches the handler.
ALERT = "/alerts/{alert_id:(?!instances$)[^{}/]+}"


def _scope(request: web.Request) -> ClientId | None:
    client_id = query(request, AlertScope).client_id
    return None if client_id is None else ClientId(client_id)


def _client_in_body(raw: object) -> ClientId | None:
    if raw is None:
        return None
    try:
        return ClientId(uuid.UUID(raw)) if isinstance(raw, str) else _not_a_uuid()
    except ValueError:
        return _not_a_uuid()


def _not_a_uuid() -> ClientId:
    raise InvalidInput({"client_id": "must be a UUID"})


def _alert_id(request: web.Request) -> AlertId:
    return AlertId(path_id(request, "alert_id"))


def _alert_and_scope(request: web.Request) -> tuple[AlertId, ClientId | None]:
    alert_id, scope = all_of(lambda: _alert_id(request), lambda: _scope(request))
    return alert_id, scope


# The instance routes come first: /alerts/instances must not be read as an alert id.

@routes.get("/alerts/instances", name="list_alert_instances")
async def list_alert_instances(request: web.Request) -> web.Response:
    q, page_request = all_of(lambda: query(request, InstanceListQuery),
                              lambda: query(request, OffsetQuery).offset_request())
    filters = InstanceFilters(
        client_id=None if q.client_id is None else ClientId(q.client_id),
        alert_id=None if q.alert_id is None else AlertId(q.alert_id), status=q.status)
    page = await services(request).alerts().list_instances(actor(request), filters, page_request)
    return envelope(present_instances(page))


@routes.get("/alerts/instances/{instance_id}", name="get_alert_instance")
async def get_alert_instance(request: web.Request) -> web.Response:
    instance = await services(request).alerts().get_instance(
        actor(request), InstanceId(path_id(request, "instance_id")))
    return envelope(present_instance(instance))


@routes.put("/alerts/instances/{instance_id}/resolve", name="resolve_alert_instance")
async def resolve_alert_instance(request: web.Request) -> web.Response:
    raw = await read_json(request, optional=True)
    instance_id, shape = all_of(lambda: InstanceId(path_id(request, "instance_id")),
                                lambda: structure(BODY, raw, ResolveBody))
    instance = await services(request).alerts().resolve(actor(request), instance_id,
                                                        shape.resolution_notes)
    return envelope(present_instance(instance), message="Alert instance resolved")


@routes.put("/alerts/instances/{instance_id}/dismiss", name="dismiss_alert_instance")
async def dismiss_alert_instance(request: web.Request) -> web.Response:
    await no_body(request)
    instance_id = InstanceId(path_id(request, "instance_id"))
    instance = await services(request).alerts().dismiss(actor(request), instance_id)
    return envelope(present_instance(instance), message="Alert instance dismissed")


@routes.get("/alerts", name="list_alerts")
async def list_alerts(request: web.Request) -> web.Response:
    alerts = await services(request).alerts().list(actor(request), _scope(request))
    return envelope({"settings": [present_alert(a) for a in alerts]})


@routes.post("/alerts", name="create_alert")
async def create_alert(request: web.Request) -> web.Response:
    raw = await read_json(request)
    problems = nul_problems(raw)
    scope = attempt(problems, lambda: _scope(request))
    # The client may also be named in the body, as tasks allow; it is not part of the configuration.
    in_body_raw = raw.pop("client_id", None)
    in_body = attempt(problems, lambda: _client_in_body(in_body_raw))
    client_id = scope
    if in_body is not None:
        client_id = in_body
        if scope is not None and scope != client_id:
            problems["client_id"] = "the body and the query name different clients"
    if client_id is None and "client_id" not in problems and in_body_raw is None:
        problems["client_id"] = "required (as a query parameter or in the body)"
    if problems:
        # The configuration's own problems too (parsing it is pure): one 422 names them all.
        config_problems: dict[str, str] = {}
        attempt(config_problems, lambda: parse_config(raw))
        raise InvalidInput({**config_problems, **problems})
    assert client_id is not None
    alert = await services(request).alerts().create(actor(request), client_id, raw)
    return envelope(present_alert(alert), status=201, message="Alert created")


@routes.get(ALERT, name="get_alert")
async def get_alert(request: web.Request) -> web.Response:
    alert_id, scope = _alert_and_scope(request)
    alert = await services(request).alerts().get(actor(request), alert_id, scope)
    return envelope(present_alert(alert))


@routes.put(ALERT, name="update_alert")
async def update_alert(request: web.Request) -> web.Response:
    patch = await read_json(request)
    problems = nul_problems(patch)
    alert_id, scope = attempt(problems, lambda: _alert_and_scope(request), (None, None))
    if problems:
        raise InvalidInput(problems)
    alert = await services(request).alerts().update(actor(request), alert_id, scope, patch)
    return envelope(present_alert(alert), message="Alert updated")


@routes.delete(ALERT, name="delete_alert")
async def delete_alert(request: web.Request) -> web.Response:
    alert_id, scope = _alert_and_scope(request)
    await services(request).alerts().delete(actor(request), alert_id, scope)
    return envelope(None, message="Alert deleted")


@routes.post(ALERT + "/trigger", name="trigger_alert")
async def trigger_alert(request: web.Request) -> web.Response:
    await no_body(request)
    alert_id, scope = _alert_and_scope(request)
    result = await services(request).alerts().trigger(actor(request), alert_id, scope)
    return envelope(present_trigger(result), message="Alert triggered successfully")


@routes.post(ALERT + "/test", name="test_alert")
async def test_alert(request: web.Request) -> web.Response:
    await no_body(request)
    alert_id, scope = _alert_and_scope(request)
    result = await services(request).alerts().test(actor(request), alert_id, scope)
    # Every offending entity of a large account can be thousands of lines: encoded off the loop.
    return await large_envelope(lambda: present_test(result), message="Alert evaluated")
