"""The OpenAPI document in contracts/ is valid 3.1 and follows the project's wire conventions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "contracts" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PUBLIC_OPERATIONS = {"health", "register", "login"}
# Health checks are never rate limited (load balancers poll them); everything else may answer 429.
UNLIMITED_OPERATIONS = {"health"}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

# Error answers each operation must document beyond the ones implied by the rules in
# `_required_errors` (401 when secured, 400/413 with a body, 500 always).
# Operations that answer a file rather than the JSON envelope.
FILE_OPERATIONS = frozenset({"get_creative_media"})

EXTRA_ERRORS: dict[str, set[int]] = {
    "health": {503},
    "register": {409, 422},
    "login": {401, 422},
    "get_me": set(),
    "update_me": {403, 409, 422},
    "list_clients": {422},
    "create_client": {422},
    "get_client": {404, 422},
    "update_client": {403, 404, 422},
    "get_client_role": {404, 422},
    "list_members": {404, 422},
    "add_member": {403, 404, 409, 422},
    "update_member": {403, 404, 409, 422},
    "remove_member": {403, 404, 409, 422},
    "list_tasks": {404, 422},
    "create_task": {403, 404, 422},
    "get_task": {404, 422},
    "update_task": {403, 404, 409, 422},
    "delete_task": {403, 404, 422},
    "complete_task": {403, 404, 409, 422},
    "cancel_task": {403, 404, 409, 422},
    "list_comments": {404, 422},
    "add_comment": {403, 404, 422},
    "update_comment": {403, 404, 422},
    "delete_comment": {403, 404, 422},
    "list_metrics": {404, 422},
    "ingest_metrics": {403, 404, 422},
    "get_growth_report": {404, 422},
    "get_performance_report": {404, 422},
    "list_alerts": {404, 422},
    "create_alert": {403, 404, 409, 422},
    "get_alert": {404, 422},
    "update_alert": {403, 404, 422},
    "delete_alert": {403, 404, 422},
    "trigger_alert": {403, 404, 422},
    "test_alert": {403, 404, 422},
    "list_alert_instances": {404, 422},
    "get_alert_instance": {404, 422},
    "resolve_alert_instance": {403, 404, 409, 422},
    "dismiss_alert_instance": {403, 404, 409, 422},
    "get_lead_settings": {404, 422},
    "update_lead_settings": {403, 404, 422},
    "score_lead": {403, 404, 422},
    "score_lead_batch": {403, 404, 422},
    "list_lead_results": {404, 422},
    "get_lead_result": {404, 422},
    "list_lead_history": {404, 422},
    "list_creative_submissions": {404, 422},
    "create_creative_submission": {403, 404, 415, 422},
    "get_creative_submission": {404, 422},
    "get_creative_media": {404, 416, 422},
    "approve_creative_submission": {403, 404, 409, 422},
    "reject_creative_submission": {403, 404, 409, 422},
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def _resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s until a concrete node is reached."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local refs are expected, got {ref}"
        node = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _required_errors(op: dict[str, Any]) -> set[int]:
    required = {500} | EXTRA_ERRORS[op["operationId"]]
    if op["operationId"] not in PUBLIC_OPERATIONS:
        required.add(401)
    if "requestBody" in op:
        required |= {400, 413, 415}  # malformed, too large, not JSON (or another media type)
    if op["operationId"] not in UNLIMITED_OPERATIONS:
        required.add(429)
    return required


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_server_and_paths_carry_no_version_prefix(document: dict[str, Any]) -> None:
    assert document["servers"] == [{"url": "/api/v1"}]
    assert not [p for p in document["paths"] if p.startswith("/api")]


def test_operation_ids_are_unique_and_cover_the_expected_set(document: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in _operations(document)]
    assert None not in ids
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate operationIds: {duplicates}"
    assert set(ids) == set(EXTRA_ERRORS)


def test_every_operation_has_summary_description_and_tag(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        assert op.get("summary", "").strip(), f"{where} has no summary"
        assert op.get("description", "").strip(), f"{where} has no description"
        assert op.get("tags"), f"{where} has no tag"


def test_every_operation_has_an_enveloped_success_response(document: dict[str, Any]) -> None:
    envelope_ref = {"$ref": "#/components/schemas/Envelope"}
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        successes = [code for code in op["responses"] if str(code).startswith("2")]
        assert successes, f"{where} has no 2xx response"
        if op["operationId"] in FILE_OPERATIONS:  # the file itself, in its own type
            for code in successes:
                content = _resolve(document, op["responses"][code])["content"]
                assert content and all(t.startswith(("image/", "video/")) for t in content), where
            continue
        for code in successes:
            response = _resolve(document, op["responses"][code])
            schema = response["content"]["application/json"]["schema"]
            assert schema["allOf"][0] == envelope_ref, f"{where} {code} is not an Envelope"
            data_part = schema["allOf"][1]
            assert "data" in data_part["required"], f"{where} {code} does not require data"
            assert "data" in data_part["properties"], f"{where} {code} has no data"
            if method == "delete":
                assert data_part["properties"]["data"] == {"type": "null"}, (
                    f"{where} should answer data: null"
                )
        if method == "delete":
            assert successes == ["200"], f"{where} should answer 200"


def test_every_operation_documents_its_error_responses(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        documented = {int(code) for code in op["responses"] if int(code) >= 400}
        missing = _required_errors(op) - documented
        assert not missing, f"{where} lacks error responses {sorted(missing)}"
        # 400 (malformed JSON) and 413 (too large) only make sense when there is a body.
        if "requestBody" not in op:
            assert not documented & {400, 413}, f"{where} has no body but documents 400/413"


def test_error_responses_use_the_error_envelope(document: dict[str, Any]) -> None:
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, method, op in _operations(document):
        for code, response in op["responses"].items():
            if int(code) < 400:
                continue
            assert "$ref" in response, f"{method.upper()} {path} {code} should use components/responses"
            resolved = _resolve(document, response)
            assert resolved["content"]["application/json"]["schema"] == error_ref


def test_error_schema_shape(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    error = schemas["Error"]
    assert set(error["required"]) == {"status_code", "message", "detail"}
    detail_types = error["properties"]["detail"]["anyOf"]
    assert {"type": "string"} in detail_types
    assert {"type": "null"} in detail_types
    assert {"type": "array", "items": {"$ref": "#/components/schemas/ValidationIssue"}} in detail_types
    assert set(schemas["ValidationIssue"]["required"]) == {"field", "message"}


def test_security_defaults_to_bearer_and_public_operations_opt_out(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert document["security"] == [{"bearerAuth": []}]
    for path, method, op in _operations(document):
        if op["operationId"] in PUBLIC_OPERATIONS:
            assert op.get("security") == [], f"{method.upper()} {path} should be public"
        else:
            assert "security" not in op, f"{method.upper()} {path} should use the global bearer auth"


def test_request_bodies_reject_unknown_fields(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        if "requestBody" not in op:
            continue
        body = _resolve(document, op["requestBody"])
        schema = _resolve(document, body["content"]["application/json"]["schema"])
        assert schema.get("type") == "object", f"{method.upper()} {path} body is not an object"
        assert schema.get("additionalProperties") is False, (
            f"{method.upper()} {path} body accepts unknown fields"
        )


def test_path_ids_are_uuids(document: dict[str, Any]) -> None:
    for name in ("client_id", "task_id", "comment_id", "user_id", "alert_id", "instance_id",
                 "lead_id"):
        parameter = document["components"]["parameters"][name]
        assert parameter["in"] == "path" and parameter["required"] is True
        assert parameter["schema"] == {"type": "string", "format": "uuid"}


def test_paging_parameters_follow_the_conventions(document: dict[str, Any]) -> None:
    parameters = document["components"]["parameters"]
    assert parameters["page"]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": 1_000_000_000, "default": 1}
    assert parameters["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 10,
    }
    assert parameters["order"]["schema"]["enum"] == ["asc", "desc"]
    assert parameters["offset_limit"]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
    # The server's bound (catalyst_core.paging.MAX_OFFSET), so larger offsets are not schema-valid.
    assert parameters["offset"]["schema"] == {
        "type": "integer", "minimum": 0, "maximum": 2**53, "default": 0}
    assert parameters["lead_limit"]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    assert parameters["order"]["schema"]["default"] == "desc"


def _media_examples(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    responses = [
        (f"components/responses/{name}", r) for name, r in document["components"]["responses"].items()
    ]
    for path, method, op in _operations(document):
        responses += [(f"{method.upper()} {path} {code}", r) for code, r in op["responses"].items()]
    return [
        (where, media["schema"], media["example"])
        for where, response in responses
        for media in response.get("content", {}).values()
        if "example" in media
    ]


def test_examples_match_their_schemas(document: dict[str, Any]) -> None:
    examples = _media_examples(document)
    assert examples, "the document should carry examples"
    for where, schema, example in examples:
        # Rooting the schema beside `components` lets its local $refs resolve.
        root = {"components": document["components"], **schema}
        validator = Draft202012Validator(root, format_checker=FormatChecker())
        errors = [e.message for e in validator.iter_errors(example)]
        assert not errors, f"{where} example does not match its schema: {errors}"


def test_authenticated_responses_document_the_rate_limit_headers(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        if op["operationId"] in PUBLIC_OPERATIONS:
            continue
        for code, response in op["responses"].items():
            headers = _resolve(document, response).get("headers", {})
            missing = [h for h in RATE_LIMIT_HEADERS if h not in headers]
            # Error answers come from components/responses and carry the headers there.
            assert not missing, f"{method.upper()} {path} {code} lacks {missing}"
    for name in RATE_LIMIT_HEADERS:
        header = document["components"]["headers"][name]
        assert header["schema"]["type"] == "integer"
        # Absent while rate limiting is off (CATALYST_RATE_LIMIT=0), so never required.
        assert not header.get("required", False)


def test_429_is_the_error_envelope_with_retry_after(document: dict[str, Any]) -> None:
    response = document["components"]["responses"]["TooManyRequests"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    retry_after = _resolve(document, response["headers"]["Retry-After"])
    assert retry_after["required"] is True
    assert retry_after["schema"] == {"type": "integer", "minimum": 0}
    for path, method, op in _operations(document):
        if "429" in op["responses"]:
            assert op["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}, (
                f"{method.upper()} {path}")


def _links(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (op["operationId"], name, _resolve(document, link))
        for _, _, op in _operations(document)
        for response in op["responses"].values()
        for name, link in _resolve(document, response).get("links", {}).items()
    ]


def _parameter_names(document: dict[str, Any], path: str, op: dict[str, Any]) -> set[str]:
    item = document["paths"][path]
    return {_resolve(document, p)["name"] for p in item.get("parameters", []) + op.get("parameters", [])}


def test_links_name_real_operations_and_their_parameters(document: dict[str, Any]) -> None:
    by_id = {op["operationId"]: (path, op) for path, _, op in _operations(document)}
    links = _links(document)
    assert links, "the document has no links"
    for source, name, link in links:
        where = f"{source} -> {name}"
        assert link["operationId"] in by_id, f"{where}: no operation {link['operationId']}"
        path, target = by_id[link["operationId"]]
        known = _parameter_names(document, path, target)
        for parameter, expression in link["parameters"].items():
            assert parameter.split(".")[-1] in known, f"{where}: {link['operationId']} has no {parameter}"
            assert expression.startswith(("$response.body#/", "$request.path.", "$request.query.")), where


def test_every_operation_on_an_object_is_reached_by_a_link(document: dict[str, Any]) -> None:
    """An operation whose path names an object (`/tasks/{task_id}`) is the target of a link from
    the operation that creates or lists such objects, so stateful tools (schemathesis) call it
    with ids that exist. Endpoints added later fall under the same rule."""
    targets = {link["operationId"] for _, _, link in _links(document)}
    unreached = sorted(op["operationId"] for path, _, op in _operations(document)
                       if "{" in path and op["operationId"] not in targets)
    assert not unreached, f"no link leads to {unreached}"


def test_every_creating_operation_links_to_what_it_created(document: dict[str, Any]) -> None:
    # Registration creates a user, whom no operation takes by id (users act on themselves).
    not_linked = {"register"}
    missing = sorted(
        op["operationId"] for _, _, op in _operations(document)
        if "201" in op["responses"] and op["operationId"] not in not_linked
        and not _resolve(document, op["responses"]["201"]).get("links"))
    assert not missing, f"these operations create something but link to nothing: {missing}"
