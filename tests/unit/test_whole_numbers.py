"""A JSON number with a zero fraction (7.0) is a whole number, as JSON Schema's `integer` says:
the contract's integer fields accept it (schemathesis sends such values as valid data)."""

from __future__ import annotations

import pytest
from attrs import frozen

from catalyst_api.wire import BODY
from catalyst_core.metrics.parsing import parse_count
from catalyst_core.validation import Bad, int_between


@frozen
class _Shape:
    count: int


def test_body_integers_accept_a_zero_fraction_and_refuse_any_other() -> None:
    assert BODY.structure({"count": 7.0}, _Shape) == _Shape(7)
    assert type(BODY.structure({"count": 7.0}, _Shape).count) is int
    for bad in (7.5, "7", True):
        with pytest.raises(Exception):  # noqa: B017 - cattrs wraps the TypeError in its own group
            BODY.structure({"count": bad}, _Shape)


def test_bounded_whole_numbers_accept_a_zero_fraction() -> None:
    check = int_between(1, 366)
    assert check(294.0) == 294 and type(check(294.0)) is int
    with pytest.raises(Bad):
        check(294.5)
    with pytest.raises(Bad):
        check(367.0)


def test_counts_accept_a_zero_fraction() -> None:
    assert parse_count(5393.0) == 5393 and type(parse_count(5393.0)) is int
    with pytest.raises(Exception, match="must be an integer"):
        parse_count(5393.5)
