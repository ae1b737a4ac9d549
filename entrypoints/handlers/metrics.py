"""Performance data of a client: ingestion and the row list."""

from __future__ import annotations

from aiohttp import web

from catalyst_api.inputs import refuse_other_media
from catalyst_api.keys import SETTINGS, services
from catalyst_api.middleware import actor
from catalyst_api.schemas.common import SortedPageQuery, page_data
from catalyst_api.schemas.metrics import IngestBody, present_row
from catalyst_api.wire import BODY, attempt, decode_json, envelope, path_id, query_parts, structure
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.metrics.parsing import parse_batch
from catalyst_core.metrics.service import RowFilters

routes = web.RouteTableDef()



@routes.post("/clients/{client_id}/metrics", name="ingest_metrics")
async def ingest_metrics(request: web.Request) -> web.Response:
    problems: dict[str, str] = {}
    client_id = attempt(problems, lambda: ClientId(path_id(request, "client_id")))
    # A full batch (5,000 rows) is larger than other bodies may be: this endpoint has its own limit.
    raw = await request.clone(client_max_size=request.app[SETTINGS].max_ingest_bytes).read()
    refuse_other_media(request, raw)

    # One C call for the JSON (~5-10 ms for a full batch, on a thread it would hold the loop as
    # long); then the rows' checks, ~50 ms, a slice at a time (catalyst_core.cooperative).
    data = decode_json(raw)
    attempt(problems, lambda: structure(BODY, data, IngestBody))
    rows = data.get("rows") if isinstance(data, dict) else None
    batch = None
    if isinstance(rows, list) and client_id is not None:
        # The rows' own problems too (their U+0000 included), so one 422 names every one.
        try:
            batch = await parse_batch(client_id, rows)
        except InvalidInput as e:
            problems.update(e.fields)
    if problems:
        raise InvalidInput(problems)
    result = await services(request).metrics().ingest(actor(request), client_id, batch)
    return envelope({"inserted": result.inserted, "updated": result.updated},
                    message="Performance data stored")


@routes.get("/clients/{client_id}/metrics", name="list_metrics")
async def list_metrics(request: web.Request) -> web.Response:
    client_id = ClientId(path_id(request, "client_id"))
    filters, paging = query_parts(request, RowFilters, SortedPageQuery)
    page = await services(request).metrics().list(
        actor(request), client_id, filters, paging.page_request(), paging.sort_spec("date"))
    return envelope(page_data("rows", page, present_row))
