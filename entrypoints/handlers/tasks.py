"""Tasks and their comments."""

from __future__ import annotations

from aiohttp import web

from catalyst_api.keys import services
from catalyst_api.middleware import actor
from catalyst_api.schemas.common import PageQuery, SortedPageQuery, page_data
from catalyst_api.schemas.tasks import (
    NULLABLE_TASK_FIELDS,
    ClientScope,
    CommentBody,
    CreateTaskBody,
    FinishTaskBody,
    UpdateTaskBody,
    due_date,
    present_comment,
    present_task,
    task_changes,
)
from catalyst_api.wire import (
    BODY,
    all_of,
    envelope,
    patch_of,
    path_id,
    query,
    query_parts,
    read_json,
    structure,
)
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.tasks.model import NewTask
from catalyst_core.tasks.service import TaskFilters

routes = web.RouteTableDef()


@routes.get("/tasks", name="list_tasks")
async def list_tasks(request: web.Request) -> web.Response:
    filters, paging = query_parts(request, TaskFilters, SortedPageQuery)
    page = await services(request).tasks().list(
        actor(request), filters, paging.page_request(), paging.sort_spec())
    return envelope(page_data("tasks", page, present_task))


@routes.post("/tasks", name="create_task")
async def create_task(request: web.Request) -> web.Response:
    raw = await read_json(request)
    problems: dict[str, str] = {}
    try:
        scope = query(request, ClientScope)
    except InvalidInput as e:
        problems.update(e.fields)
        scope = ClientScope()
    try:
        shape = structure(BODY, raw, CreateTaskBody)
    except InvalidInput as e:
        problems.update(e.fields)
        shape = None
    in_body = shape.client_id if shape is not None else None
    if in_body and scope.client_id and in_body != scope.client_id:
        problems["client_id"] = "the body and the query name different clients"
    client_id = in_body or scope.client_id
    if client_id is None and raw.get("client_id") is None:
        problems.setdefault("client_id", "required (in the body or as a query parameter)")
    if problems:
        raise InvalidInput(problems)
    assert shape is not None and client_id is not None
    new = NewTask(
        client_id=ClientId(client_id), name=shape.name, task_type=shape.task_type,
        priority=shape.priority, assignees=[UserId(a) for a in shape.assignees],
        due_date=due_date(shape.due_date), description=shape.description,
        related_object_id=shape.related_object_id, related_object_type=shape.related_object_type,
    )
    task = await services(request).tasks().create(actor(request), new)
    return envelope(present_task(task), status=201, message="Task created")


@routes.get("/tasks/{task_id}", name="get_task")
async def get_task(request: web.Request) -> web.Response:
    task = await services(request).tasks().get(actor(request), TaskId(path_id(request, "task_id")))
    return envelope(present_task(task))


@routes.patch("/tasks/{task_id}", name="update_task")
async def update_task(request: web.Request) -> web.Response:
    raw = await read_json(request)
    task_id, (patch, present) = all_of(
        lambda: TaskId(path_id(request, "task_id")),
        lambda: patch_of(raw, UpdateTaskBody, nullable=NULLABLE_TASK_FIELDS))
    changes = task_changes(patch, present)
    task = await services(request).tasks().update(actor(request), task_id, changes)
    return envelope(present_task(task), message="Task updated")


@routes.delete("/tasks/{task_id}", name="delete_task")
async def delete_task(request: web.Request) -> web.Response:
    await services(request).tasks().delete(actor(request), TaskId(path_id(request, "task_id")))
    return envelope(None, message="Task deleted")


async def _finish_parts(request: web.Request) -> tuple[TaskId, FinishTaskBody]:
    raw = await read_json(request, optional=True)
    task_id, shape = all_of(lambda: TaskId(path_id(request, "task_id")),
                            lambda: structure(BODY, raw, FinishTaskBody))
    return task_id, shape


@routes.post("/tasks/{task_id}/complete", name="complete_task")
async def complete_task(request: web.Request) -> web.Response:
    task_id, shape = await _finish_parts(request)
    by = UserId(shape.completed_by) if shape.completed_by else None
    task = await services(request).tasks().complete(actor(request), task_id, by)
    return envelope(present_task(task), message="Task completed")


@routes.post("/tasks/{task_id}/cancel", name="cancel_task")
async def cancel_task(request: web.Request) -> web.Response:
    task_id, shape = await _finish_parts(request)
    by = UserId(shape.completed_by) if shape.completed_by else None
    task = await services(request).tasks().cancel(actor(request), task_id, by)
    return envelope(present_task(task), message="Task cancelled")


@routes.get("/tasks/{task_id}/comments", name="list_comments")
async def list_comments(request: web.Request) -> web.Response:
    task_id = TaskId(path_id(request, "task_id"))
    q = query(request, PageQuery)
    page = await services(request).tasks().list_comments(actor(request), task_id, q.page_request())
    return envelope(page_data("comments", page, present_comment))


@routes.post("/tasks/{task_id}/comments", name="add_comment")
async def add_comment(request: web.Request) -> web.Response:
    raw = await read_json(request)
    task_id, shape = all_of(lambda: TaskId(path_id(request, "task_id")),
                            lambda: structure(BODY, raw, CommentBody))
    comment = await services(request).tasks().add_comment(actor(request), task_id, shape.comment)
    return envelope(present_comment(comment), status=201, message="Comment added")


@routes.patch("/tasks/comments/{comment_id}", name="update_comment")
async def update_comment(request: web.Request) -> web.Response:
    raw = await read_json(request)
    comment_id, shape = all_of(lambda: CommentId(path_id(request, "comment_id")),
                               lambda: structure(BODY, raw, CommentBody))
    comment = await services(request).tasks().update_comment(actor(request), comment_id, shape.comment)
    return envelope(present_comment(comment), message="Comment updated")


@routes.delete("/tasks/comments/{comment_id}", name="delete_comment")
async def delete_comment(request: web.Request) -> web.Response:
    await services(request).tasks().delete_comment(actor(request),
                                                        CommentId(path_id(request, "comment_id")))
    return envelope(None, message="Comment deleted")
