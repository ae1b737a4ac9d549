"""Rules of the contract that JSON Schema cannot state (one value against another), taught to
schemathesis' generator, so that a request it calls valid is one the reference calls valid.

Each rule is written in the operation's description in contracts/openapi.yaml; here it only bends
generated *positive* cases into that shape (negative cases are left alone: they must be refused
whatever else they hold). Rules are keyed on parameter and property names, not on a list of
operations, so endpoints added later with the same shapes follow them too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import available_timezones

from schemathesis import Case, GenerationMode

MAX_REPORT_DAYS = 1096  # catalyst_core.reports.periods: a range spans at most three years
DAILY_TIME = "05:00"
TIME_ZONES = available_timezones()
UNKNOWN_CLIENT = "00000000-0000-4000-8000-000000000000"
# A 1x1 PNG: what a positive upload carries.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200014873c3a80000000049454e44ae426082")


def _positive(case: Case) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode is GenerationMode.POSITIVE


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _query_names(case: Case) -> set[str]:
    return {p.name for p in case.operation.query}


def agree_on_client(case: Case) -> None:
    """`client_id` comes in the body or the query (at least one); when both come they must name
    one client (the query's, which a link may have filled with a real one). A case with neither
    gets one in the query (an unknown client: 404)."""
    body = case.body
    if "client_id" not in _query_names(case) or not isinstance(body, dict):
        return
    query = case.query if case.query is not None else {}
    in_body, in_query = body.get("client_id"), query.get("client_id")
    if isinstance(in_body, str) and isinstance(in_query, str):
        # The query's may come from a link (a client that exists): the body says the same.
        body["client_id"] = in_query
    elif in_body is None and in_query is None:
        query["client_id"] = UNKNOWN_CLIENT
    case.query = query


def order_date_range(case: Case) -> None:
    """`start_date` <= `end_date`, at most 1096 days apart; without `end_date` the range ends
    yesterday, so a lone `start_date` gets an `end_date` of its own day."""
    query = case.query
    if not query:
        return
    start, end = _date(query.get("start_date")), _date(query.get("end_date"))
    if start is None:
        return
    if end is None:
        if "end_date" not in _query_names(case) or "end_date" in query:
            return
        end = start
    start, end = min(start, end), max(start, end)
    if (end - start).days >= MAX_REPORT_DAYS:
        end = start + timedelta(days=MAX_REPORT_DAYS - 1)
    query["start_date"], query["end_date"] = start.isoformat(), end.isoformat()


def distinct_rows(case: Case) -> None:
    """Performance rows of one batch are keyed by date, platform and ad_id: no key twice."""
    body = case.body
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        return
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for row in rows:
        key = (row.get("date"), row.get("platform"), row.get("ad_id")) if isinstance(row, dict) else None
        if key is None or any(not isinstance(k, str) for k in key):
            kept.append(row)
        elif key not in seen:
            seen.add(key)
            kept.append(row)
    body["rows"] = kept


def consistent_alert(case: Case) -> None:
    """An alert's threshold names the condition's metric, a `dm_alert.alert_<metric>` source holds
    that metric, and its frequency has `time` exactly when daily or weekly and `day` exactly when
    weekly (the top-level `frequency` and `custom_config.frequency` are merged key by key)."""
    body = case.body
    if not isinstance(body, dict) or ("condition_config" not in body and "frequency" not in body \
            and "custom_config" not in body and "data_source" not in body):
        return
    creating = case.operation.method.upper() == "POST"
    condition = body.get("condition_config") if isinstance(body.get("condition_config"), dict) else {}
    # On an update the stored condition keeps its metric unless the body names another one.
    field = condition.get("field") or (body.get("alert_type") if creating else None)
    custom = body.get("custom_config") if isinstance(body.get("custom_config"), dict) else None
    if custom is not None and isinstance(custom.get("thresholds"), dict):
        values = list(custom["thresholds"].values())
        if field is None or not values:
            del custom["thresholds"]
        else:
            custom["thresholds"] = {field: values[0]}
    thresholds = custom.get("thresholds") if custom is not None else None
    if creating and isinstance(body.get("condition_config"), dict) and "value" not in condition \
            and not thresholds:
        condition["value"] = 1  # the value is required, here or as the threshold
    source = body.get("data_source")
    if isinstance(source, str) and source.startswith("dm_alert.alert_"):
        body["data_source"] = f"dm_alert.alert_{field}" if field else "catalyst.performance"
    top = body.get("frequency") if isinstance(body.get("frequency"), dict) else None
    nested = custom.get("frequency") if custom is not None and isinstance(custom.get("frequency"), dict) \
        else None
    if top is None and nested is None:
        return
    merged = {**(nested or {}), **(top or {})}
    if merged.get("timezone") not in TIME_ZONES:  # a name of the tz database, not any text
        merged["timezone"] = "UTC"
    kind = merged.get("type") or "daily"
    merged["type"] = kind
    if kind == "hourly":
        merged["time"] = None
    elif merged.get("time") is None:
        merged["time"] = DAILY_TIME
    if kind != "weekly":
        merged["day"] = None
    elif merged.get("day") is None:
        merged["day"] = "monday"
    if top is not None:
        body["frequency"] = merged
    else:
        custom["frequency"] = merged  # type: ignore[index]


def known_assignees(case: Case) -> None:
    """Assignees (and `completed_by`) must be members of the client, which no schema can know:
    random user ids are refused (422), so positive cases name nobody."""
    body = case.body
    if not isinstance(body, dict):
        return
    for holder in (body, body.get("action_config")):
        if isinstance(holder, dict) and isinstance(holder.get("assignees"), list):
            holder["assignees"] = []
    if isinstance(body.get("completed_by"), str):  # who closes a task must be a member too
        del body["completed_by"]


def money_to_the_micro(case: Case) -> None:
    """Money is exact to six decimal places; a JSON double cannot be held to that by `multipleOf`
    (0.3 / 0.000001 is not a whole number in binary floating point), so round generated floats."""
    body = case.body
    rows = body.get("rows") if isinstance(body, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for key in ("spend", "revenue"):
            if isinstance(row, dict) and isinstance(row.get(key), float):
                row[key] = round(row[key], 6)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def scoring_settings_in_order(case: Case) -> None:
    """Lead-scoring settings (an update merges key by key with the stored ones): `warm` below
    `hot`, the weights not all zero, the ideal company size's `min` not above its `max`. A
    partial pair is completed so the rule holds whatever was stored."""
    body = case.body
    if not isinstance(body, dict):
        return
    thresholds = body.get("thresholds")
    if isinstance(thresholds, dict) and (
            _number(thresholds.get("hot")) or _number(thresholds.get("warm"))):
        values = [v for v in (thresholds.get("hot"), thresholds.get("warm")) if _number(v)]
        hot, warm = max(values), min(values)
        if not warm < hot:
            hot, warm = (hot, hot / 2) if hot > 0 else (1.0, 0.0)
        thresholds["hot"], thresholds["warm"] = hot, warm
    weights = body.get("weights")
    if isinstance(weights, dict) and weights and all(_number(v) and v == 0 for v in weights.values()):
        weights[next(iter(weights))] = 1
    ideal = body.get("ideal_customer")
    size = ideal.get("company_size") if isinstance(ideal, dict) else None
    if isinstance(size, dict) and (_number(size.get("min")) or _number(size.get("max"))):
        values = [v for v in (size.get("min"), size.get("max")) if _number(v)]
        size["min"], size["max"] = (min(values), max(values)) if len(values) == 2 else (
            (0, values[0]) if _number(size.get("max")) else (values[0], values[0]))


def file_fits_the_ad(case: Case) -> None:
    """An uploaded creative must be an image or a video judged from its bytes (which no schema
    can say), of the ad's kind: the file becomes a real PNG, and a video ad an image ad."""
    body = case.body
    if isinstance(body, dict) and "file" in body:
        body["file"] = TINY_PNG
        if body.get("ad_type") == "video":
            body["ad_type"] = "image"


def range_within_the_file(case: Case) -> None:
    """A byte range must start inside the file (past its end is 416), which only the stored file
    knows: a positive request asks for the start of it."""
    headers = case.headers
    if headers and "Range" in headers:
        headers["Range"] = "bytes=0-"


RULES = (agree_on_client, order_date_range, distinct_rows, consistent_alert, known_assignees,
         money_to_the_micro, scoring_settings_in_order, file_fits_the_ad, range_within_the_file)


def follow_rules(case: Case) -> Case:
    """Bend a positive case into the shape the cross-field rules ask for (before it is sent: the
    same in every phase, examples and coverage included, and in stateful sequences)."""
    if _positive(case):
        for rule in RULES:
            rule(case)
    return case
