"""Dashboard pages of customers (merchant members) and of the blacklist (platform admins)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode

from core.dashboard import actor_for, dashboard_view, found_or_404, post_only
from core.forms import attempt
from core.htmx import dialog_done, hx_events, render_dialog, render_page, wants_partial
from core.lists import list_context

from . import selectors, services
from .forms import (
    BlacklistAddForm,
    BlacklistRemoveForm,
    BlacklistSearchForm,
    CustomerSearchForm,
    RestrictionsForm,
)
from .models import BlacklistEntry, Customer, normalize_email

PAGE_SIZE = 25


def _card_saved(
    request: HttpRequest, *, toast: str, redirect_to: str, card: tuple[str, dict], **events
) -> HttpResponse:
    """The answer to a card's form once saved. HTMX: the card again (`card` is its
    partial and context), the toast, and the events that refresh the rest of the page.
    Without JavaScript: the message, and a redirect to `redirect_to`."""
    if not wants_partial(request):
        messages.success(request, toast)
        return redirect(redirect_to)
    partial, context = card
    return hx_events(render(request, partial, context), toast=toast, **events)


# --- customers ------------------------------------------------------------------------------


@dashboard_view("customers.view_customer")
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET, url=reverse("customers:list"))
    page, error = form.page(selectors.list_customers, merchant=request.merchant, limit=PAGE_SIZE)
    # One query for the whole page; the answer is normalized (trimmed, lower-case) emails.
    blacklisted = selectors.blacklisted_emails([c.email for c in page.items])
    for customer in page.items:
        customer.is_blacklisted = normalize_email(customer.email) in blacklisted
    context = list_context(form, page, error, nav="customers")
    return render_page(request, "customers/list.html", context, partial="results")


def _get_customer_or_404(request: HttpRequest, customer_id: str) -> Customer:
    return found_or_404(
        selectors.get_customer, merchant=request.merchant, customer_id=customer_id, marked=True
    )


def _customer_context(request: HttpRequest, customer: Customer, restrictions_form=None) -> dict:
    # The customer's own payments and subscriptions, through their relations (both apps
    # depend on customers, never the reverse).
    payments = list(customer.payments.order_by("-created_at", "-id")[:PAGE_SIZE])
    subscriptions = list(customer.subscriptions.order_by("-created_at", "-id")[:PAGE_SIZE])
    return {
        "nav": "customers",
        "customer": customer,
        "is_blacklisted": selectors.is_email_blacklisted(
            customer.email, mark=getattr(customer, "blacklist_mark", None)
        ),
        "payments": payments,
        "more_payments_url": (
            f"{reverse('payments:list')}?{urlencode({'q': customer.email})}"
            if len(payments) >= PAGE_SIZE
            else None
        ),
        "subscriptions": subscriptions,
        "customer_since": selectors.customer_since(
            customer,  # fewer than a page of payments: that is every one of them
            every_payment=payments if len(payments) < PAGE_SIZE else None,
        ),
        "restrictions_form": restrictions_form or RestrictionsForm.for_customer(customer),
    }


@dashboard_view("customers.view_customer")
def customer_detail(request: HttpRequest, customer_id: str) -> HttpResponse:
    customer = _get_customer_or_404(request, customer_id)
    return render(request, "customers/detail.html", _customer_context(request, customer))


@dashboard_view("customers.view_customer", "customers.change_restrictions")
@post_only("customers:detail")
def customer_restrictions(request: HttpRequest, customer_id: str) -> HttpResponse:
    """POST the restrictions form (merchant admins). HTMX swaps the restrictions card."""
    customer = _get_customer_or_404(request, customer_id)
    form = RestrictionsForm(request.POST)
    if form.is_valid():
        updated = attempt(
            form,
            lambda: services.update_restrictions(
                merchant=request.merchant,
                customer_id=customer.id,
                actor=actor_for(request),
                **form.changes(),
            ),
        )
        if updated is not None:
            customer = updated
            fresh = {
                "customer": customer,
                "restrictions_form": RestrictionsForm.for_customer(customer),
                "is_blacklisted": selectors.is_email_blacklisted(customer.email),
                "saved": True,
            }
            return _card_saved(
                request,
                toast="Restrictions saved",
                redirect_to=reverse("customers:detail", args=[customer.id]),
                card=("customers/detail.html#restrictions", fresh),
                customerChanged={"id": customer.id},
            )
    if wants_partial(request):
        context = {"customer": customer, "restrictions_form": form}
        return render(request, "customers/detail.html#restrictions", context)
    return render(request, "customers/detail.html", _customer_context(request, customer, form))


# --- blacklist (platform admins) ------------------------------------------------------------


def _blacklist_context(request: HttpRequest, add_form=None) -> dict:
    form = BlacklistSearchForm(request.GET, url=reverse("customers:blacklist"))
    page, error = form.page(selectors.blacklist_page, limit=PAGE_SIZE)
    removed = form.cleaned_data.get("state") == "removed"
    return list_context(
        form,
        page,
        error,
        nav="blacklist",
        removed=removed,
        nouns=("removed entry", "removed entries")
        if removed
        else ("blacklisted email", "blacklisted emails"),
        add_form=add_form or BlacklistAddForm(),
    )


@dashboard_view("customers.view_blacklistentry", merchant=False)
def blacklist(request: HttpRequest) -> HttpResponse:
    return render_page(
        request, "customers/blacklist.html", _blacklist_context(request), partial="entries"
    )


def _blacklist_added_toast(entry) -> str:
    """What adding did: an email already blacklisted keeps its entry (the service is
    idempotent), and the toast says so rather than announce an addition."""
    if entry.newly_added:
        return f"{entry.email} added to the blacklist"
    since = date_format(timezone.localtime(entry.created_at), "M j, Y")
    return (
        f"{entry.email} was already on the blacklist (since {since}, reason “{entry.reason}”); "
        "nothing changed"
    )


@dashboard_view("customers.view_blacklistentry", "customers.add_blacklistentry", merchant=False)
@post_only("customers:blacklist")
def blacklist_add(request: HttpRequest) -> HttpResponse:
    form = BlacklistAddForm(request.POST)
    if form.is_valid():
        entry = attempt(
            form,
            lambda: services.add_to_blacklist(
                email=form.cleaned_data["email"],
                reason=form.cleaned_data["reason"],
                actor=actor_for(request),
            ),
        )
        if entry is not None:
            return _card_saved(
                request,
                toast=_blacklist_added_toast(entry),
                redirect_to=reverse("customers:blacklist"),
                card=("customers/blacklist.html#add_form", {"add_form": BlacklistAddForm()}),
                blacklistChanged=True,
            )
    if wants_partial(request):
        return render(request, "customers/blacklist.html#add_form", {"add_form": form})
    return render(request, "customers/blacklist.html", _blacklist_context(request, form))


@dashboard_view("customers.view_blacklistentry", "customers.change_blacklistentry", merchant=False)
def blacklist_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    """The removal dialog: remove the entry, keeping the reason."""
    entry = get_object_or_404(BlacklistEntry, pk=entry_id)
    form = BlacklistRemoveForm(request.POST or None)
    if request.method == "POST" and entry.removed_at is None and form.is_valid():
        removed = attempt(
            form,
            lambda: services.remove_from_blacklist(
                entry_id=entry.pk, actor=actor_for(request), reason=form.cleaned_data["reason"]
            ),
        )
        if removed is not None:
            return dialog_done(
                request,
                toast=f"{entry.email} removed from the blacklist",
                redirect_to=reverse("customers:blacklist"),
                blacklistChanged=True,
            )
    context = {"nav": "blacklist", "entry": entry, "form": form}
    return render_dialog(
        request, "customers/blacklist_remove.html", context, title="Remove from the blacklist"
    )
