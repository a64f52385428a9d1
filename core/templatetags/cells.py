"""Table cells every list draws for each of its rows: a long value cut to fit its
column (`cut`), the same with a copy button (`copyable`). Tags rather than included
templates: a list of 25 rows draws about a hundred of them, and an `{% include %}` each
costs the page several milliseconds. A builtin (settings.TEMPLATES), like `static`.

And the row of column titles above them (`table_head`), with the filters that say more
about a title than its words: `numeric` (right-aligned over its numbers) and `abbr`."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

COPY_ICON = mark_safe(
    '<svg aria-hidden="true" focusable="false" viewBox="0 0 16 16" width="14" height="14">'
    '<rect x="5.5" y="5.5" width="8" height="8" rx="1.5"/>'
    '<path d="M10.5 3.5v-1a1 1 0 0 0-1-1h-6a1 1 0 0 0-1 1v6a1 1 0 0 0 1 1h1"/></svg>'
)
DASH = mark_safe('<span class="subtle">—</span>')
ACTIONS_HEADER = mark_safe('<th scope="col"><span class="visually-hidden">Actions</span></th>')


@register.simple_tag
def cut(value, size: str = "m") -> SafeString:
    """`value` cut to fit its column ("s", "m" or "l": how much shows), the whole of it on
    hover; a dash when empty."""
    if not value:
        return DASH
    return format_html('<span class="truncate cut-{}" title="{}">{}</span>', size, value, value)


@register.simple_tag
def copyable(value, label: str, *, cut: str = "m", href: str | None = None) -> SafeString:
    """An id (or an order id, a reference) cut to fit its column, with a button that
    copies it (static/js/copy.js); `label` says what it is, for the button. With `href`
    the value is the link that opens its row."""
    if href:
        shown = format_html(
            '<a class="truncate cut-{} mono row-target" href="{}" title="{}">{}</a>',
            cut,
            href,
            value,
            value,
        )
    else:
        shown = format_html(
            '<span class="truncate cut-{} mono" title="{}">{}</span>', cut, value, value
        )
    return format_html(
        '<span class="copyable">{}<button type="button" class="copy-button" data-copy="{}" '
        'aria-label="Copy the {} {}" title="Copy the {}">{}</button></span>',
        shown,
        value,
        label,
        value,
        label,
        COPY_ICON,
    )


@register.simple_tag
def status_badge(status: str, label: str) -> SafeString:
    """A payment's display status as a badge, coloured by its value."""
    return format_html('<span class="badge badge-{}">{}</span>', status, label)


@dataclass(frozen=True)
class Column:
    """A column's title in a table's head, and how it shows."""

    title: str
    numeric: bool = False
    spelled_out: str = ""

    def header_cell(self) -> SafeString:
        title = self.title
        if self.spelled_out:
            title = format_html('<abbr title="{}">{}</abbr>', self.spelled_out, title)
        if self.numeric:
            return format_html('<th scope="col" class="num">{}</th>', title)
        return format_html('<th scope="col">{}</th>', title)


def as_column(title: str | Column) -> Column:
    return title if isinstance(title, Column) else Column(title)


@register.filter
def numeric(title: str | Column) -> Column:
    """`"Amount"|numeric`: the title of a column of numbers, aligned right like them."""
    return replace(as_column(title), numeric=True)


@register.filter
def abbr(title: str | Column, spelled_out: str) -> Column:
    """`"Refused"|abbr:"Refused payment attempts"`: a short title, spelled out on hover."""
    return replace(as_column(title), spelled_out=spelled_out)


@register.simple_tag
def table_head(*titles: str | Column, actions: bool = False) -> SafeString:
    """A table's `<thead>`: one column a title, in order. An empty title is a column
    this table leaves out (`with_customer|yesno:"Customer,"`). `actions` ends the row
    with the column of each row's buttons, whose title only screen readers read."""
    cells = [as_column(title).header_cell() for title in titles if title]
    if actions:
        cells.append(ACTIONS_HEADER)
    return format_html(
        "<thead><tr>{}</tr></thead>", format_html_join("", "{}", ((cell,) for cell in cells))
    )
