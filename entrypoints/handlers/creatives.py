"""Creative submissions: submit (JSON with a media link, or multipart/form-data with the file),
read, list, fetch the file (with HTTP Range), approve and reject."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from catalyst_api.keys import SETTINGS, services
from catalyst_api.media_io import blob_response, file_chunks
from catalyst_api.middleware import actor
from catalyst_api.schemas.common import SortedPageQuery, page_data
from catalyst_api.schemas.creatives import SubmissionFilters, present_submission
from catalyst_api.schemas.tasks import ClientScope
from catalyst_api.wire import MalformedBody, attempt, envelope, no_body, path_id, query, read_json
from catalyst_core.creatives.model import (
    DRAFT_FIELDS,
    SUBMISSION_SORT_FIELDS,
    SubmissionId,
    rejection_reason,
)
from catalyst_core.creatives.service import Upload
from catalyst_core.errors import InvalidInput, TooLarge
from catalyst_core.ids import ClientId

routes = web.RouteTableDef()

MULTIPART = "multipart/form-data"
# A form field other than the file is short text: past this it is refused, never buffered.
MAX_FORM_FIELD_BYTES = 64 * 1024
# Room for the form's other fields and boundaries next to a file of the largest allowed size.
FORM_OVERHEAD_BYTES = 1024 * 1024


@routes.get("/creative-submissions", name="list_creative_submissions")
async def list_submissions(request: web.Request) -> web.Response:
    # Filters, paging and the sort field checked together: one 422 names every bad parameter.
    problems: dict[str, str] = {}
    filters = attempt(problems, lambda: query(request, SubmissionFilters), SubmissionFilters())
    paging = attempt(problems, lambda: query(request, SortedPageQuery), SortedPageQuery())
    page_request = attempt(problems, paging.page_request)
    sort = attempt(problems, lambda: paging.sort_spec().checked(SUBMISSION_SORT_FIELDS))
    if problems:
        raise InvalidInput(problems)
    client_id = None if filters.client_id is None else ClientId(filters.client_id)
    page = await services(request).creatives().list(
        actor(request), client_id, filters.status, page_request, sort)
    return envelope(page_data("submissions", page, present_submission))


@routes.post("/creative-submissions", name="create_creative_submission")
async def create_submission(request: web.Request) -> web.Response:
    scope = query(request, ClientScope)
    if request.content_type == MULTIPART:
        fields, upload = await _form(request)
    else:
        fields, upload = await read_json(request), None
    fields = _with_client(fields, scope.client_id)
    submission = await services(request).creatives().submit(actor(request), fields, upload)
    return envelope(present_submission(submission), status=201,
                    message="Creative submitted for review")


@routes.get("/creative-submissions/{submission_id}", name="get_creative_submission")
async def get_submission(request: web.Request) -> web.Response:
    submission_id = SubmissionId(path_id(request, "submission_id"))
    return envelope(present_submission(
        await services(request).creatives().get(actor(request), submission_id)))


@routes.get("/creative-submissions/{submission_id}/media", name="get_creative_media")
async def get_media(request: web.Request) -> web.StreamResponse:
    submission_id = SubmissionId(path_id(request, "submission_id"))
    file = await services(request).creatives().media(actor(request), submission_id)
    return await blob_response(request, services(request).blobs(), file.key,
                               content_type=file.content_type, filename=file.filename)


@routes.post("/creative-submissions/{submission_id}/approve", name="approve_creative_submission")
async def approve(request: web.Request) -> web.Response:
    submission_id = SubmissionId(path_id(request, "submission_id"))
    await no_body(request)  # an empty body or {}: approving takes no fields
    submission = await services(request).creatives().approve(actor(request), submission_id)
    return envelope(present_submission(submission), message="Creative approved")


@routes.post("/creative-submissions/{submission_id}/reject", name="reject_creative_submission")
async def reject(request: web.Request) -> web.Response:
    submission_id = SubmissionId(path_id(request, "submission_id"))
    raw = await read_json(request)
    problems = {k: "is not a known field" for k in raw if k != "reason"}
    attempt(problems, lambda: rejection_reason(raw.get("reason")))
    if problems:
        raise InvalidInput(problems)
    submission = await services(request).creatives().reject(
        actor(request), submission_id, raw.get("reason"))
    return envelope(present_submission(submission), message="Creative rejected")


# -- reading a form ----------------------------------------------------------------------------------

def _with_client(fields: dict[str, Any], in_query: uuid.UUID | None) -> dict[str, Any]:
    """The client named in the body (or form) or the query; both may, if they agree."""
    if in_query is None:
        return fields
    in_body = fields.get("client_id")
    if in_body is not None and in_body != str(in_query):
        try:
            same = uuid.UUID(str(in_body)) == in_query
        except ValueError:
            same = True  # the body's own value is reported as not a UUID
        if not same:
            raise InvalidInput({"client_id": "the body and the query name different clients"})
    return {**fields, "client_id": in_body if in_body is not None else str(in_query)}


async def _form(request: web.Request) -> tuple[dict[str, Any], Upload | None]:
    """The form's fields, and its `file` part as an Upload streamed as it arrives. Fields sent
    before the file (as browsers and most clients send a form whose file input comes last) are
    checked, with the caller's role, before a byte of the file is stored; fields after it are
    read once it is stored (`Upload.later_fields`)."""
    limit = request.app[SETTINGS].max_upload_bytes
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD_BYTES:
        raise TooLarge(f"the upload is larger than {limit:,} bytes")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as e:  # aiohttp's words for a form it cannot read
        raise MalformedBody(f"the multipart/form-data body cannot be read: {e}") from None
    fields: dict[str, Any] = {}
    while (part := await _next_part(reader)) is not None:
        if _named(part) == "file":
            return fields, Upload(chunks=file_chunks(part), filename=part.filename,
                                  later_fields=lambda: _fields(reader, set(fields)))
        await _add_field(part, fields)
    return fields, None


async def _fields(reader: MultipartReader, seen: set[str]) -> dict[str, Any]:
    """The fields after the file: the rest of the form, with no second file."""
    fields: dict[str, Any] = {}
    while (part := await _next_part(reader)) is not None:
        if _named(part) == "file" or part.name in seen:
            raise InvalidInput({str(part.name): "is sent more than once"})
        await _add_field(part, fields)
    return fields


def _named(part: Any) -> str:
    if not isinstance(part, BodyPartReader) or not part.name:
        raise InvalidInput({"body": "every part of the form needs a name (no nested forms)"})
    return part.name


async def _add_field(part: BodyPartReader, fields: dict[str, Any]) -> None:
    name = _named(part)
    if name in fields:
        raise InvalidInput({name: "is sent more than once"})
    if name not in DRAFT_FIELDS:
        raise InvalidInput({name: "is not a known field"})
    fields[name] = await _field_text(part)


async def _next_part(reader: MultipartReader) -> Any:
    try:
        return await reader.next()
    except (ValueError, AssertionError) as e:  # no boundary, a broken part header
        raise MalformedBody(f"the multipart/form-data body cannot be read: {e}") from None


async def _field_text(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk():
        data += chunk
        if len(data) > MAX_FORM_FIELD_BYTES:
            raise InvalidInput({str(part.name): f"must be at most {MAX_FORM_FIELD_BYTES:,} bytes"})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput({str(part.name): "must be UTF-8 text"}) from None
