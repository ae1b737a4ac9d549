"""Performance data of a client: ingestion and the row list."""

from __future__ import annotations

from aiohttp import web

from catalyst_api.keys import SETTINGS, services
from catalyst_api.middleware import actor
from catalyst_api.schemas.common import SortedPageQuery, page_data
from catalyst_api.schemas.metrics import IngestBody, RowFilterQuery, present_row
from catalyst_api.wire import body, envelope, path_id, query_parts
from catalyst_core.ids import ClientId

routes = web.RouteTableDef()



@routes.post("/clients/{client_id}/metrics", name="ingest_metrics")
async def ingest_metrics(request: web.Request) -> web.Response:
    client_id = ClientId(path_id(request, "client_id"))
    # A full batch (5,000 rows) is larger than other bodies may be: this endpoint has its own limit.
    large = request.clone(client_max_size=request.app[SETTINGS].max_ingest_bytes)
    shape = await body(large, IngestBody)
    result = await services(request).metrics().ingest(actor(request), client_id, shape.rows)
    return envelope({"inserted": result.inserted, "updated": result.updated},
                    message="Performance data stored")


@routes.get("/clients/{client_id}/metrics", name="list_metrics")
async def list_metrics(request: web.Request) -> web.Response:
    client_id = ClientId(path_id(request, "client_id"))
    filters, paging = query_parts(request, RowFilterQuery, SortedPageQuery)
    page = await services(request).metrics().list(
        actor(request), client_id, filters.filters(), paging.page_request(), paging.sort_spec("date"))
    return envelope(page_data("rows", page, present_row))
