"""Keyset paging, newest first, shared by every list (payments, customers,
subscriptions, the audit trail): a page is one index range scan at any depth."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .errors import ValidationFailed

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    items: list
    has_more: bool

    @property
    def next_cursor(self) -> str | None:
        return self.items[-1].pk if self.has_more and self.items else None

    @property
    def data(self) -> list:
        """The items, as the API's list answers name them."""
        return self.items


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"Limit must be between 1 and {MAX_PAGE_SIZE}", param="limit")


def keyset_page(
    queryset: QuerySet,
    *,
    anchors: QuerySet,
    limit: int,
    starting_after=None,
    missing: str = "cursor",
    param: str = "startingAfter",
) -> Page:
    """Rows of `queryset` ordered by (created_at, pk) descending, after the row whose pk
    is `starting_after`, looked up among `anchors` (the merchant's rows only)."""
    check_limit(limit)
    if starting_after:
        anchor = anchors.filter(pk=starting_after).values("created_at", "pk").first()
        if anchor is None:
            raise ValidationFailed(f"No such {missing}: '{starting_after}'", param=param)
        # (created_at, pk) < anchor, written so the first term bounds the index range.
        queryset = queryset.filter(created_at__lte=anchor["created_at"]).filter(
            Q(created_at__lt=anchor["created_at"]) | Q(pk__lt=anchor["pk"])
        )
    rows = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    return Page(items=rows[:limit], has_more=len(rows) > limit)


@dataclass(frozen=True)
class Pager:
    """The links under a keyset-paged table: back to the newest page, and on to the
    older one. `filters` are the list's other query parameters, kept on both links."""

    newest_url: str
    older_url: str | None
    is_first_page: bool

    @property
    def shown(self) -> bool:
        return not self.is_first_page or self.older_url is not None


def pager(url: str, page: Page, *, filters: dict, after: object = None) -> Pager:
    """Pager links for `page` of the list at `url`, shown with its `after` cursor."""
    from django.utils.http import urlencode

    query = {name: value for name, value in filters.items() if value not in (None, "")}
    newest = f"{url}?{urlencode(query)}" if query else url
    older = f"{url}?{urlencode({**query, 'after': page.next_cursor})}" if page.next_cursor else None
    return Pager(newest_url=newest, older_url=older, is_first_page=not after)


def page_or_refusal(list_rows: Callable[..., Page], **filters) -> tuple[Page, str | None]:
    """`list_rows(**filters)`, or no rows and the refusal's message (a bad filter, a
    stale cursor): a list shows why it is empty, never rows that do not match."""
    try:
        return list_rows(**filters), None
    except ValidationFailed as refused:
        return Page(items=[], has_more=False), refused.message
