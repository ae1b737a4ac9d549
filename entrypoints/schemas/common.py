"""Shapes shared by every list: page/limit paging and sort/order."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from catalyst_core.paging import DEFAULT_PAGE_SIZE, Order, Page, PageRequest, SortSpec


@frozen
class PageQuery:
    page: int = 1
    limit: int = DEFAULT_PAGE_SIZE

    def request(self) -> PageRequest:
        return PageRequest(page=self.page, limit=self.limit)


def sort_spec(sort: str | None, order: Order | None, default: str = "created_at",
              default_order: Order = Order.DESC) -> SortSpec:
    return SortSpec(field=sort or default, order=order or default_order)


def page_data(key: str, page: Page[Any], present: Any) -> dict[str, Any]:
    return {
        key: [present(item) for item in page.items],
        "total_pages": page.total_pages,
        "current_page": page.current_page,
        "total_items": page.total_items,
    }
