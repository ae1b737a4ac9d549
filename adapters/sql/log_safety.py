"""Statement parameters never reach a log line: they carry password hashes and clients' data.

SQLAlchemy leaves them out of its statement logs and error texts with `hide_parameters=True`
(set by create_engine), but at DEBUG it still logs every result row. aiosqlite logs each call to
its connection thread at DEBUG as the call's repr, which is the statement with its parameters.
The filters below keep those lines but without the values. Filters on a logger apply to every
handler, whoever configured logging."""

from __future__ import annotations

import functools
import logging

_AIOSQLITE_CALL_MESSAGES = frozenset({"executing %s", "operation %s completed"})


class _CallNamesOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in _AIOSQLITE_CALL_MESSAGES and isinstance(record.args, tuple) and record.args:
            call = record.args[0]
            while isinstance(call, functools.partial):
                call = call.func
            record.args = (getattr(call, "__qualname__", type(call).__name__),)
        return True


class _NoRowValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            record.args = ("(values hidden)",)
        return True


_FILTERS = {"aiosqlite": _CallNamesOnly(), "sqlalchemy.engine.Engine": _NoRowValues()}


def quiet_driver_logs() -> None:
    """Install the filters on the drivers' loggers (idempotent)."""
    for name, log_filter in _FILTERS.items():
        logger = logging.getLogger(name)
        if log_filter not in logger.filters:
            logger.addFilter(log_filter)
