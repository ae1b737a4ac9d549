"""Catalyst's log handler: text or JSON lines on stderr, each with the request id.

Kept apart from catalyst_api.observability, which imports prometheus_client: the CLI configures
logging before `serve --workers` sets up prometheus-client's multiprocess mode, which must come
first."""

from __future__ import annotations

import logging

from catalyst_api.middleware import request_id_var


class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id`: its own (request log lines carry theirs), else the
    current request's, else "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_handler(log_format: str) -> logging.Handler:
    """A stderr handler in `text` or `json` form (python-json-logger: one object a line, with the
    request log's fields as keys)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler
