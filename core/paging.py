"""Keyset paging, newest first, shared by every list (payments, customers,
subscriptions, the audit trail): a page is one index range scan at any depth, going
older (`starting_after`) or newer (`ending_before`)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Func, IntegerField, Q, QuerySet, Subquery

from .errors import ValidationFailed

MAX_PAGE_SIZE = 100
# SPEC 8.1: a list counts its matches exactly up to this many, then says "10,000+".
MATCH_COUNT_CAP = 10_000


@dataclass(frozen=True)
class MatchCount:
    """How many rows match a list's filters: exact up to `cap`, then only "more"."""

    value: int
    cap: int

    @property
    def is_capped(self) -> bool:
        return self.value > self.cap

    def __str__(self) -> str:
        return f"{self.cap:,}+" if self.is_capped else f"{self.value:,}"


@dataclass(frozen=True)
class Page:
    items: list
    has_more: bool
    # Rows newer than the first item match too (the page is not the newest).
    has_newer: bool = False
    matches: MatchCount | None = None

    @property
    def next_cursor(self) -> str | None:
        return self.items[-1].pk if self.has_more and self.items else None

    @property
    def previous_cursor(self) -> str | None:
        return self.items[0].pk if self.has_newer and self.items else None

    @property
    def data(self) -> list:
        """The items, as the API's list answers name them."""
        return self.items


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"Limit must be between 1 and {MAX_PAGE_SIZE}", param="limit")


class _CountOf(Func):
    """COUNT(*) over a (sliced) subquery, as a value of the outer query."""

    template = "(SELECT COUNT(*) FROM %(expressions)s AS matches)"
    output_field = IntegerField()


def keyset_page(
    queryset: QuerySet,
    *,
    anchors: QuerySet,
    limit: int,
    starting_after=None,
    ending_before=None,
    count_up_to: int | None = None,
    missing: str = "cursor",
    param: str = "startingAfter",
    narrow: bool = False,
) -> Page:
    """Rows of `queryset` ordered by (created_at, pk) descending: after the row whose pk
    is `starting_after` (older), or the `limit` rows just before the one whose pk is
    `ending_before` (newer), the cursor's row looked up among `anchors` (the
    merchant's rows only). With `count_up_to`, the page also counts every match of
    `queryset` (not only those past the cursor), exactly up to that many.

    One statement: the cursor's row and the count are subqueries of the page's query
    (the count is a COUNT over a LIMIT, so it stays a bounded scan at any table size).
    Only an empty page behind a cursor asks again, to tell a stale cursor apart.
    `narrow`: the page's keys are picked in a subquery, then their rows read (for
    filters that match many rows in no useful order, e.g. a search's customers)."""
    check_limit(limit)
    if starting_after and ending_before:
        raise ValidationFailed("Give startingAfter or endingBefore, not both", param=param)
    cursor = starting_after or ending_before
    rows = queryset
    if cursor:
        at = Subquery(anchors.filter(pk=cursor).order_by().values("created_at")[:1])
        # (created_at, pk) beyond the cursor's row, written so the first term bounds
        # the index range.
        if starting_after:
            rows = rows.filter(created_at__lte=at).filter(Q(created_at__lt=at) | Q(pk__lt=cursor))
        else:
            rows = rows.filter(created_at__gte=at).filter(Q(created_at__gt=at) | Q(pk__gt=cursor))
    # Newer rows are read oldest first from the cursor (the same index, backwards),
    # then shown newest first like every page.
    order = ("created_at", "pk") if ending_before else ("-created_at", "-pk")
    if narrow:
        # The page's keys first, then only their rows: a filter served by a covering
        # index (its columns, created_at and pk in it) sorts its matches there, and
        # the table is read for `limit + 1` rows, not for every match.
        rows = queryset.filter(pk__in=rows.order_by(*order).values("pk")[: limit + 1])
    if count_up_to is not None:
        matching = queryset.order_by().values("pk")[: count_up_to + 1]
        rows = rows.annotate(_match_count=_CountOf(Subquery(matching)))
    found = list(rows.order_by(*order)[: limit + 1])
    items = found[:limit]
    beyond = len(found) > limit
    if ending_before:
        items.reverse()
    if cursor and not items and not anchors.filter(pk=cursor).exists():
        raise ValidationFailed(
            f"No such {missing}: '{cursor}'", param=param if starting_after else "endingBefore"
        )
    if ending_before and not beyond and len(items) < limit:
        # Newer reached the top with a short page (rows went away meanwhile, or a
        # hand-made cursor): the newest page instead, full.
        return keyset_page(
            queryset, anchors=anchors, limit=limit, count_up_to=count_up_to, narrow=narrow
        )
    matches = None
    if count_up_to is not None:
        value = found[0]._match_count if found else None
        if value is None:
            value = 0 if not cursor else queryset.order_by().values("pk")[: count_up_to + 1].count()
        matches = MatchCount(value=value, cap=count_up_to)
    return Page(
        items=items,
        # The cursor's own row is on the other side: a page reached through it always
        # has a way back.
        has_more=beyond if not ending_before else True,
        has_newer=bool(starting_after) or (bool(ending_before) and beyond),
        matches=matches,
    )


@dataclass(frozen=True)
class Pager:
    """The links under a keyset-paged table: back to the newest page, to the newer and
    the older one. `filters` are the list's other query parameters, kept on every link."""

    newest_url: str
    older_url: str | None
    is_first_page: bool
    newer_url: str | None = None

    @property
    def shown(self) -> bool:
        return not self.is_first_page or self.older_url is not None


def pager(
    url: str, page: Page, *, filters: dict, after: object = None, newer: bool = False
) -> Pager:
    """Pager links for `page` of the list at `url`. With `newer` (the list reads
    `before=`), a "Newer" link goes back one page; without it, only to the newest."""
    from django.utils.http import urlencode

    query = {name: value for name, value in filters.items() if value not in (None, "")}

    def link(**cursor) -> str:
        params = {**query, **cursor}
        return f"{url}?{urlencode(params)}" if params else url

    return Pager(
        newest_url=link(),
        older_url=link(after=page.next_cursor) if page.next_cursor else None,
        newer_url=link(before=page.previous_cursor) if newer and page.previous_cursor else None,
        is_first_page=not (after or page.has_newer),
    )


def page_or_refusal(list_rows: Callable[..., Page], **filters) -> tuple[Page, str | None]:
    """`list_rows(**filters)`, or no rows and the refusal's message (a bad filter, a
    stale cursor): a list shows why it is empty, never rows that do not match."""
    try:
        return list_rows(**filters), None
    except ValidationFailed as refused:
        return Page(items=[], has_more=False), refused.message
