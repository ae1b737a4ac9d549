"""Shapes shared by every list: page/limit paging and sort/order. Later lists reuse these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from attrs import frozen

from catalyst_core.paging import DEFAULT_PAGE_SIZE, Order, Page, PageRequest, SortSpec

T = TypeVar("T")


@frozen(kw_only=True)
class PageQuery:
    """`?page=&limit=`; the bounds are checked by PageRequest (422 past them)."""

    page: int = 1
    limit: int = DEFAULT_PAGE_SIZE

    def page_request(self) -> PageRequest:
        return PageRequest(page=self.page, limit=self.limit)


@frozen(kw_only=True)
class SortedPageQuery(PageQuery):
    """`?page=&limit=&sort=&order=`; each use case checks `sort` against the fields it documents."""

    sort: str | None = None
    order: Order | None = None

    def sort_spec(self, default: str = "created_at", default_order: Order = Order.DESC) -> SortSpec:
        return SortSpec(field=default if self.sort is None else self.sort, order=self.order or default_order)


def page_data(key: str, page: Page[T], present: Callable[[T], Any]) -> dict[str, Any]:
    return {
        key: [present(item) for item in page.items],
        "total_pages": page.total_pages,
        "current_page": page.current_page,
        "total_items": page.total_items,
    }
