"""Lead scoring: a client's settings, scoring one lead or a batch, and the results with their history."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, TypeVar

from aiohttp import web

from catalyst_api.inputs import nul_problems, refuse_other_media
from catalyst_api.keys import SETTINGS, services
from catalyst_api.middleware import actor
from catalyst_api.schemas.leads import (
    LEAD_BODY,
    BatchBody,
    LeadScope,
    ScoreBody,
    check_batch_size,
    present_batch,
    present_history,
    present_result,
    present_results,
    present_settings,
    results_query,
)
from catalyst_api.wire import decode_json, envelope, large_envelope, path_id, query, read_json, structure
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.leads.model import LeadId

routes = web.RouteTableDef()

T = TypeVar("T")

# Bodies past this many bytes are decoded and checked on a worker thread: a full batch takes tens
# of milliseconds of CPU. Answers are presented a slice at a time on the loop (large_envelope).
LARGE_BODY_BYTES = 64 * 1024


def _client_of(query_scope: uuid.UUID | None, in_body: uuid.UUID | None,
               problems: dict[str, str]) -> ClientId | None:
    """The client named in the query or the body (both may, if they agree)."""
    if in_body is not None and query_scope is not None and in_body != query_scope:
        problems["client_id"] = "the body and the query name different clients"
        return None
    client_id = in_body or query_scope
    if client_id is None and "client_id" not in problems:
        problems["client_id"] = "required (in the body or as a query parameter)"
    return None if client_id is None else ClientId(client_id)


def _scope(request: web.Request, problems: dict[str, str]) -> uuid.UUID | None:
    try:
        return query(request, LeadScope).client_id
    except InvalidInput as e:
        problems.update(e.fields)
        return None


def _scoped_body(scope: tuple[uuid.UUID | None, dict[str, str]], raw: dict[str, Any],
                 shape: type[T]) -> tuple[T, ClientId]:
    """`raw` read into `shape`, and the client from it or the query (`scope`: its client and its
    problems); one InvalidInput names every bad query parameter and body field."""
    in_query, problems = scope[0], dict(scope[1])
    parsed, client_id = None, None
    try:
        parsed = structure(LEAD_BODY, raw, shape)
    except InvalidInput as e:
        problems.update(e.fields)
    if parsed is not None:
        client_id = _client_of(in_query, parsed.client_id, problems)  # type: ignore[attr-defined]
    if problems:
        raise InvalidInput(problems)
    assert parsed is not None and client_id is not None
    return parsed, client_id


def _query_scope(request: web.Request) -> tuple[uuid.UUID | None, dict[str, str]]:
    problems: dict[str, str] = {}
    return _scope(request, problems), problems


# -- settings --------------------------------------------------------------------------------------

@routes.get("/leadscoring/settings", name="get_lead_settings")
async def get_lead_settings(request: web.Request) -> web.Response:
    problems: dict[str, str] = {}
    client_id = _client_of(_scope(request, problems), None, problems)
    if problems:
        raise InvalidInput(problems)
    assert client_id is not None
    settings = await services(request).leads().settings(actor(request), client_id)
    return envelope(present_settings(settings))


@routes.put("/leadscoring/settings", name="update_lead_settings")
async def update_lead_settings(request: web.Request) -> web.Response:
    raw = await read_json(request)
    problems = nul_problems(raw)
    scope = _scope(request, problems)
    # The client may also be named in the body, as alerts allow; it is not part of the settings.
    in_body = None
    if "client_id" in raw:
        try:
            in_body = structure(LEAD_BODY, {"client_id": raw.pop("client_id")}, LeadScope).client_id
        except InvalidInput as e:
            problems.update(e.fields)
    client_id = _client_of(scope, in_body, problems)
    if problems:
        raise InvalidInput(problems)
    assert client_id is not None
    settings = await services(request).leads().update_settings(actor(request), client_id, raw)
    return envelope(present_settings(settings), message="Lead scoring settings updated")


# -- scoring ---------------------------------------------------------------------------------------

@routes.post("/leadscoring/score", name="score_lead")
async def score_lead(request: web.Request) -> web.Response:
    shape, client_id = _scoped_body(_query_scope(request), await read_json(request), ScoreBody)
    result = await services(request).leads().score(actor(request), client_id, shape.lead())
    return envelope(present_result(result), message="Lead scored")


@routes.post("/leadscoring/score/batch", name="score_lead_batch")
async def score_lead_batch(request: web.Request) -> web.Response:
    # 1,000 leads with their raw data can outgrow other bodies' limit: the ingest limit applies.
    raw = await request.clone(client_max_size=request.app[SETTINGS].max_ingest_bytes).read()
    refuse_other_media(request, raw)
    scope = _query_scope(request)

    def parse() -> tuple[BatchBody, ClientId]:
        data = decode_json(raw)
        try:
            check_batch_size(data)
        except InvalidInput as e:
            raise InvalidInput({**scope[1], **e.fields}) from None
        return _scoped_body(scope, data, BatchBody)

    shape, client_id = await asyncio.to_thread(parse) if len(raw) > LARGE_BODY_BYTES else parse()
    results = await services(request).leads().score_batch(actor(request), client_id,
                                                          shape.new_leads())
    return await large_envelope(lambda: present_batch(results), message="Leads scored")


# -- results ---------------------------------------------------------------------------------------

@routes.get("/leadscoring/results", name="list_lead_results")
async def list_lead_results(request: web.Request) -> web.Response:
    filters, page, sort = results_query(request.query)
    results = await services(request).leads().list(actor(request), filters, page, sort)
    return await large_envelope(lambda: present_results(results))


@routes.get("/leadscoring/results/{lead_id}", name="get_lead_result")
async def get_lead_result(request: web.Request) -> web.Response:
    result = await services(request).leads().get(actor(request), LeadId(path_id(request, "lead_id")))
    return envelope(present_result(result))


@routes.get("/leadscoring/results/{lead_id}/history", name="list_lead_history")
async def list_lead_history(request: web.Request) -> web.Response:
    history = await services(request).leads().history(actor(request),
                                                      LeadId(path_id(request, "lead_id")))
    return envelope(present_history(history))
