"""A dashboard list's query string as a form: its filters, its keyset cursor, the page
it asks for, the pager under it, and the words an empty result says (SPEC 8.1).

A list view reads:

    form = PaymentFilterForm(request.GET, url=reverse("payments:list"))
    page, error = form.page(selectors.list_payments, merchant=request.merchant, limit=25)
    context = list_context(form, page, error, nav="payments")

An invalid query string (an unknown status, a search too long or with a NUL) shows its
errors and no rows, never the unfiltered list: a person must not act on rows that do
not match what they asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django import forms
from django.utils.formats import date_format
from django.utils.http import urlencode

from .paging import MATCH_COUNT_CAP, Page, Pager, page_or_refusal, pager

CURSORS = ("after", "before")


@dataclass(frozen=True)
class ActiveFilter:
    """One filter in use, in words, with the link that drops it."""

    label: str
    value: str
    without_url: str


class ListFilterForm(forms.Form):
    """Subclasses declare their filter fields and map them to the selector's keyword
    arguments in `filters()`. `after` (older) and `before` (newer) are the cursor.
    `views` name fields that choose which list is shown rather than narrow it (the
    blacklist's removed entries): kept on every link, never called a filter."""

    views: tuple[str, ...] = ()

    after = forms.CharField(label="Page", required=False, max_length=40)
    before = forms.CharField(label="Page", required=False, max_length=40)

    def __init__(self, data, *, url: str):
        super().__init__(data)
        self.url = url

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("after") and cleaned.get("before"):
            raise forms.ValidationError("Give after or before, not both.")
        return cleaned

    def filters(self) -> dict:
        """The selector's keyword arguments for the cleaned filters."""
        raise NotImplementedError

    def page(self, list_rows: Callable[..., Page], **kwargs) -> tuple[Page, str | None]:
        """The page this query string asks for, counted, or no rows and why: the form's
        errors, or the selector's refusal."""
        if not self.is_valid():
            return Page(items=[], has_more=False), self.error_summary()
        return page_or_refusal(
            list_rows,
            **self.filters(),
            starting_after=self.cleaned_data["after"] or None,
            ending_before=self.cleaned_data["before"] or None,
            count_up_to=MATCH_COUNT_CAP,
            **kwargs,
        )

    def pager(self, page: Page) -> Pager | None:
        """The links under the page: none for a query string that asked nothing valid."""
        if not self.is_valid():
            return None
        return pager(
            self.url, page, filters=self.query(), after=self.cleaned_data["after"], newer=True
        )

    # --- what the person asked, in words -----------------------------------------------

    def query(self, *, without: str | None = None) -> dict[str, str]:
        """The filters as typed (not cleaned), for links that keep them."""
        return {
            name: value
            for name in self.fields
            if name not in CURSORS and name != without and (value := self.data.get(name))
        }

    @property
    def current_url(self) -> str:
        """This very page again, cursor included (a list that refreshes itself)."""
        cursors = {name: value for name in CURSORS if (value := self.data.get(name))}
        return self.link(**self.query(), **cursors)

    def link(self, **query) -> str:
        return f"{self.url}?{urlencode(query)}" if query else self.url

    @property
    def is_filtered(self) -> bool:
        return any(name not in self.views for name in self.query())

    def active_filters(self) -> list[ActiveFilter]:
        """Each filter in use, in words, with the link that drops it (an empty result
        says what was searched and how to widen it)."""
        if not self.is_valid():
            return []
        return [
            ActiveFilter(
                label=self.fields[name].label,
                value=self.describe(name, self.cleaned_data[name]),
                without_url=self.link(**self.query(without=name)),
            )
            for name in self.query()
            if name not in self.views and self.cleaned_data.get(name) not in (None, "")
        ]

    def describe(self, name: str, value) -> str:
        """A cleaned filter value as a person reads it."""
        field = self.fields[name]
        if isinstance(field, forms.ChoiceField):
            return str(dict(field.choices).get(value, value))
        if isinstance(value, date):
            return date_format(value, "M j, Y")
        if name == "q":
            return f"“{value}”"
        return str(value)

    def error_summary(self) -> str:
        """The form's errors as one message, each after its field's label."""
        parts = []
        for name, errors in self.errors.items():
            text = " ".join(errors)
            parts.append(f"{self.fields[name].label}: {text}" if name in self.fields else text)
        return " ".join(parts)


class CreatedBetweenForm(ListFilterForm):
    """A list of rows created on days between two dates, both included."""

    created_from = forms.DateField(
        label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def forward_only(list_rows: Callable[..., Page]) -> Callable[..., Page]:
    """`list_rows` for a list in an order of its own (the disputes queue, soonest
    deadline first), as ListFilterForm.page calls it: such a list pages forward only
    and is not counted, so the `ending_before` cursor and `count_up_to` are not passed
    on (a `before=` in the query string reads as the first page)."""

    def rows(*, ending_before=None, count_up_to=None, **filters) -> Page:
        return list_rows(**filters)

    return rows


def list_context(form: ListFilterForm, page: Page, error: str | None, **extra) -> dict:
    """What a list's template reads (`_list_summary.html`, `_pager.html`): the form,
    the page `form.page()` answered, its error and the pager under it; `extra` adds the
    page's own (its `nav`)."""
    return {"form": form, "page": page, "error": error, "pager": form.pager(page), **extra}
