"""Paging and sorting shapes shared by every list, in the core's terms.

A page past the end is an empty page, not an error; ties in sorting are broken by id so paging is
stable. Adapters must order exactly as `SortSpec` says (the storage contract suite checks it)."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from typing import Generic, TypeVar

from attrs import field, frozen

from catalyst_core.errors import InvalidInput

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_OFFSET_LIMIT = 1000
MAX_PAGE = 1_000_000_000  # far past any list, and small enough for every database and JSON parser


class Order(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


@frozen
class PageRequest:
    page: int = 1
    limit: int = DEFAULT_PAGE_SIZE

    def __attrs_post_init__(self) -> None:
        problems = {}
        if not 1 <= self.page <= MAX_PAGE:
            problems["page"] = f"must be between 1 and {MAX_PAGE}"
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            problems["limit"] = f"must be between 1 and {MAX_PAGE_SIZE}"
        if problems:
            raise InvalidInput(problems)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@frozen
class SortSpec:
    """Sort by `field` (one of the names the list documents) in `order`, then by id the same way."""

    field: str = "created_at"
    order: Order = Order.DESC

    def checked(self, allowed: Sequence[str]) -> SortSpec:
        if self.field not in allowed:
            raise InvalidInput({"sort": f"must be one of {', '.join(allowed)}"})
        return self


@frozen
class Page(Generic[T]):
    items: Sequence[T]
    total_items: int
    request: PageRequest = field(factory=PageRequest)

    @property
    def current_page(self) -> int:
        return self.request.page

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_items / self.request.limit) if self.total_items else 0


MAX_OFFSET = 2**53  # any list fits; larger offsets would only page past the end


@frozen
class OffsetRequest:
    """`?limit=&offset=` paging (alert instances, lead results): limit 1..1000, offset from 0."""

    limit: int = 50
    offset: int = 0

    def __attrs_post_init__(self) -> None:
        problems = {}
        if not 1 <= self.limit <= MAX_OFFSET_LIMIT:
            problems["limit"] = f"must be between 1 and {MAX_OFFSET_LIMIT}"
        if not 0 <= self.offset <= MAX_OFFSET:
            problems["offset"] = f"must be between 0 and {MAX_OFFSET}"
        if problems:
            raise InvalidInput(problems)


@frozen
class OffsetPage(Generic[T]):
    items: Sequence[T]
    total_items: int
    request: OffsetRequest = field(factory=OffsetRequest)
