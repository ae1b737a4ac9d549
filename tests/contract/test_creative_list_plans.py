"""The creative list shapes that stay on SQLite's event-loop readers walk an index: no table scan,
no temporary sort. Every other shape is run off the loop (SqlCreativeRepo.list decides)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from catalyst_adapters.sql.creative_repos import _COLUMNS, _SORT
from catalyst_adapters.sql.tables import creative_submissions
from catalyst_core.creatives.model import SUBMISSION_SORT_FIELDS, SubmissionStatus
from catalyst_core.paging import Order

c = creative_submissions.c
# (sort field, with a status filter): the shapes SqlCreativeRepo.list serves on the loop.
ON_THE_LOOP = [("created_at", False), ("updated_at", False), ("name", False), ("created_at", True)]


def plan(db: Path, field: str, with_status: bool, order: Order) -> str:
    conditions = [c.client_id == uuid.uuid4()]
    if with_status:
        conditions.append(c.status == SubmissionStatus.PENDING.value)
    column = _SORT[field]
    ordering = [column.desc(), c.id.desc()] if order is Order.DESC else [column.asc(), c.id.asc()]
    statement = select(*_COLUMNS).where(*conditions).order_by(*ordering).limit(10)
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    with sqlite3.connect(db) as conn:
        return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {compiled}"))


def test_every_sort_field_is_either_indexed_or_known_to_be_heavy() -> None:
    # `status` sorts within a client need a temporary sort: that shape always leaves the loop.
    assert set(SUBMISSION_SORT_FIELDS) == {f for f, _ in ON_THE_LOOP} | {"status"}


@pytest.mark.parametrize(("field", "with_status"), ON_THE_LOOP)
@pytest.mark.parametrize("order", list(Order))
def test_the_shapes_on_the_loop_walk_an_index(sqlite_template: Path, field: str, with_status: bool,
                                              order: Order) -> None:
    found = plan(sqlite_template, field, with_status, order)
    assert "USING INDEX" in found or "USING COVERING INDEX" in found, found
    assert "TEMP B-TREE" not in found and "SCAN creative_submissions" not in found.replace(
        "SCAN creative_submissions USING", "INDEXED"), found
